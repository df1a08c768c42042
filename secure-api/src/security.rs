//! `Security`: the application-wide configuration every guard reads — keys, issuer and
//! audience, rate limits, trusted proxies — and JWT verification against it.

use crate::client::TrustedProxies;
use crate::limit::{MemoryStore, RateLimitStore, Subject};
use crate::policy::{Rate, RateKey};
use crate::tokens::{ACCESS_TOKEN_TYPE, MemoryTokenStore, TokenStore};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Tokens longer than this are rejected before any parsing (`Authorization` header bytes
/// after `Bearer `). Real access tokens are far below it; attackers' payloads are not.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The leeway applied to `exp` and `nbf` unless configured otherwise.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(10);

/// How many verified tokens the guard remembers unless configured otherwise
/// ([`SecurityBuilder::verified_token_cache`]).
const DEFAULT_VERIFIED_TOKENS: usize = 4096;

/// The largest leeway accepted: more would keep expired tokens alive.
pub const MAX_LEEWAY: Duration = Duration::from_secs(30);

/// A key or password that must not be written in source code: it can only come from the
/// environment, a file, or the random generator, and it never prints.
pub struct Secret(Vec<u8>);

impl Secret {
    /// Reads the secret from an environment variable (its UTF-8 bytes, as written).
    pub fn from_env(variable: &str) -> Result<Self, ConfigError> {
        match std::env::var(variable) {
            Ok(value) if !value.is_empty() => Ok(Self(value.into_bytes())),
            _ => Err(ConfigError::Missing(variable.to_owned())),
        }
    }

    /// Reads the secret from a file (for Docker or Kubernetes secrets); one trailing newline
    /// is dropped.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let mut bytes = std::fs::read(path).map_err(|error| ConfigError::Unreadable {
            path: path.to_owned(),
            reason: error.kind().to_string(),
        })?;
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        Ok(Self(bytes))
    }

    /// `len` random bytes from the operating system's generator.
    pub fn generate(len: usize) -> Self {
        let mut bytes = vec![0; len];
        rand::Fill::fill(&mut bytes[..], &mut rand::rng());
        Self(bytes)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// The secret's bytes, for the crate's own use of them as a key (`seal::Sealer`).
    #[cfg(feature = "seal")]
    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(<{} bytes, redacted>)", self.0.len())
    }
}

/// A configuration that cannot be used. Messages name the variable or file at fault, never a
/// secret's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is absent.
    #[error("{0} is not set")]
    Missing(String),
    /// A setting has a value that cannot be used.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The setting.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A key or secret file cannot be read.
    #[error("cannot read {}: {reason}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error's kind.
        reason: String,
    },
    /// An HMAC secret shorter than its hash (RFC 7518 §3.2).
    #[error(
        "the {algorithm:?} secret has {actual} bytes; RFC 7518 requires at least {required} \
         (generate one with `openssl rand -base64 {required}`)"
    )]
    WeakSecret {
        /// The algorithm the secret is for.
        algorithm: Algorithm,
        /// Bytes given.
        actual: usize,
        /// Bytes required.
        required: usize,
    },
    /// No verification key was configured.
    #[error(
        "no JWT key is configured: set SECURE_API_JWT_SECRET_FILE (or SECURE_API_JWT_SECRET) \
         for HS256, or SECURE_API_JWT_ALGORITHM and SECURE_API_JWT_PUBLIC_KEY_FILE"
    )]
    NoKey,
}

/// One key of the key set: its algorithm is fixed here, never read from a token.
pub struct Key {
    kid: Option<String>,
    algorithm: Algorithm,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
}

impl Key {
    /// An HMAC key (HS256, HS384 or HS512); the secret must be at least as long as the hash.
    pub fn hmac(algorithm: Algorithm, secret: Secret) -> Result<Self, ConfigError> {
        let required = match algorithm {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            other => {
                return Err(ConfigError::Invalid {
                    name: "algorithm".into(),
                    reason: format!("{other:?} is not an HMAC algorithm; use Key::public_pem"),
                });
            }
        };
        if secret.len() < required {
            return Err(ConfigError::WeakSecret {
                algorithm,
                actual: secret.len(),
                required,
            });
        }
        Ok(Self {
            kid: None,
            algorithm,
            decoding: DecodingKey::from_secret(&secret.0),
            encoding: Some(EncodingKey::from_secret(&secret.0)),
        })
    }

    /// A public key (RS*, PS*, ES*, EdDSA) from PEM, for verifying tokens another service
    /// signs.
    #[cfg(feature = "pem")]
    pub fn public_pem(algorithm: Algorithm, pem: &[u8]) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            name: format!("{algorithm:?} public key"),
            reason,
        };
        let decoding = match algorithm {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => DecodingKey::from_rsa_pem(pem),
            Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem),
            Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                return Err(invalid(
                    "an HMAC algorithm takes a secret: use Key::hmac".into(),
                ));
            }
            other => return Err(invalid(format!("{other:?} is not supported"))),
        }
        .map_err(|error| invalid(format!("not a PEM public key ({error})")))?;
        Ok(Self {
            kid: None,
            algorithm,
            decoding,
            encoding: None,
        })
    }

    /// [`Key::public_pem`] read from a file.
    #[cfg(feature = "pem")]
    pub fn public_pem_file(
        algorithm: Algorithm,
        path: impl AsRef<Path>,
    ) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|error| ConfigError::Unreadable {
            path: path.to_owned(),
            reason: error.kind().to_string(),
        })?;
        Self::public_pem(algorithm, &pem)
    }

    /// Names the key; tokens select it by their `kid` header. Required when several keys are
    /// configured, e.g. during a rotation.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Why a token was refused. It goes to the audit log only: the client always receives the
/// same `invalid_token` problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    /// Over [`MAX_TOKEN_BYTES`].
    TooLarge,
    /// Not three base64url parts with a JSON header.
    Malformed,
    /// The `kid` names no configured key, or several keys exist and no `kid` was given.
    UnknownKey,
    /// The header's `alg` differs from the selected key's algorithm (includes `none`).
    AlgorithmNotAllowed,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is in the past.
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    WrongAudience,
    /// A required claim is missing or of the wrong type.
    BadClaims,
    /// The `typ` header is not an accepted access-token type (`at+jwt` by default).
    WrongType,
    /// The token was revoked (logout) before it expired.
    Revoked,
}

impl TokenRejection {
    /// A short name for audit events.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TooLarge => "token_too_large",
            Self::Malformed => "token_malformed",
            Self::UnknownKey => "unknown_key",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::BadClaims => "bad_claims",
            Self::WrongType => "wrong_token_type",
            Self::Revoked => "revoked",
        }
    }
}

/// The identity a verified token proves; handlers receive it as [`crate::AuthUser`].
#[derive(Debug, Clone)]
pub struct Identity {
    subject: String,
    roles: Vec<String>,
    scopes: Vec<String>,
    amr: Vec<String>,
    auth_time: Option<u64>,
    jti: Option<String>,
    expires_at: u64,
    /// The token's payload segment (base64url JSON): every claim, parsed into `claims` on
    /// first use, since most requests need no more than the fields above.
    payload: Box<str>,
    claims: OnceLock<Map<String, Value>>,
}

impl Identity {
    /// The `sub` claim.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The `roles` claim.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// The `scope` claim, split on white space.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether the token carries `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|held| held == role)
    }

    /// One claim, deserialized; `None` when it is absent or of another type.
    pub fn claim<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        T::deserialize(self.claims().get(name)?).ok()
    }

    /// Every claim of the verified token.
    pub fn claims(&self) -> &Map<String, Value> {
        self.claims.get_or_init(|| {
            use base64::Engine as _;
            // jsonwebtoken decoded this very segment, with this engine, before it was kept.
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&*self.payload)
                .ok()
                .and_then(|json| serde_json::from_slice(&json).ok())
                .unwrap_or_default()
        })
    }

    /// The authentication methods of the `amr` claim (RFC 8176), e.g. `pwd`, `otp`.
    pub fn amr(&self) -> &[String] {
        &self.amr
    }

    /// When the user authenticated (`auth_time`), in seconds since the epoch.
    pub fn auth_time(&self) -> Option<u64> {
        self.auth_time
    }

    /// The token's `jti`, by which it can be revoked.
    pub fn jti(&self) -> Option<&str> {
        self.jti.as_deref()
    }

    /// The token's `exp`, in seconds since the epoch.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

/// The application-wide security configuration. Put it in the router's state (directly or
/// through `FromRef`); every `#[secure]` handler reads it.
///
/// Cloning is cheap: clones share keys and rate-limit state.
#[derive(Clone)]
pub struct Security {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    issuer: String,
    audience: String,
    keys: Vec<KeyEntry>,
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) store: Arc<dyn RateLimitStore>,
    pub(crate) default_rate: Rate,
    pub(crate) failed_auth_rate: Rate,
    pub(crate) token_store: Arc<dyn TokenStore>,
    pub(crate) access_token_ttl: Duration,
    pub(crate) refresh_token_ttl: Duration,
    token_types: Vec<String>,
    pub(crate) counters: crate::guard::Counters,
    /// Clients whose failed authentications used up their budget, until when.
    pub(crate) blocked: dashmap::DashMap<Subject, Instant>,
    verified: VerifiedTokens,
}

/// Tokens that verified, by their text. A client presents the same access token on every
/// request of a session, and nothing that verification looked at can have changed since (the
/// keys, issuer, audience and accepted types are fixed when `Security` is built), except the
/// time: so a token seen before is not verified again, only its `exp` is checked (Envoy's
/// `jwt_authn` keeps the same kind of cache). Signature, base64 and JSON were most of the
/// guard's cost in its profile.
///
/// Only tokens that verified are kept, at most `capacity`, none past its `exp`; a token that
/// failed is verified again each time (and counted against its client). Revocation is not
/// cached: the guard looks the `jti` up on every request.
struct VerifiedTokens {
    entries: dashmap::DashMap<Box<str>, Arc<Identity>>,
    capacity: usize,
    leeway: u64,
}

impl VerifiedTokens {
    /// The identity of a token verified before, or `Expired` once its `exp` (with the
    /// leeway, as jsonwebtoken judges it) has passed.
    fn get(&self, token: &str, now: u64) -> Option<Result<Arc<Identity>, TokenRejection>> {
        let identity = Arc::clone(&*self.entries.get(token)?);
        if identity.expires_at.saturating_add(self.leeway) < now {
            self.entries.remove(token);
            return Some(Err(TokenRejection::Expired));
        }
        Some(Ok(identity))
    }

    fn insert(&self, token: &str, identity: &Arc<Identity>, now: u64) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity {
            let leeway = self.leeway;
            self.entries
                .retain(|_, identity| identity.expires_at.saturating_add(leeway) >= now);
            if self.entries.len() >= self.capacity {
                // All still valid: start over rather than track recency on every hit.
                self.entries.clear();
            }
        }
        self.entries.insert(token.into(), Arc::clone(identity));
    }
}

struct KeyEntry {
    key: Key,
    validation: Validation,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .field(
                "keys",
                &self
                    .inner
                    .keys
                    .iter()
                    .map(|entry| &entry.key)
                    .collect::<Vec<_>>(),
            )
            .field("default_rate", &self.inner.default_rate)
            .finish_non_exhaustive()
    }
}

/// An uninhabited state type. Its only purpose is a second `FromRef<_> for Security` impl
/// besides axum's `FromRef<T> for T`: with just that one, rustc settles an unknown router
/// state to `Security` itself, and an application state that lacks the configuration is then
/// reported as a confusing type mismatch instead of the missing `FromRef` impl.
#[doc(hidden)]
pub enum __NoState {}

impl axum::extract::FromRef<__NoState> for Security {
    fn from_ref(state: &__NoState) -> Security {
        match *state {}
    }
}

impl Security {
    /// Starts a configuration in code.
    pub fn builder() -> SecurityBuilder {
        SecurityBuilder::default()
    }

    /// Reads the configuration from the environment:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `SECURE_API_ISSUER` | required `iss` of accepted tokens |
    /// | `SECURE_API_AUDIENCE` | required `aud` of accepted tokens |
    /// | `SECURE_API_JWT_ALGORITHM` | `HS256` (default), `HS384`, `HS512`, `RS256`, `PS256`, `ES256`, `EdDSA`, … |
    /// | `SECURE_API_JWT_SECRET_FILE` | file holding the HMAC secret (preferred) |
    /// | `SECURE_API_JWT_SECRET` | the HMAC secret itself |
    /// | `SECURE_API_JWT_PUBLIC_KEY_FILE` | PEM public key for the asymmetric algorithms |
    /// | `SECURE_API_JWT_KID` | optional key id |
    /// | `SECURE_API_LEEWAY_SECS` | clock leeway for `exp`/`nbf`, default 10, at most 30 |
    /// | `SECURE_API_TRUSTED_PROXIES` | comma-separated addresses or CIDRs whose `X-Forwarded-For` is believed |
    /// | `SECURE_API_REDIS_URL` | with the `redis` feature: share limits and token state through this Redis |
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::builder().from_env()?.build()
    }

    /// Allow, deny and throttle counts per handler and reason, since start (O2): what to
    /// watch for suspicious activity.
    pub fn counters(&self) -> Vec<crate::guard::Counter> {
        self.inner.counters.snapshot()
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The configured audience.
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// The algorithms tokens may be signed with: exactly those of the configured keys.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.inner
            .keys
            .iter()
            .map(|entry| entry.key.algorithm)
            .collect()
    }

    /// Signs an access token for `subject` with the first key that can sign (an HMAC key),
    /// valid for `ttl`, with no refresh token. Meant for development and tests; see
    /// [`Security::issue`] for the full lifecycle.
    pub fn mint(
        &self,
        subject: &str,
        roles: &[&str],
        scopes: &[&str],
        ttl: Duration,
    ) -> Result<String, ConfigError> {
        let principal = crate::tokens::Principal::new(subject, &[])
            .with_roles(roles)
            .with_scopes(scopes);
        self.sign_access_token(&principal, ttl)
    }

    /// Signs claims as an access token (`typ: at+jwt`) with the first key that can sign.
    pub(crate) fn sign(&self, claims: &Value) -> Result<String, ConfigError> {
        let (key, encoding) = self
            .inner
            .keys
            .iter()
            .find_map(|entry| Some((&entry.key, entry.key.encoding.as_ref()?)))
            .ok_or_else(|| ConfigError::Invalid {
                name: "keys".into(),
                reason: "no configured key can sign (only HMAC keys hold a secret)".into(),
            })?;
        let mut header = Header::new(key.algorithm);
        header.typ = Some(crate::tokens::ACCESS_TOKEN_TYPE.to_owned());
        header.kid = key.kid.clone();
        jsonwebtoken::encode(&header, claims, encoding).map_err(|error| ConfigError::Invalid {
            name: "signing key".into(),
            reason: error.to_string(),
        })
    }

    /// Verifies a compact JWT against the key set and the configured claims.
    pub fn verify(&self, token: &str) -> Result<Identity, TokenRejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenRejection::TooLarge);
        }
        let header = KeySelector::read(token).ok_or(TokenRejection::Malformed)?;
        // The header only selects among our own keys; the algorithm is the key's, not the
        // token's, so `alg: none` or an HS/RS swap can never pick the verification method.
        let entry = match header.kid.as_deref() {
            Some(kid) => self
                .inner
                .keys
                .iter()
                .find(|entry| entry.key.kid.as_deref() == Some(kid)),
            None if self.inner.keys.len() == 1 => self.inner.keys.first(),
            None => None,
        }
        .ok_or(TokenRejection::UnknownKey)?;
        if header.alg != entry.key.algorithm {
            return Err(TokenRejection::AlgorithmNotAllowed);
        }
        let typ = header.typ.as_deref().unwrap_or("");
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        if !self
            .inner
            .token_types
            .iter()
            .any(|accepted| accepted.eq_ignore_ascii_case(typ))
        {
            return Err(TokenRejection::WrongType);
        }
        let data =
            jsonwebtoken::decode::<KnownClaims>(token, &entry.key.decoding, &entry.validation)
                .map_err(|error| rejection(error.kind()))?;
        // A token that decoded has exactly three parts: header.payload.signature.
        let payload = token.split('.').nth(1).unwrap_or_default();
        identity(data.claims, payload)
    }
}

/// What the header says to select the key and check the token type, read before the
/// signature is checked (jsonwebtoken reads the whole header again when it verifies). Its
/// `Header` has a dozen more fields and a catch-all map; reading only these three costs about
/// half as much on every request (the guard's profile).
#[derive(serde::Deserialize)]
struct KeySelector {
    alg: Algorithm,
    kid: Option<String>,
    typ: Option<String>,
}

impl KeySelector {
    /// `None` unless the token is three parts whose first is base64url JSON with an `alg`.
    fn read(token: &str) -> Option<Self> {
        use base64::Engine as _;
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        // The engine jsonwebtoken decodes with.
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .ok()?;
        serde_json::from_slice(&json).ok()
    }
}

impl Security {
    /// [`Security::verify`] through the cache of verified tokens: the guard's way.
    pub(crate) fn verify_cached(&self, token: &str) -> Result<Arc<Identity>, TokenRejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenRejection::TooLarge);
        }
        let now = crate::tokens::now();
        if let Some(cached) = self.inner.verified.get(token, now) {
            return cached;
        }
        let identity = Arc::new(self.verify(token)?);
        self.inner.verified.insert(token, &identity, now);
        Ok(identity)
    }
}

fn rejection(kind: &jsonwebtoken::errors::ErrorKind) -> TokenRejection {
    use jsonwebtoken::errors::ErrorKind;
    match kind {
        ErrorKind::InvalidSignature => TokenRejection::BadSignature,
        ErrorKind::ExpiredSignature => TokenRejection::Expired,
        ErrorKind::ImmatureSignature => TokenRejection::NotYetValid,
        ErrorKind::InvalidIssuer => TokenRejection::WrongIssuer,
        ErrorKind::InvalidAudience => TokenRejection::WrongAudience,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            TokenRejection::AlgorithmNotAllowed
        }
        ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => {
            TokenRejection::BadClaims
        }
        _ => TokenRejection::Malformed,
    }
}

/// The claims an [`Identity`] is made of, as any JSON (`null` reads as absent), so that a
/// claim of the wrong type is told apart from a malformed token. The other claims are skipped
/// here without being copied; [`Identity::claims`] parses them when asked (the guard's
/// profile showed building a map of every claim on each request to be its largest cost).
#[derive(serde::Deserialize)]
struct KnownClaims {
    sub: Option<Value>,
    roles: Option<Value>,
    scope: Option<Value>,
    amr: Option<Value>,
    auth_time: Option<Value>,
    jti: Option<Value>,
    exp: Option<Value>,
}

/// Reads `sub`, `roles` (an array of strings) and `scope` (space-delimited, RFC 8693) out of
/// verified claims; a claim of the wrong type makes the whole token invalid.
fn identity(claims: KnownClaims, payload: &str) -> Result<Identity, TokenRejection> {
    let subject = match claims.sub {
        Some(Value::String(subject)) if !subject.is_empty() => subject,
        _ => return Err(TokenRejection::BadClaims),
    };
    let roles = strings(claims.roles)?;
    let scopes = match claims.scope {
        None => Vec::new(),
        Some(Value::String(scope)) => scope.split_whitespace().map(str::to_owned).collect(),
        Some(_) => return Err(TokenRejection::BadClaims),
    };
    let amr = strings(claims.amr)?;
    let auth_time = match claims.auth_time {
        None => None,
        Some(time) => Some(time.as_u64().ok_or(TokenRejection::BadClaims)?),
    };
    let jti = match claims.jti {
        None => None,
        Some(Value::String(jti)) => Some(jti),
        Some(_) => return Err(TokenRejection::BadClaims),
    };
    // jsonwebtoken has already required a numeric `exp`.
    let expires_at = claims
        .exp
        .as_ref()
        .and_then(Value::as_u64)
        .ok_or(TokenRejection::BadClaims)?;
    Ok(Identity {
        subject,
        roles,
        scopes,
        amr,
        auth_time,
        jti,
        expires_at,
        payload: payload.into(),
        claims: OnceLock::new(),
    })
}

/// An optional array-of-strings claim.
fn strings(claim: Option<Value>) -> Result<Vec<String>, TokenRejection> {
    match claim {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(item) => Some(item),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .ok_or(TokenRejection::BadClaims),
        Some(_) => Err(TokenRejection::BadClaims),
    }
}

/// Builds a [`Security`]; every setting has a safe default except the issuer, the audience
/// and at least one key.
#[derive(Default)]
pub struct SecurityBuilder {
    issuer: Option<String>,
    audience: Option<String>,
    keys: Vec<Key>,
    leeway: Option<Duration>,
    trusted_proxies: TrustedProxies,
    store: Option<Arc<dyn RateLimitStore>>,
    default_rate: Option<Rate>,
    failed_auth_rate: Option<Rate>,
    token_store: Option<Arc<dyn TokenStore>>,
    access_token_ttl: Option<Duration>,
    refresh_token_ttl: Option<Duration>,
    token_types: Vec<String>,
    verified_token_cache: Option<usize>,
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

    /// Adds a verification key; add several (each with a `kid`) to rotate keys.
    pub fn key(mut self, key: Key) -> Self {
        self.keys.push(key);
        self
    }

    /// Adds a random HS256 key that exists only in this process, for demos: tokens it signs
    /// die with the process. Logs a warning, since no other instance can verify them.
    pub fn ephemeral_key(self) -> Self {
        tracing::warn!(
            target: "secure_api::config",
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

    /// Proxies whose `X-Forwarded-For` is believed when they are the socket peer.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Where rate-limit state lives; an in-memory store by default.
    pub fn rate_limit_store(mut self, store: impl RateLimitStore) -> Self {
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

    /// Shares rate limits and token state with every other instance through Redis: the same
    /// store serves as the rate-limit store and the token store.
    #[cfg(feature = "redis")]
    pub fn redis(self, store: crate::RedisStore) -> Self {
        self.rate_limit_store(store.clone()).token_store(store)
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
    /// provider that does not type its tokens). Only `at+jwt` is accepted by default.
    pub fn accept_token_type(mut self, typ: impl Into<String>) -> Self {
        self.token_types.push(typ.into());
        self
    }

    /// How many verified tokens the guard remembers, so that a token presented again is not
    /// verified again until it expires (default 4096; 0 turns it off).
    /// Revocation is checked on every request regardless.
    pub fn verified_token_cache(mut self, capacity: usize) -> Self {
        self.verified_token_cache = Some(capacity);
        self
    }

    /// Fills the settings from `SECURE_API_*` variables (see [`Security::from_env`]).
    pub fn from_env(mut self) -> Result<Self, ConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        self.issuer = Some(var("SECURE_API_ISSUER").ok_or_else(|| missing("SECURE_API_ISSUER"))?);
        self.audience =
            Some(var("SECURE_API_AUDIENCE").ok_or_else(|| missing("SECURE_API_AUDIENCE"))?);
        let algorithm = match var("SECURE_API_JWT_ALGORITHM") {
            None => Algorithm::HS256,
            Some(name) => name.parse().map_err(|_| ConfigError::Invalid {
                name: "SECURE_API_JWT_ALGORITHM".into(),
                reason: format!("`{name}` is not a JWS algorithm name such as HS256 or ES256"),
            })?,
        };
        let key = if matches!(
            algorithm,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        ) {
            let secret = match (
                var("SECURE_API_JWT_SECRET_FILE"),
                var("SECURE_API_JWT_SECRET"),
            ) {
                (Some(file), _) => Some(Secret::from_file(file)?),
                (None, Some(_)) => Some(Secret::from_env("SECURE_API_JWT_SECRET")?),
                (None, None) => None,
            };
            secret
                .map(|secret| Key::hmac(algorithm, secret))
                .transpose()?
        } else {
            #[cfg(feature = "pem")]
            {
                var("SECURE_API_JWT_PUBLIC_KEY_FILE")
                    .map(|file| Key::public_pem_file(algorithm, file))
                    .transpose()?
            }
            #[cfg(not(feature = "pem"))]
            return Err(ConfigError::Invalid {
                name: "SECURE_API_JWT_ALGORITHM".into(),
                reason: format!(
                    "{algorithm:?} needs a PEM public key, and secure-api was built without its \
                     `pem` feature"
                ),
            });
        };
        let key = key.ok_or(ConfigError::NoKey)?;
        self.keys.push(match var("SECURE_API_JWT_KID") {
            Some(kid) => key.with_kid(kid),
            None => key,
        });
        if let Some(leeway) = var("SECURE_API_LEEWAY_SECS") {
            let secs = leeway.parse().map_err(|_| ConfigError::Invalid {
                name: "SECURE_API_LEEWAY_SECS".into(),
                reason: "expected a whole number of seconds".into(),
            })?;
            self.leeway = Some(Duration::from_secs(secs));
        }
        #[cfg(feature = "redis")]
        if let Some(store) = crate::RedisStore::from_env()? {
            self = self.redis(store);
        }
        if let Some(list) = var("SECURE_API_TRUSTED_PROXIES") {
            self.trusted_proxies =
                TrustedProxies::parse(&list).map_err(|reason| ConfigError::Invalid {
                    name: "SECURE_API_TRUSTED_PROXIES".into(),
                    reason,
                })?;
        }
        Ok(self)
    }

    /// Checks the configuration and builds it.
    pub fn build(self) -> Result<Security, ConfigError> {
        install_crypto_provider();
        let issuer = self
            .issuer
            .ok_or_else(|| missing("issuer (SECURE_API_ISSUER)"))?;
        let audience = self
            .audience
            .ok_or_else(|| missing("audience (SECURE_API_AUDIENCE)"))?;
        if self.keys.is_empty() {
            return Err(ConfigError::NoKey);
        }
        let leeway = self.leeway.unwrap_or(DEFAULT_LEEWAY);
        if leeway > MAX_LEEWAY {
            return Err(ConfigError::Invalid {
                name: "leeway".into(),
                reason: format!("{leeway:?} is more than the {MAX_LEEWAY:?} allowed"),
            });
        }
        if self.keys.len() > 1 {
            let mut kids = HashSet::new();
            for key in &self.keys {
                let Some(kid) = &key.kid else {
                    return Err(ConfigError::Invalid {
                        name: "keys".into(),
                        reason: "with several keys each needs a kid (Key::with_kid)".into(),
                    });
                };
                if !kids.insert(kid) {
                    return Err(ConfigError::Invalid {
                        name: "keys".into(),
                        reason: format!("the kid `{kid}` is used twice"),
                    });
                }
            }
        }
        let keys = self
            .keys
            .into_iter()
            .map(|key| KeyEntry {
                validation: validation(key.algorithm, &issuer, &audience, leeway),
                key,
            })
            .collect();
        Ok(Security {
            inner: Arc::new(Inner {
                issuer,
                audience,
                keys,
                trusted_proxies: self.trusted_proxies,
                store: self
                    .store
                    .unwrap_or_else(|| Arc::new(Arc::new(MemoryStore::new()))),
                default_rate: self.default_rate.unwrap_or(Rate {
                    max: 600,
                    window: Duration::from_secs(60),
                    key: RateKey::User,
                }),
                failed_auth_rate: self.failed_auth_rate.unwrap_or(Rate {
                    max: 20,
                    window: Duration::from_secs(60),
                    key: RateKey::Ip,
                }),
                token_store: self
                    .token_store
                    .unwrap_or_else(|| Arc::new(MemoryTokenStore::new())),
                access_token_ttl: self
                    .access_token_ttl
                    .unwrap_or(Duration::from_secs(15 * 60)),
                refresh_token_ttl: self
                    .refresh_token_ttl
                    .unwrap_or(Duration::from_secs(7 * 24 * 60 * 60)),
                token_types: std::iter::once(ACCESS_TOKEN_TYPE.to_owned())
                    .chain(self.token_types)
                    .collect(),
                counters: crate::guard::Counters::default(),
                blocked: dashmap::DashMap::new(),
                verified: VerifiedTokens {
                    entries: dashmap::DashMap::new(),
                    capacity: self.verified_token_cache.unwrap_or(DEFAULT_VERIFIED_TOKENS),
                    leeway: leeway.as_secs(),
                },
            }),
        })
    }
}

fn missing(name: &str) -> ConfigError {
    ConfigError::Missing(name.to_owned())
}

/// jsonwebtoken's own defaults are not ours (60 s leeway, `nbf` unchecked): every field is
/// set here on purpose.
fn validation(algorithm: Algorithm, issuer: &str, audience: &str, leeway: Duration) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.leeway = leeway.as_secs();
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation
}

/// jsonwebtoken panics on first use when it was built with no crypto backend, or with two
/// through feature unification. secure-api always enables `rust_crypto` and installs it
/// explicitly, so neither case can be reached; if the application installed a provider
/// first, that one stays.
fn install_crypto_provider() {
    let _already_installed = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs256(len: usize) -> Result<Key, ConfigError> {
        Key::hmac(Algorithm::HS256, Secret::generate(len))
    }

    #[test]
    fn short_hmac_secrets_are_refused() {
        let error = hs256(31).expect_err("31 bytes is too short");
        assert!(error.to_string().contains("at least 32"), "{error}");
        assert!(Key::hmac(Algorithm::HS512, Secret::generate(63)).is_err());
        assert!(Key::hmac(Algorithm::HS512, Secret::generate(64)).is_ok());
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::generate(32);
        let printed = format!("{secret:?}");
        assert!(printed.contains("redacted"));
        assert!(!printed.contains(&format!("{:?}", secret.0)));
    }

    #[test]
    fn build_requires_issuer_audience_and_key() {
        assert!(matches!(
            Security::builder()
                .audience("a")
                .key(hs256(32).expect("key"))
                .build(),
            Err(ConfigError::Missing(_))
        ));
        assert!(matches!(
            Security::builder().issuer("i").audience("a").build(),
            Err(ConfigError::NoKey)
        ));
        let too_lenient = Security::builder()
            .issuer("i")
            .audience("a")
            .key(hs256(32).expect("key"))
            .leeway(Duration::from_secs(31))
            .build();
        assert!(too_lenient.is_err());
    }

    #[test]
    fn several_keys_need_distinct_kids() {
        let build = |a: Key, b: Key| {
            Security::builder()
                .issuer("i")
                .audience("a")
                .key(a)
                .key(b)
                .build()
        };
        let key = || hs256(32).expect("key");
        assert!(build(key(), key().with_kid("b")).is_err());
        assert!(build(key().with_kid("a"), key().with_kid("a")).is_err());
        assert!(build(key().with_kid("a"), key().with_kid("b")).is_ok());
    }

    #[test]
    fn verified_tokens_are_remembered_until_they_expire() {
        let security = Security::builder()
            .issuer("i")
            .audience("a")
            .ephemeral_key()
            .leeway(Duration::ZERO)
            .build()
            .expect("config");
        let token = security
            .mint("alice", &[], &[], Duration::from_secs(1))
            .expect("token");
        let first = security.verify_cached(&token).expect("valid");
        let again = security.verify_cached(&token).expect("still valid");
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second look is the cache's"
        );
        // A token that fails is not remembered: a tampered copy fails every time.
        let tampered = format!("{}x", &token[..token.len() - 1]);
        for _ in 0..2 {
            assert!(security.verify_cached(&tampered).is_err());
        }
        std::thread::sleep(Duration::from_millis(2100));
        assert_eq!(
            security.verify_cached(&token).map(|_| ()),
            Err(TokenRejection::Expired)
        );
        assert_eq!(
            security.verify(&token).map(|_| ()),
            Err(TokenRejection::Expired)
        );
    }

    #[test]
    fn the_cache_of_verified_tokens_is_bounded() {
        let security = Security::builder()
            .issuer("i")
            .audience("a")
            .ephemeral_key()
            .verified_token_cache(3)
            .build()
            .expect("config");
        for n in 0..10 {
            let token = security
                .mint(&format!("user-{n}"), &[], &[], Duration::from_secs(60))
                .expect("token");
            security.verify_cached(&token).expect("valid");
            assert!(security.inner.verified.entries.len() <= 3);
        }
    }

    #[test]
    fn minted_tokens_verify() {
        let security = Security::builder()
            .issuer("i")
            .audience("a")
            .ephemeral_key()
            .build()
            .expect("config");
        let token = security
            .mint(
                "alice",
                &["admin"],
                &["users:read", "users:write"],
                Duration::from_secs(60),
            )
            .expect("token");
        let identity = security.verify(&token).expect("valid");
        assert_eq!(identity.subject(), "alice");
        assert_eq!(identity.roles(), ["admin"]);
        assert_eq!(identity.scopes(), ["users:read", "users:write"]);
    }
}
