//! `Verifier`: a compact JWT checked against the configured keys and claims, then read into
//! an [`Identity`] — once per token, thanks to the cache of verified tokens.

use super::cache::VerifiedTokens;
use super::claims::ClaimProfile;
use super::compact::Compact;
use super::identity::{Identity, TokenRejection};
use super::key::Key;
use super::rules::Rules;
use crate::error::ConfigError;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Tokens longer than this are rejected before any parsing (`Authorization` header bytes
/// after `Bearer `). Real access tokens are far below it; attackers' payloads are not.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The leeway applied to `exp` and `nbf` unless configured otherwise.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(10);

/// The largest leeway accepted: more would keep expired tokens alive.
pub const MAX_LEEWAY: Duration = Duration::from_secs(30);

/// What a token must be to be accepted, fixed when `Security` is built.
pub(crate) struct Verifier {
    rules: Rules,
    claims: ClaimProfile,
    keys: Keys,
    token_types: Vec<String>,
    verified: VerifiedTokens,
    /// The generation of the fetched key set the cached verifications were made with.
    #[cfg(feature = "jwks")]
    verified_generation: std::sync::atomic::AtomicU64,
}

/// The keys tokens are verified with: configured, or fetched from a provider.
enum Keys {
    Static(Vec<Key>),
    #[cfg(feature = "jwks")]
    Remote(Arc<super::remote::RemoteKeys>),
}

/// What the verifier is built from; `SecurityBuilder` fills it.
pub(crate) struct VerifierSettings {
    pub(crate) issuer: String,
    /// `None` only when the claim profile binds tokens by `client_id`.
    pub(crate) audience: Option<String>,
    /// Where roles and scopes are read; how tokens are bound to this API.
    pub(crate) claims: ClaimProfile,
    pub(crate) keys: Vec<Key>,
    /// Keys fetched from an identity provider, instead of `keys`.
    #[cfg(feature = "jwks")]
    pub(crate) remote: Option<super::remote::RemoteSettings>,
    pub(crate) leeway: Duration,
    /// Accepted `typ` headers besides [`ACCESS_TOKEN_TYPE`](super::ACCESS_TOKEN_TYPE).
    pub(crate) extra_token_types: Vec<String>,
    pub(crate) cache_capacity: usize,
}

impl Verifier {
    /// Checks the key set (at least one key; with several, each with its own `kid`), the
    /// leeway and the claim profile, and fixes every validation setting.
    pub(crate) fn new(settings: VerifierSettings) -> Result<Self, ConfigError> {
        let VerifierSettings {
            issuer,
            audience,
            claims,
            keys,
            #[cfg(feature = "jwks")]
            remote,
            leeway,
            extra_token_types,
            cache_capacity,
        } = settings;
        claims.check(audience.as_deref())?;
        if leeway > MAX_LEEWAY {
            return Err(ConfigError::invalid(
                "leeway",
                format!("{leeway:?} is more than the {MAX_LEEWAY:?} allowed"),
            ));
        }
        let rules = Rules {
            issuer,
            audience,
            leeway,
        };
        #[cfg(feature = "jwks")]
        if let Some(remote) = remote {
            if !keys.is_empty() {
                return Err(ConfigError::invalid(
                    "keys",
                    "keys are either configured or fetched from a provider, not both",
                ));
            }
            let remote = super::remote::RemoteKeys::new(remote)?;
            return Ok(Self::with_keys(
                rules,
                claims,
                Keys::Remote(Arc::new(remote)),
                extra_token_types,
                cache_capacity,
            ));
        }
        if keys.is_empty() {
            return Err(ConfigError::NoKey);
        }
        if keys.len() > 1 {
            let mut kids = HashSet::new();
            for key in &keys {
                let Some(kid) = key.kid() else {
                    return Err(ConfigError::invalid(
                        "keys",
                        "with several keys each needs a kid (Key::with_kid)",
                    ));
                };
                if !kids.insert(kid) {
                    return Err(ConfigError::invalid(
                        "keys",
                        format!("the kid `{kid}` is used twice"),
                    ));
                }
            }
        }
        Ok(Self::with_keys(
            rules,
            claims,
            Keys::Static(keys),
            extra_token_types,
            cache_capacity,
        ))
    }

    fn with_keys(
        rules: Rules,
        claims: ClaimProfile,
        keys: Keys,
        extra_token_types: Vec<String>,
        cache_capacity: usize,
    ) -> Self {
        Self {
            verified: VerifiedTokens::new(cache_capacity, rules.leeway.as_secs()),
            rules,
            claims,
            keys,
            token_types: std::iter::once(super::ACCESS_TOKEN_TYPE.to_owned())
                .chain(extra_token_types)
                .collect(),
            #[cfg(feature = "jwks")]
            verified_generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.rules.issuer
    }

    pub(crate) fn audience(&self) -> Option<&str> {
        self.rules.audience.as_deref()
    }

    pub(crate) fn claims(&self) -> &ClaimProfile {
        &self.claims
    }

    /// The configured keys, in the order they were added (none when they are fetched).
    #[cfg_attr(not(feature = "jwks"), allow(clippy::infallible_destructuring_match))]
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Key> {
        let keys: &[Key] = match &self.keys {
            Keys::Static(keys) => keys,
            #[cfg(feature = "jwks")]
            Keys::Remote(_) => &[],
        };
        keys.iter()
    }

    /// Fetches the key set again, when keys come from a provider and a token named a key
    /// the set lacks (or there is no set yet): at most once per interval, one fetch at a
    /// time. Returns whether verifying again can give another answer.
    pub(crate) async fn refetch_keys(&self) -> bool {
        match &self.keys {
            Keys::Static(_) => false,
            #[cfg(feature = "jwks")]
            Keys::Remote(remote) => {
                let before = remote.generation();
                remote.refetch().await;
                remote.generation() != before
            }
        }
    }

    /// Starts the background refresh of fetched keys (on the current tokio runtime).
    pub(crate) fn start_key_refresh(&self) {
        #[cfg(feature = "jwks")]
        if let Keys::Remote(remote) = &self.keys {
            remote.start_refresher();
        }
    }

    /// Where the keys come from, for the startup log and `Debug`.
    pub(crate) fn key_source(&self) -> String {
        match &self.keys {
            Keys::Static(keys) => format!("{} configured key(s)", keys.len()),
            #[cfg(feature = "jwks")]
            Keys::Remote(remote) => remote.describe(),
        }
    }

    /// Verifies a compact JWT against the key set and the configured claims.
    pub(crate) fn verify(&self, token: &str) -> Result<Identity, TokenRejection> {
        self.verify_at(token, crate::time::now())
    }

    fn verify_at(&self, token: &str, now: u64) -> Result<Identity, TokenRejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenRejection::TooLarge);
        }
        match &self.keys {
            Keys::Static(keys) => self.verify_with(keys, token, now),
            #[cfg(feature = "jwks")]
            Keys::Remote(remote) => {
                let keys = remote.current().ok_or(TokenRejection::NoKeys)?;
                self.verify_with(&keys, token, now)
            }
        }
    }

    /// One pass over each part: the header selects the key and is checked, the signature is
    /// checked with jsonwebtoken's primitive, and only then are the claims parsed and judged.
    fn verify_with(&self, keys: &[Key], token: &str, now: u64) -> Result<Identity, TokenRejection> {
        let parts = Compact::split(token).ok_or(TokenRejection::Malformed)?;
        // Header and claims decode into one buffer; decoded, a token is shorter than its text.
        let mut json = Vec::with_capacity(token.len());
        let header = parts.header(&mut json).ok_or(TokenRejection::Malformed)?;
        if header.crit {
            return Err(TokenRejection::CriticalHeader);
        }
        // The header only selects among our own keys; the algorithm is the key's, not the
        // token's, so `alg: none` or an HS/RS swap can never pick the verification method.
        let key = match header.kid.as_deref() {
            Some(kid) => keys.iter().find(|key| key.kid() == Some(kid)),
            None if keys.len() == 1 => keys.first(),
            None => None,
        }
        .ok_or(TokenRejection::UnknownKey)?;
        if header.alg != key.algorithm() {
            return Err(TokenRejection::AlgorithmNotAllowed);
        }
        let typ = header.typ.as_deref().unwrap_or("");
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        if !self
            .token_types
            .iter()
            .any(|accepted| accepted.eq_ignore_ascii_case(typ))
        {
            return Err(TokenRejection::WrongType);
        }
        match jsonwebtoken::crypto::verify(
            parts.signature,
            parts.signed.as_bytes(),
            key.decoding(),
            key.algorithm(),
        ) {
            Ok(true) => {}
            Ok(false) => return Err(TokenRejection::BadSignature),
            Err(_) => return Err(TokenRejection::Malformed),
        }
        let claims = parts.claims(&mut json).ok_or(TokenRejection::Malformed)?;
        let expires_at = self.rules.check(&claims, now)?;
        self.claims.identity(&claims, expires_at, parts.payload)
    }

    /// [`Verifier::verify`] through the cache of verified tokens: the guard's way.
    pub(crate) fn verify_cached(&self, token: &str) -> Result<Arc<Identity>, TokenRejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenRejection::TooLarge);
        }
        let now_millis = crate::time::now_millis();
        let now = now_millis / 1000;
        // Without a usable key set nothing is accepted, not even a token verified before.
        let generation = self
            .key_generation(now_millis)
            .ok_or(TokenRejection::NoKeys)?;
        if let Some(cached) = self.verified.get(token, now) {
            return cached;
        }
        let identity = Arc::new(self.verify_at(token, now)?);
        // A verification made while the fetched keys changed is not remembered.
        if self.key_generation(now_millis) == Some(generation) {
            self.verified.insert(token, &identity, now);
        }
        Ok(identity)
    }

    /// The generation of the fetched key set (always 0 for configured keys), or `None` when
    /// there is no usable set. When it moved since the cache was filled, the cache is
    /// emptied: a key the provider removed or replaced must not keep its tokens alive.
    #[cfg_attr(not(feature = "jwks"), allow(unused_variables))]
    fn key_generation(&self, now_millis: u64) -> Option<u64> {
        #[cfg(feature = "jwks")]
        if let Keys::Remote(remote) = &self.keys {
            use std::sync::atomic::Ordering;
            if !remote.usable_at(now_millis) {
                return None;
            }
            let generation = remote.generation();
            if self.verified_generation.load(Ordering::Relaxed) != generation {
                self.verified_generation
                    .store(generation, Ordering::Relaxed);
                self.verified.clear();
            }
            return Some(generation);
        }
        Some(0)
    }
}

#[cfg(test)]
mod differential;
#[cfg(test)]
mod tests;
