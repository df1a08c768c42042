//! Keys fetched from an identity provider: the builder's settings for them, checked when
//! `Security` is built.

use super::env::Env;
use super::{SecurityBuilder, algorithm, list, var};
use crate::error::ConfigError;
use crate::jwt::{Algorithm, KeySource, RefreshPolicy, RemoteSettings};
use std::time::Duration;

/// Keys fetched from a provider, as the builder collects them; checked in `build`.
#[derive(Default)]
pub(super) struct RemoteKeysConfig {
    jwks_url: Option<String>,
    pub(super) oidc_issuer: Option<String>,
    algorithms: Vec<Algorithm>,
    policy: RefreshPolicy,
}

impl RemoteKeysConfig {
    pub(super) fn is_set(&self) -> bool {
        self.jwks_url.is_some() || self.oidc_issuer.is_some()
    }

    /// `SECURE_API_JWKS_URL`, `SECURE_API_OIDC_ISSUER`, and with either the algorithms of
    /// `SECURE_API_JWT_ALGORITHM` as a comma-separated list.
    pub(super) fn read_env(&mut self, env: &Env) -> Result<(), ConfigError> {
        self.jwks_url = env.get(var::JWKS_URL);
        self.oidc_issuer = env.get(var::OIDC_ISSUER);
        if let (true, Some(names)) = (self.is_set(), env.get(var::JWT_ALGORITHM)) {
            self.algorithms = list(var::JWT_ALGORITHM, &names)?
                .iter()
                .map(|name| algorithm(name))
                .collect::<Result<_, _>>()?;
        }
        Ok(())
    }

    /// The verifier's settings, if keys are to be fetched.
    pub(super) fn settings(&self) -> Result<Option<RemoteSettings>, ConfigError> {
        let source = match (&self.jwks_url, &self.oidc_issuer) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::invalid(
                    "key source",
                    "set either a JWKS URL or an OpenID issuer to discover it from, not both",
                ));
            }
            (Some(url), None) => KeySource::jwks_url(url)?,
            (None, Some(issuer)) => KeySource::discovery(issuer)?,
            (None, None) => return Ok(None),
        };
        Ok(Some(RemoteSettings {
            source,
            algorithms: match self.algorithms.as_slice() {
                [] => vec![Algorithm::RS256],
                algorithms => algorithms.to_vec(),
            },
            policy: self.policy,
        }))
    }
}

impl SecurityBuilder {
    /// Fetches the verification keys from this JWK Set URL (https, or http on a loopback
    /// address) instead of configured keys; they are refreshed in the background and fetched
    /// again when a token names a key the set lacks.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.remote.jwks_url = Some(url.into());
        self
    }

    /// Fetches the verification keys that this OpenID provider's discovery document
    /// (`<issuer>/.well-known/openid-configuration`) names; the document must name this
    /// issuer. It is also the required `iss` unless [`issuer`](Self::issuer) says otherwise.
    pub fn oidc_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.remote.oidc_issuer = Some(issuer.into());
        self
    }

    /// The algorithms fetched keys may be for (default RS256); a key for another is skipped.
    pub fn key_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.remote.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How often fetched keys are refreshed: never sooner than `min` after a fetch, never
    /// later than `max`, at 80 % of the document's `max-age` in between (default 1 min and
    /// 1 h).
    pub fn key_refresh(mut self, min: Duration, max: Duration) -> Self {
        self.remote.policy.min_refresh = min;
        self.remote.policy.max_refresh = max.max(min);
        self
    }

    /// A token naming a key the fetched set lacks makes the set be fetched again at most
    /// once per `interval` (default 30 s), whatever the number of such tokens.
    pub fn key_refetch_interval(mut self, interval: Duration) -> Self {
        self.remote.policy.unknown_kid_interval = interval;
        self
    }

    /// How long fetched keys stay in use while every refresh fails (default 24 h); after
    /// that, requests are answered 503 until a fetch succeeds.
    pub fn key_max_stale(mut self, max_stale: Duration) -> Self {
        self.remote.policy.max_stale = max_stale;
        self
    }
}
