//! Token lifecycle: short-lived access tokens (RFC 9068), opaque refresh tokens rotated on
//! every use with reuse detection, and revocation — over a [`TokenStore`].

mod refresh;
mod store;

pub use store::{
    DEFAULT_MAX_TOKENS, MemoryTokenStore, Principal, RefreshRecord, Spend, TokenStore,
};

use crate::audit;
use crate::error::ConfigError;
use crate::jwt::{Identity, SigningKey};
use crate::problem::Problem;
use crate::store::StoreUnavailable;
use crate::time::now;
use axum::http::StatusCode;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// What a login or a refresh answers (the shape of an OAuth 2.0 token response).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct TokenPair {
    /// The signed access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The opaque refresh token: 256 random bits after the id of its family, stored
    /// server-side only as a hash.
    pub refresh_token: String,
}

/// Why a token could not be issued, refreshed or revoked.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The refresh token is unknown, expired, spent or revoked. The client learns no more.
    #[error("the refresh token is not valid")]
    InvalidRefreshToken,
    /// The token store could not be reached; nothing was issued.
    #[error(transparent)]
    Unavailable(#[from] StoreUnavailable),
    /// No key can sign, or signing failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl From<TokenError> for Problem {
    fn from(error: TokenError) -> Problem {
        match error {
            TokenError::InvalidRefreshToken => Problem::new(
                StatusCode::UNAUTHORIZED,
                "The refresh token is not valid; sign in again.",
            ),
            TokenError::Unavailable(error) => {
                tracing::error!(target: audit::TARGET, %error, "token store unavailable");
                Problem::unavailable()
            }
            TokenError::Config(error) => {
                tracing::error!(target: audit::CONFIG_TARGET, %error, "cannot sign tokens");
                Problem::internal()
            }
        }
    }
}

impl axum::response::IntoResponse for TokenError {
    fn into_response(self) -> axum::response::Response {
        Problem::from(self).into_response()
    }
}

/// Issues, refreshes and revokes tokens for `Security`, with what was fixed when `Security`
/// was built.
pub(crate) struct Issuer(IssuerSettings);

/// What the issuer is built from; `SecurityBuilder` fills it.
pub(crate) struct IssuerSettings {
    pub(crate) issuer: String,
    /// `None` when tokens are bound by `client_id` alone: this API then issues none.
    pub(crate) audience: Option<String>,
    /// The first configured key that can sign (an HMAC or a private key); none when only
    /// public keys are configured.
    pub(crate) signing_key: Option<SigningKey>,
    pub(crate) store: Arc<dyn TokenStore>,
    pub(crate) access_token_ttl: Duration,
    pub(crate) refresh_token_ttl: Duration,
}

impl Issuer {
    pub(crate) fn new(settings: IssuerSettings) -> Self {
        Self(settings)
    }

    /// Whether `sign_access_token` can succeed: a key that signs, and an audience to name.
    pub(crate) fn can_issue(&self) -> bool {
        self.0.signing_key.is_some() && self.0.audience.is_some()
    }

    /// Where refresh families and revocations live; the guard asks it about every `jti`.
    pub(crate) fn store(&self) -> &dyn TokenStore {
        &*self.0.store
    }

    pub(crate) async fn issue(&self, principal: &Principal) -> Result<TokenPair, TokenError> {
        self.issue_in_family(principal, refresh::new_family()).await
    }

    async fn issue_in_family(
        &self,
        principal: &Principal,
        family: String,
    ) -> Result<TokenPair, TokenError> {
        let access_ttl = self.0.access_token_ttl;
        let access_token = self.sign_access_token(principal, access_ttl)?;
        // Families come from `new_family`; a store that answers another form is unreadable.
        let (refresh_token, key) = refresh::new_token(&family)
            .ok_or_else(|| StoreUnavailable("a refresh family of an unknown form".into()))?;
        self.0
            .store
            .insert(RefreshRecord {
                hash: key,
                family,
                principal: principal.clone(),
                expires_at: now() + self.0.refresh_token_ttl.as_secs(),
            })
            .await?;
        Ok(TokenPair {
            access_token,
            token_type: "Bearer",
            expires_in: access_ttl.as_secs(),
            refresh_token,
        })
    }

    pub(crate) async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, TokenError> {
        // A string that is no token of ours is as invalid as an unknown token.
        let spend = match refresh::store_key(refresh_token) {
            Some(key) => self.0.store.spend(&key, now()).await?,
            None => Spend::Invalid,
        };
        match spend {
            Spend::Fresh(record) => {
                let principal = record.principal;
                let pair = self.issue_in_family(&principal, record.family).await?;
                tracing::info!(
                    target: audit::TARGET,
                    outcome = "allow",
                    reason = "refresh",
                    subject = principal.subject,
                );
                Ok(pair)
            }
            Spend::Reused { family, subject } => {
                tracing::warn!(
                    target: audit::TARGET,
                    outcome = "deny",
                    reason = "refresh_token_reuse",
                    subject,
                    family,
                    "a spent refresh token was presented again; its family is revoked"
                );
                Err(TokenError::InvalidRefreshToken)
            }
            Spend::Invalid => {
                tracing::warn!(
                    target: audit::TARGET,
                    outcome = "deny",
                    reason = "refresh_token_invalid",
                );
                Err(TokenError::InvalidRefreshToken)
            }
        }
    }

    pub(crate) async fn logout(
        &self,
        user: &Identity,
        refresh_token: Option<&str>,
    ) -> Result<(), TokenError> {
        if let Some(jti) = user.jti() {
            self.0.store.revoke_access(jti, user.expires_at()).await?;
        }
        if let Some(key) = refresh_token.and_then(refresh::store_key)
            && let Some(family) = self.0.store.family_of(&key, user.subject()).await?
        {
            self.0.store.revoke_family(&family).await?;
        }
        tracing::info!(
            target: audit::TARGET,
            outcome = "allow",
            reason = "logout",
            subject = user.subject(),
        );
        Ok(())
    }

    pub(crate) fn sign_access_token(
        &self,
        principal: &Principal,
        ttl: Duration,
    ) -> Result<String, ConfigError> {
        let (claims, signing_key) = self.access_claims(principal, ttl)?;
        signing_key.sign(&claims)
    }

    /// The claims of an access token for `principal`, valid for `ttl`, and the key that signs
    /// them; the test kit alters them to make tokens the guard must refuse.
    pub(crate) fn access_claims(
        &self,
        principal: &Principal,
        ttl: Duration,
    ) -> Result<(serde_json::Value, &SigningKey), ConfigError> {
        let signing_key = self.0.signing_key.as_ref().ok_or_else(|| {
            ConfigError::invalid(
                "keys",
                "no configured key can sign: add an HMAC key or a private key \
                 (Key::private_pem); public keys only verify",
            )
        })?;
        let audience = self.0.audience.as_deref().ok_or_else(|| {
            ConfigError::Missing(
                "audience (SECURE_API_AUDIENCE) of the tokens this API issues".into(),
            )
        })?;
        let now = now();
        let claims = serde_json::json!({
            "iss": self.0.issuer,
            "aud": audience,
            "sub": principal.subject,
            "iat": now,
            "nbf": now,
            "exp": now + ttl.as_secs(),
            "jti": random_id(),
            "roles": principal.roles,
            "scope": principal.scopes.join(" "),
            "amr": principal.amr,
            "auth_time": principal.auth_time,
        });
        Ok((claims, signing_key))
    }
}

fn random_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}
