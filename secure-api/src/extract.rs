//! The extractors a `#[secure]` handler takes to learn who is calling: [`AuthUser`],
//! [`ClientIp`] and [`Claims`], read from what the guard put in the request's extensions — no
//! second verification.

use crate::audit;
use crate::jwt::{Identity, TokenRejection};
use crate::problem::Problem;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::net::IpAddr;
use std::sync::Arc;

/// The authenticated caller of a `#[secure]` handler: subject, roles, scopes and every claim
/// of the verified token. Take it as an argument to make object-level decisions (OWASP API1).
///
/// ```
/// use secure_api::{secure, AuthUser};
///
/// secure_api::roles! { user }
///
/// #[secure(role = "user", rate = "60/1m")]
/// async fn my_notes(user: AuthUser) -> String {
///     format!("notes of {}", user.subject())
/// }
/// # fn main() {}
/// ```
#[derive(Debug, Clone)]
pub struct AuthUser(pub(crate) Arc<Identity>);

impl std::ops::Deref for AuthUser {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        parts.extensions.get::<AuthUser>().cloned().ok_or_else(|| {
            // Only a handler without an authenticating guard gets here: a programming error,
            // answered as one rather than as a credentials problem.
            tracing::error!(
                target: audit::TARGET,
                "AuthUser requested by a handler that no #[secure] guard authenticated"
            );
            Problem::internal()
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for AuthUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<AuthUser>().cloned())
    }
}

/// The client's address as the guard determined it: the socket peer, or the `X-Forwarded-For`
/// (or `Forwarded`) hop vouched for by the trusted proxies. Available in every `#[secure]` handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        parts.extensions.get::<ClientIp>().copied().ok_or_else(|| {
            tracing::error!(
                target: audit::TARGET,
                "ClientIp requested by a handler that no #[secure] guard admitted"
            );
            Problem::internal()
        })
    }
}

/// The verified token's claims deserialized into the application's own type.
///
/// ```
/// use secure_api::{secure, Claims};
///
/// #[derive(serde::Deserialize)]
/// struct TenantClaims { tenant: String }
///
/// #[secure(rate = "60/1m")]
/// async fn tenant(Claims(claims): Claims<TenantClaims>) -> String {
///     claims.tenant
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Claims<T>(pub T);

impl<T, S> FromRequestParts<S> for Claims<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let user = <AuthUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        let claims = serde_json::Value::Object(user.claims().clone());
        T::deserialize(claims).map(Claims).map_err(|_| {
            tracing::warn!(
                target: audit::TARGET,
                outcome = "deny",
                reason = TokenRejection::BadClaims.as_str(),
                subject = user.subject(),
                "the verified token lacks the claims this handler reads"
            );
            Problem::invalid_token()
        })
    }
}
