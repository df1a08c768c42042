//! What a verified token proves (`Identity`), and why a token is refused (`TokenRejection`).

use super::compact::{Claim, Claims};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// Why a token was refused. It goes to the audit log only: the client always receives the
/// same `invalid_token` problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    /// Over [`MAX_TOKEN_BYTES`](super::MAX_TOKEN_BYTES).
    TooLarge,
    /// Not three base64url parts, header and claims JSON objects with the members' types;
    /// or a member with a meaning given twice.
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
    /// `iss` is not the configured issuer, as a single string (an array is refused even if it
    /// holds it).
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    WrongAudience,
    /// A required claim is missing or of the wrong type.
    BadClaims,
    /// The `typ` header is not an accepted access-token type (`at+jwt` by default).
    WrongType,
    /// The token was revoked (logout) before it expired.
    Revoked,
    /// The protected header has `crit`: it names extensions the token may not be processed
    /// without (RFC 7515 §4.1.11), and this crate understands none.
    CriticalHeader,
    /// No key set is available to verify with: the provider's keys were never fetched, or
    /// went stale. Not the token's fault: the guard answers 503, and never accepts it.
    NoKeys,
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
            Self::CriticalHeader => "critical_header",
            Self::NoKeys => "keys_unavailable",
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
    /// Whether `acr` is one the claim profile accepts as a second factor.
    second_factor_acr: bool,
    /// The id of the API key this identity was proven by; `None` for a token.
    api_key: Option<Box<str>>,
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

    /// The roles found at the claim profile's role paths (by default the `roles` claim).
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// The scopes found at the claim profile's scope paths (by default the `scope` claim,
    /// split on white space).
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
            if let Some(id) = &self.api_key {
                return self.api_key_claims(id);
            }
            // The verifier decoded this very segment, with this engine, before it was kept.
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

    /// The `acr` claim (authentication context class), if it is a string.
    pub fn acr(&self) -> Option<&str> {
        self.claims().get("acr")?.as_str()
    }

    /// Whether `acr` is one of the values the claim profile accepts as a second factor
    /// (`ClaimProfile::second_factor_acr`).
    pub(crate) fn second_factor_by_acr(&self) -> bool {
        self.second_factor_acr
    }

    /// When the user authenticated (`auth_time`), in seconds since the epoch.
    pub fn auth_time(&self) -> Option<u64> {
        self.auth_time
    }

    /// The id of the API key the request was made with; `None` when it carried a token.
    pub fn api_key_id(&self) -> Option<&str> {
        self.api_key.as_deref()
    }

    /// The identity an API key proves: its owner as the subject, with the key's roles and
    /// scopes; it expires with the key. Its claims are what a token for it would say (`sub`,
    /// `roles`, `scope`, `exp` if it expires) and `api_key`, the key id, so that handlers
    /// reading `Claims<T>` serve key callers too.
    pub(crate) fn for_api_key(key: crate::apikey::ApiKeyInfo) -> Identity {
        Identity {
            subject: key.owner,
            roles: key.roles,
            scopes: key.scopes,
            amr: Vec::new(),
            auth_time: None,
            jti: None,
            expires_at: key.expires_at.unwrap_or(u64::MAX),
            second_factor_acr: false,
            api_key: Some(key.id.into()),
            payload: Box::default(),
            claims: OnceLock::new(),
        }
    }

    /// The claims of an API key's identity, built on first use like a token's.
    fn api_key_claims(&self, id: &str) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("sub".into(), self.subject.clone().into());
        claims.insert("roles".into(), self.roles.clone().into());
        claims.insert("scope".into(), self.scopes.join(" ").into());
        if self.expires_at != u64::MAX {
            claims.insert("exp".into(), self.expires_at.into());
        }
        claims.insert("api_key".into(), id.into());
        claims
    }

    /// The token's `jti`, by which it can be revoked.
    pub fn jti(&self) -> Option<&str> {
        self.jti.as_deref()
    }

    /// The token's `exp` (an API key's expiry, `u64::MAX` for a key that never expires), in
    /// seconds since the epoch.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// Reads `sub`, `amr`, `auth_time` and `jti` out of verified claims; a claim of the wrong
    /// type makes the whole token invalid. Roles and scopes are the claim profile's to read
    /// ([`with_grants`](Self::with_grants)).
    pub(super) fn from_claims(
        claims: &Claims<'_>,
        expires_at: u64,
        payload: &str,
    ) -> Result<Identity, TokenRejection> {
        let subject = match claims.sub.text() {
            Some(subject) if !subject.is_empty() => subject.to_owned(),
            _ => return Err(TokenRejection::BadClaims),
        };
        let amr = match &claims.amr {
            Claim::Texts(methods) => methods.iter().map(|method| (**method).to_owned()).collect(),
            unset if unset.is_unset() => Vec::new(),
            _ => return Err(TokenRejection::BadClaims),
        };
        let auth_time = match claims.auth_time {
            Claim::Unsigned(time) => Some(time),
            ref unset if unset.is_unset() => None,
            _ => return Err(TokenRejection::BadClaims),
        };
        let jti = match &claims.jti {
            Claim::Text(jti) => Some((**jti).to_owned()),
            unset if unset.is_unset() => None,
            _ => return Err(TokenRejection::BadClaims),
        };
        Ok(Identity {
            subject,
            roles: Vec::new(),
            scopes: Vec::new(),
            amr,
            auth_time,
            jti,
            expires_at,
            second_factor_acr: false,
            api_key: None,
            payload: payload.into(),
            claims: OnceLock::new(),
        })
    }

    /// The identity with what the claim profile read: its roles, its scopes, and whether its
    /// `acr` counts as a second factor.
    pub(super) fn with_grants(
        self,
        roles: Vec<String>,
        scopes: Vec<String>,
        second_factor_acr: bool,
    ) -> Self {
        Self {
            roles,
            scopes,
            second_factor_acr,
            ..self
        }
    }
}
