//! `SecurityBuilder`: every setting of [`Security`], its default, and [`Security::from_env`],
//! whose `SECURE_API_*` variables are listed once, with the features they need, in `env.rs`.

use crate::apikey::{self, ApiKeyStore, ApiKeys, MemoryApiKeyStore};
use crate::audit::{CONFIG_TARGET, Counters};
use crate::client::TrustedProxies;
use crate::error::ConfigError;
use crate::jwt::{
    Algorithm, ClaimProfile, DEFAULT_LEEWAY, DEFAULT_VERIFIED_TOKENS, Key, Verifier,
    VerifierSettings,
};
use crate::limit::{Limits, MemoryStore, RateLimitStore};
use crate::policy::{Rate, RateKey};
use crate::secret::Secret;
use crate::security::{Inner, Security};
use crate::tokens::{Issuer, IssuerSettings, MemoryTokenStore, TokenStore};
use env::{Env, var};
use std::sync::Arc;
use std::time::Duration;

mod claims;
mod env;
mod jwt_keys;
#[cfg(feature = "jwks")]
mod remote;

/// The limit of authenticated handlers that declare none: per user.
const DEFAULT_RATE: Rate = Rate {
    max: 600,
    window: Duration::from_secs(60),
    key: RateKey::User,
};

/// Failed authentications allowed per client address before it is answered 429.
const DEFAULT_FAILED_AUTH_RATE: Rate = Rate {
    max: 20,
    window: Duration::from_secs(60),
    key: RateKey::Ip,
};

const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
const DEFAULT_REFRESH_TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

impl Security {
    /// Starts a configuration in code.
    pub fn builder() -> SecurityBuilder {
        SecurityBuilder::default()
    }

    /// Reads the configuration from the environment:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `SECURE_API_ISSUER` | required `iss` of accepted tokens (defaults to `SECURE_API_OIDC_ISSUER`) |
    /// | `SECURE_API_AUDIENCE` | required `aud` of accepted tokens; may be left out when `SECURE_API_CLIENT_IDS` binds tokens instead |
    /// | `SECURE_API_JWT_ALGORITHM` | `HS256` (default), `HS384`, `HS512`, `RS256`, `PS256`, `ES256`, `EdDSA`, …; with fetched keys a comma-separated list, default `RS256` |
    /// | `SECURE_API_OIDC_ISSUER` | with the `jwks` feature: fetch the keys this OpenID provider's discovery document names |
    /// | `SECURE_API_JWKS_URL` | with the `jwks` feature: fetch the keys from this JWK Set URL (https, or http on loopback) |
    /// | `SECURE_API_JWT_SECRET_FILE` | file holding the HMAC secret (preferred) |
    /// | `SECURE_API_JWT_SECRET` | the HMAC secret itself |
    /// | `SECURE_API_JWT_PUBLIC_KEY_FILE` | PEM public key for the asymmetric algorithms: verify another issuer's tokens |
    /// | `SECURE_API_JWT_PRIVATE_KEY_FILE` | instead, PEM private key for the asymmetric algorithms: sign tokens too, and publish [`Security::jwks`] |
    /// | `SECURE_API_JWT_KID` | optional key id |
    /// | `SECURE_API_LEEWAY_SECS` | clock leeway for `exp`/`nbf`, default 10, at most 30 |
    /// | `SECURE_API_TRUSTED_PROXIES` | comma-separated addresses or CIDRs whose `X-Forwarded-For` (or `Forwarded`) is believed |
    /// | `SECURE_API_TOKEN_TYPES` | comma-separated `typ` headers accepted besides `at+jwt` (`JWT`; `none` for tokens without one) |
    /// | `SECURE_API_REDIS_URL` | with the `redis` feature: share every budget, one-time value, token state and API key through this Redis (`redis://`, `rediss://` with TLS); several comma-separated nodes make a Redis Cluster |
    /// | `SECURE_API_CLAIMS_PROFILE` | where roles and scopes are read ([`ClaimProfile`]): `standard` (default), `keycloak`, `auth0`, `cognito`, `okta`, `entra` |
    /// | `SECURE_API_ROLES_CLAIMS` | comma-separated claim paths of roles, instead of the profile's (`realm_access.roles`, `"https://example.com/roles"`) |
    /// | `SECURE_API_SCOPES_CLAIMS` | comma-separated claim paths of scopes, instead of the profile's |
    /// | `SECURE_API_KEYCLOAK_CLIENT` | with `keycloak`: also read the roles of this client (`resource_access.<client>.roles`) |
    /// | `SECURE_API_CLIENT_IDS` | comma-separated `client_id` values: bind tokens by `client_id` (required by `cognito`; with an audience too, both are required) |
    /// | `SECURE_API_MFA_ACR` | comma-separated `acr` values that count as a second factor for `#[secure(mfa)]` |
    ///
    /// An empty variable counts as unset. Every other `SECURE_API_*` variable is refused with a
    /// [`ConfigError::Unused`] that names it, rather than ignored: a name not in this table (a
    /// typo is answered with the nearest name), a variable of a feature this build lacks, and
    /// the key variables (`…_JWT_SECRET`, `…_JWT_SECRET_FILE`, the key files, `…_JWT_KID`)
    /// beside fetched keys; so are both the secret and its file, and both fetched-key sources.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::builder().from_env()?.build()
    }
}

/// Builds a [`Security`]; every setting has a safe default except the issuer, the audience
/// (or the client ids of [`ClaimProfile::bind_client_ids`]) and at least one key.
#[derive(Default)]
pub struct SecurityBuilder {
    issuer: Option<String>,
    audience: Option<String>,
    keys: Vec<Key>,
    leeway: Option<Duration>,
    trusted_proxies: TrustedProxies,
    store: Option<Arc<dyn RateLimitStore>>,
    /// The same store when it is the in-memory one, whose decisions need no boxed future.
    in_memory: Option<Arc<MemoryStore>>,
    default_rate: Option<Rate>,
    failed_auth_rate: Option<Rate>,
    token_store: Option<Arc<dyn TokenStore>>,
    api_key_store: Option<Arc<dyn ApiKeyStore>>,
    api_key_prefix: Option<String>,
    access_token_ttl: Option<Duration>,
    refresh_token_ttl: Option<Duration>,
    token_types: Vec<String>,
    verified_token_cache: Option<usize>,
    claims: ClaimProfile,
    #[cfg(feature = "jwks")]
    remote: remote::RemoteKeysConfig,
}

impl SecurityBuilder {
    /// The `iss` every accepted token must carry.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The audience every accepted token must name in `aud`.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Where roles and scopes are read, how tokens are bound to this API, and which `acr`
    /// values count as a second factor: [`ClaimProfile::standard`] by default.
    pub fn claims(mut self, profile: ClaimProfile) -> Self {
        self.claims = profile;
        self
    }

    /// Adds a verification key; add several (each with a `kid`) to rotate keys.
    pub fn key(mut self, key: Key) -> Self {
        self.keys.push(key);
        self
    }

    /// Adds a random HS256 key that exists only in this process, for demos: tokens it signs
    /// die with the process. Logs a warning, since no other instance can verify them.
    pub fn ephemeral_key(self) -> Self {
        tracing::warn!(
            target: CONFIG_TARGET,
            "using an ephemeral random HS256 key: tokens are valid only until this process exits"
        );
        match Key::hmac(Algorithm::HS256, Secret::generate(64)) {
            Ok(key) => self.key(key.with_kid("ephemeral")),
            // 64 random bytes always satisfy HS256.
            Err(_) => self,
        }
    }

    /// Clock leeway for `exp` and `nbf`; default 10 s, at most 30 s.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// Proxies whose `X-Forwarded-For` (or `Forwarded`) is believed when they are the socket
    /// peer; see [`TrustedProxies::client_address`].
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Where rate-limit state lives; an in-memory store by default.
    pub fn rate_limit_store(mut self, store: impl RateLimitStore) -> Self {
        self.in_memory = (&store as &dyn std::any::Any)
            .downcast_ref::<Arc<MemoryStore>>()
            .cloned();
        self.store = Some(Arc::new(store));
        self
    }

    /// The limit of authenticated handlers that declare none: per user, default 600/1m.
    pub fn default_rate(mut self, max: u32, window: Duration) -> Self {
        self.default_rate = Some(Rate {
            max,
            window,
            key: RateKey::User,
        });
        self
    }

    /// Failed authentications allowed per client address before it is answered 429 without
    /// even a look at its token: default 20/1m.
    pub fn failed_auth_rate(mut self, max: u32, window: Duration) -> Self {
        self.failed_auth_rate = Some(Rate {
            max,
            window,
            key: RateKey::Ip,
        });
        self
    }

    /// Shares rate limits, token state and API keys with every other instance through Redis:
    /// the same store serves as the rate-limit store, the token store and the API key store.
    #[cfg(feature = "redis")]
    pub fn redis(self, store: crate::store::RedisStore) -> Self {
        self.rate_limit_store(store.clone())
            .token_store(store.clone())
            .api_key_store(store)
    }

    /// Where API keys live (their hashes, never the keys); in memory by default.
    pub fn api_key_store(mut self, store: impl ApiKeyStore) -> Self {
        self.api_key_store = Some(Arc::new(store));
        self
    }

    /// What this application's API keys start with, so that secret scanners can be taught to
    /// find them: 2 to 12 lowercase letters and digits, starting with a letter; `sapi` by
    /// default.
    pub fn api_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.api_key_prefix = Some(prefix.into());
        self
    }

    /// Where refresh families and revoked access tokens live; in memory by default.
    pub fn token_store(mut self, store: impl TokenStore) -> Self {
        self.token_store = Some(Arc::new(store));
        self
    }

    /// How long issued access tokens live: 15 minutes by default.
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = Some(ttl);
        self
    }

    /// How long refresh tokens live: 7 days by default.
    pub fn refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_token_ttl = Some(ttl);
        self
    }

    /// Also accepts access tokens whose `typ` header is `typ` (e.g. `JWT` from an identity
    /// provider that does not type its tokens; `""` for tokens with no `typ` at all). Only
    /// `at+jwt` is accepted by default: an ID token signed with the same key cannot pass for
    /// an access token. Accepting `JWT` gives that up, so keep the audience (or `client_id`)
    /// binding narrow.
    pub fn accept_token_type(mut self, typ: impl Into<String>) -> Self {
        self.token_types.push(typ.into());
        self
    }

    /// How many verified tokens the guard remembers, so that a token presented again is not
    /// verified again until it expires (default 4096; 0 turns it off). Besides, each thread
    /// that meets the same token twice in a row keeps one copy of its identity, so that
    /// cores serving one busy client do not share a reference count.
    /// Revocation is checked on every request regardless.
    pub fn verified_token_cache(mut self, capacity: usize) -> Self {
        self.verified_token_cache = Some(capacity);
        self
    }

    /// Fills the settings from `SECURE_API_*` variables (see [`Security::from_env`]). A
    /// variable of that namespace that would be ignored — unknown, of a feature this build
    /// lacks, or made moot by another — is refused, naming it.
    pub fn from_env(self) -> Result<Self, ConfigError> {
        self.read_env(&Env::from_process()?)
    }

    fn read_env(mut self, env: &Env) -> Result<Self, ConfigError> {
        env.check(env::enabled)?;
        let optional = |name: &str| env.get(name);
        // Required unless the claim profile binds tokens by client id (checked by `build`).
        self.audience = optional(var::AUDIENCE);
        #[cfg(feature = "jwks")]
        self.remote.read_env(env)?;
        if self.fetches_keys() {
            self.issuer = optional(var::ISSUER);
        } else {
            self.issuer = Some(optional(var::ISSUER).ok_or_else(|| missing(var::ISSUER))?);
            let algorithm = match optional(var::JWT_ALGORITHM) {
                None => Algorithm::HS256,
                Some(name) => algorithm(&name)?,
            };
            let key = jwt_keys::key_from_env(algorithm, &optional)?.ok_or(ConfigError::NoKey)?;
            self.keys.push(match optional(var::JWT_KID) {
                Some(kid) => key.with_kid(kid),
                None => key,
            });
        }
        if let Some(leeway) = optional(var::LEEWAY_SECS) {
            let secs = leeway.parse().map_err(|_| {
                ConfigError::invalid(var::LEEWAY_SECS, "expected a whole number of seconds")
            })?;
            self.leeway = Some(Duration::from_secs(secs));
        }
        #[cfg(feature = "redis")]
        if let Some(url) = optional(var::REDIS_URL) {
            self = self.redis(crate::store::RedisStore::from_urls(&url)?);
        }
        if let Some(types) = optional(var::TOKEN_TYPES) {
            // `none` names the absent header; an empty item stays an error (`list`).
            self.token_types.extend(
                list(var::TOKEN_TYPES, &types)?
                    .into_iter()
                    .map(|typ| if typ == "none" { String::new() } else { typ }),
            );
        }
        if let Some(list) = optional(var::TRUSTED_PROXIES) {
            self.trusted_proxies = TrustedProxies::parse(&list)
                .map_err(|reason| ConfigError::invalid(var::TRUSTED_PROXIES, reason))?;
        }
        self.claims = claims::profile_from_env(self.claims, optional)?;
        env.check_all_read()?;
        Ok(self)
    }

    /// Whether the keys are to be fetched from a provider.
    fn fetches_keys(&self) -> bool {
        #[cfg(feature = "jwks")]
        return self.remote.is_set();
        #[cfg(not(feature = "jwks"))]
        false
    }

    /// Checks the configuration and builds it.
    pub fn build(self) -> Result<Security, ConfigError> {
        crate::jwt::install_crypto_provider();
        #[cfg(feature = "jwks")]
        let (remote, oidc_issuer) = (self.remote.settings()?, self.remote.oidc_issuer.clone());
        #[cfg(not(feature = "jwks"))]
        let oidc_issuer: Option<String> = None;
        let issuer = self
            .issuer
            .or(oidc_issuer)
            .ok_or_else(|| missing("issuer (SECURE_API_ISSUER)"))?;
        // The verifier requires an audience unless the claim profile binds tokens by client id.
        let audience = self.audience;
        let signing_key = self.keys.iter().find_map(Key::signing_key);
        let verifier = Verifier::new(VerifierSettings {
            issuer: issuer.clone(),
            audience: audience.clone(),
            claims: self.claims,
            keys: self.keys,
            #[cfg(feature = "jwks")]
            remote,
            leeway: self.leeway.unwrap_or(DEFAULT_LEEWAY),
            extra_token_types: self.token_types,
            cache_capacity: self.verified_token_cache.unwrap_or(DEFAULT_VERIFIED_TOKENS),
        })?;
        let issuer = Issuer::new(IssuerSettings {
            issuer,
            audience,
            signing_key,
            store: self
                .token_store
                .unwrap_or_else(|| Arc::new(MemoryTokenStore::new())),
            access_token_ttl: self.access_token_ttl.unwrap_or(DEFAULT_ACCESS_TOKEN_TTL),
            refresh_token_ttl: self.refresh_token_ttl.unwrap_or(DEFAULT_REFRESH_TOKEN_TTL),
        });
        let prefix = self
            .api_key_prefix
            .as_deref()
            .unwrap_or(apikey::DEFAULT_PREFIX);
        if !apikey::is_valid_prefix(prefix) {
            return Err(ConfigError::Invalid {
                name: format!("the API key prefix {prefix:?}"),
                reason: "use 2 to 12 lowercase letters and digits, starting with a letter".into(),
            });
        }
        let api_keys = ApiKeys::new(
            self.api_key_store
                .unwrap_or_else(|| Arc::new(MemoryApiKeyStore::new())),
            prefix,
        );
        let (store, in_memory) = match self.store {
            Some(store) => (store, self.in_memory),
            None => {
                let memory = Arc::new(MemoryStore::new());
                let store: Arc<dyn RateLimitStore> = Arc::new(Arc::clone(&memory));
                (store, Some(memory))
            }
        };
        let limits = Limits {
            store,
            in_memory,
            default_rate: self.default_rate.unwrap_or(DEFAULT_RATE),
            failed_auth_rate: self.failed_auth_rate.unwrap_or(DEFAULT_FAILED_AUTH_RATE),
        };
        tracing::info!(target: CONFIG_TARGET, keys = %verifier.key_source(), "token verification configured");
        // With fetched keys, the first fetch starts now when a runtime is running; otherwise
        // with the first request.
        verifier.start_key_refresh();
        let security = Security::new(Inner {
            verifier,
            issuer,
            limits,
            api_keys,
            trusted_proxies: self.trusted_proxies,
            counters: Counters::default(),
        });
        tracing::info!(
            target: CONFIG_TARGET,
            issuer = security.issuer(),
            audience = security.audience(),
            claims = %security.claims(),
            "security configured"
        );
        Ok(security)
    }
}

fn algorithm(name: &str) -> Result<Algorithm, ConfigError> {
    name.parse().map_err(|_| {
        ConfigError::invalid(
            var::JWT_ALGORITHM,
            format!("`{name}` is not a JWS algorithm name such as HS256 or ES256"),
        )
    })
}

/// Comma-separated values, trimmed; an empty one is refused (an empty client id would accept
/// a token with an empty `client_id`, an empty `typ` one without a `typ`).
fn list(name: &str, text: &str) -> Result<Vec<String>, ConfigError> {
    text.split(',')
        .map(|value| match value.trim() {
            "" => Err(ConfigError::invalid(name, "a value in the list is empty")),
            value => Ok(value.to_owned()),
        })
        .collect()
}

fn missing(name: &str) -> ConfigError {
    ConfigError::Missing(name.to_owned())
}

#[cfg(test)]
mod tests;
