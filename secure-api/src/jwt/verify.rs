//! `Verifier`: a compact JWT checked against the configured keys and claims, then read into
//! an [`Identity`] — once per token, thanks to the cache of verified tokens.

use super::cache::VerifiedTokens;
use super::claims::ClaimProfile;
use super::identity::{Identity, KnownClaims, TokenRejection};
use super::key::Key;
use crate::error::ConfigError;
use jsonwebtoken::{Algorithm, Validation};
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
    issuer: String,
    audience: Option<String>,
    claims: ClaimProfile,
    keys: Vec<KeyEntry>,
    token_types: Vec<String>,
    verified: VerifiedTokens,
}

struct KeyEntry {
    key: Key,
    validation: Validation,
}

/// What the verifier is built from; `SecurityBuilder` fills it.
pub(crate) struct VerifierSettings {
    pub(crate) issuer: String,
    /// `None` only when the claim profile binds tokens by `client_id`.
    pub(crate) audience: Option<String>,
    /// Where roles and scopes are read; how tokens are bound to this API.
    pub(crate) claims: ClaimProfile,
    pub(crate) keys: Vec<Key>,
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
            leeway,
            extra_token_types,
            cache_capacity,
        } = settings;
        claims.check(audience.as_deref())?;
        if keys.is_empty() {
            return Err(ConfigError::NoKey);
        }
        if leeway > MAX_LEEWAY {
            return Err(ConfigError::invalid(
                "leeway",
                format!("{leeway:?} is more than the {MAX_LEEWAY:?} allowed"),
            ));
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
        let keys = keys
            .into_iter()
            .map(|key| KeyEntry {
                validation: validation(key.algorithm(), &issuer, audience.as_deref(), leeway),
                key,
            })
            .collect();
        Ok(Self {
            issuer,
            audience,
            claims,
            keys,
            token_types: std::iter::once(super::ACCESS_TOKEN_TYPE.to_owned())
                .chain(extra_token_types)
                .collect(),
            verified: VerifiedTokens::new(cache_capacity, leeway.as_secs()),
        })
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    pub(crate) fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    pub(crate) fn claims(&self) -> &ClaimProfile {
        &self.claims
    }

    /// The configured keys, in the order they were added.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter().map(|entry| &entry.key)
    }

    /// Verifies a compact JWT against the key set and the configured claims.
    pub(crate) fn verify(&self, token: &str) -> Result<Identity, TokenRejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenRejection::TooLarge);
        }
        let header = KeySelector::read(token).ok_or(TokenRejection::Malformed)?;
        // The header only selects among our own keys; the algorithm is the key's, not the
        // token's, so `alg: none` or an HS/RS swap can never pick the verification method.
        let entry = match header.kid.as_deref() {
            Some(kid) => self.keys.iter().find(|entry| entry.key.kid() == Some(kid)),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
        .ok_or(TokenRejection::UnknownKey)?;
        if header.alg != entry.key.algorithm() {
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
        let data =
            jsonwebtoken::decode::<KnownClaims>(token, entry.key.decoding(), &entry.validation)
                .map_err(|error| rejection(error.kind()))?;
        // A token that decoded has exactly three parts: header.payload.signature.
        let payload = token.split('.').nth(1).unwrap_or_default();
        self.claims.identity(data.claims, payload)
    }

    /// [`Verifier::verify`] through the cache of verified tokens: the guard's way.
    pub(crate) fn verify_cached(&self, token: &str) -> Result<Arc<Identity>, TokenRejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenRejection::TooLarge);
        }
        let now = crate::time::now();
        if let Some(cached) = self.verified.get(token, now) {
            return cached;
        }
        let identity = Arc::new(self.verify(token)?);
        self.verified.insert(token, &identity, now);
        Ok(identity)
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

/// jsonwebtoken's own defaults are not ours (60 s leeway, `nbf` unchecked): every field is
/// set here on purpose. Without an audience, the claim profile binds tokens by `client_id`
/// (`ClaimProfile::check` allows nothing else), which it checks after decoding.
fn validation(
    algorithm: Algorithm,
    issuer: &str,
    audience: Option<&str>,
    leeway: Duration,
) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.leeway = leeway.as_secs();
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_issuer(&[issuer]);
    match audience {
        Some(audience) => {
            validation.validate_aud = true;
            validation.set_audience(&[audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        }
        None => {
            validation.validate_aud = false;
            validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        }
    }
    validation
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::SigningKey;
    use crate::jwt::cache::DEFAULT_CAPACITY;
    use crate::secret::Secret;

    fn hs256() -> Key {
        Key::hmac(Algorithm::HS256, Secret::generate(32)).expect("key")
    }

    fn settings(keys: Vec<Key>) -> VerifierSettings {
        VerifierSettings {
            issuer: "i".into(),
            audience: Some("a".into()),
            claims: ClaimProfile::standard(),
            keys,
            leeway: Duration::ZERO,
            extra_token_types: Vec::new(),
            cache_capacity: DEFAULT_CAPACITY,
        }
    }

    /// A verifier with one HS256 key, and a token for `subject` signed with it.
    fn verifier_and_signer(cache_capacity: usize) -> (Verifier, SigningKey) {
        crate::jwt::install_crypto_provider();
        let key = hs256();
        let signer = key.signing_key().expect("an HMAC key signs");
        let verifier = Verifier::new(VerifierSettings {
            cache_capacity,
            ..settings(vec![key])
        })
        .expect("config");
        (verifier, signer)
    }

    fn token(signer: &SigningKey, subject: &str, ttl: u64) -> String {
        let now = crate::time::now();
        signer
            .sign(&serde_json::json!({
                "iss": "i", "aud": "a", "sub": subject, "nbf": now, "exp": now + ttl,
                "roles": ["admin"], "scope": "users:read users:write",
            }))
            .expect("signed")
    }

    #[test]
    fn key_sets_are_checked() {
        assert!(matches!(
            Verifier::new(settings(Vec::new())),
            Err(ConfigError::NoKey)
        ));
        let too_lenient = Verifier::new(VerifierSettings {
            leeway: Duration::from_secs(31),
            ..settings(vec![hs256()])
        });
        assert!(too_lenient.is_err());
        let build = |a: Key, b: Key| Verifier::new(settings(vec![a, b]));
        assert!(build(hs256(), hs256().with_kid("b")).is_err());
        assert!(build(hs256().with_kid("a"), hs256().with_kid("a")).is_err());
        assert!(build(hs256().with_kid("a"), hs256().with_kid("b")).is_ok());
    }

    #[test]
    fn signed_tokens_verify() {
        let (verifier, signer) = verifier_and_signer(0);
        let identity = verifier
            .verify(&token(&signer, "alice", 60))
            .expect("valid");
        assert_eq!(identity.subject(), "alice");
        assert_eq!(identity.roles(), ["admin"]);
        assert_eq!(identity.scopes(), ["users:read", "users:write"]);
    }

    #[test]
    fn verified_tokens_are_remembered_until_they_expire() {
        let (verifier, signer) = verifier_and_signer(DEFAULT_CAPACITY);
        let token = token(&signer, "alice", 1);
        let first = verifier.verify_cached(&token).expect("valid");
        let again = verifier.verify_cached(&token).expect("still valid");
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second look is the cache's"
        );
        // A token that fails is not remembered: a tampered copy fails every time.
        let tampered = format!("{}x", &token[..token.len() - 1]);
        for _ in 0..2 {
            assert!(verifier.verify_cached(&tampered).is_err());
        }
        std::thread::sleep(Duration::from_millis(2100));
        assert_eq!(
            verifier.verify_cached(&token).map(|_| ()),
            Err(TokenRejection::Expired)
        );
        assert_eq!(
            verifier.verify(&token).map(|_| ()),
            Err(TokenRejection::Expired)
        );
    }

    #[test]
    fn the_cache_of_verified_tokens_is_bounded() {
        let (verifier, signer) = verifier_and_signer(3);
        for n in 0..10 {
            let token = token(&signer, &format!("user-{n}"), 60);
            verifier.verify_cached(&token).expect("valid");
            assert!(verifier.verified.len() <= 3);
        }
    }
}
