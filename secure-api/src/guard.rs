//! The guard every `#[secure]` handler takes first, and the extractors that hand the verified
//! identity to the handler.

use crate::client;
use crate::limit::{Bucket, RateDecision, Subject};
use crate::policy::{Auth, Policy, PolicySpec, Rate, RateKey};
use crate::problem::Problem;
use crate::security::{Identity, Security, TokenRejection};
use axum::extract::{FromRef, FromRequestParts, MatchedPath, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, header};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// Enforces the policy `P` before anything else in the request is looked at.
///
/// `#[secure]` puts it first in the handler's arguments, so axum runs it before any other
/// extractor: rate limits, authentication and authorization are decided before the body is
/// read (REQUIREMENTS Z4). In order:
///
/// 1. a public handler: its rate limit, per client address (or global);
/// 2. a client whose failed authentications used up their budget: 429;
/// 3. the bearer token: missing → 401, invalid → 401 `invalid_token` (and one failure counted);
/// 4. the handler's rate limit (or the default one), per user, address or global;
/// 5. roles and scopes: 403 `insufficient_scope`.
///
/// Every outcome is an audit event on target `secure_api::audit`.
pub struct Guard<P>(PhantomData<fn() -> P>);

impl<P> std::fmt::Debug for Guard<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Guard")
    }
}

impl<P, S> FromRequestParts<S> for Guard<P>
where
    P: Policy,
    Security: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let security = Security::from_ref(state);
        security
            .admit(&P::SPEC, std::any::type_name::<P>(), parts)
            .await?;
        Ok(Self(PhantomData))
    }
}

/// What an audit event says about one request.
struct Audit<'a> {
    spec: &'a PolicySpec,
    parts: &'a Parts,
    client: IpAddr,
    subject: Option<&'a str>,
    counters: &'a Counters,
}

impl Audit<'_> {
    fn route(&self) -> &str {
        self.parts
            .extensions
            .get::<MatchedPath>()
            .map_or("", MatchedPath::as_str)
    }

    fn request_id(&self) -> &str {
        self.parts
            .headers
            .get(&REQUEST_ID)
            .filter(|id| is_request_id(id))
            .and_then(|id| id.to_str().ok())
            .unwrap_or("-")
    }

    fn allow(&self) {
        self.counters.count(self.spec.handler, "allow", "");
        tracing::info!(
            target: "secure_api::audit",
            outcome = "allow",
            handler = self.spec.handler,
            method = %self.parts.method,
            route = self.route(),
            subject = self.subject.unwrap_or("-"),
            client_ip = %self.client,
            request_id = self.request_id(),
        );
    }

    fn deny(&self, reason: &'static str) {
        self.event("deny", reason);
    }

    fn throttle(&self, reason: &'static str) {
        self.event("throttle", reason);
    }

    fn event(&self, outcome: &'static str, reason: &'static str) {
        self.counters.count(self.spec.handler, outcome, reason);
        tracing::warn!(
            target: "secure_api::audit",
            outcome,
            reason,
            handler = self.spec.handler,
            method = %self.parts.method,
            route = self.route(),
            subject = self.subject.unwrap_or("-"),
            client_ip = %self.client,
            request_id = self.request_id(),
        );
    }
}

/// The request id header, named in every audit event. The hardening layers take it from
/// the client when it is a short token, make one up otherwise, and echo it.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request id worth writing into the audit log: at most 64 of `[A-Za-z0-9._-]`. Anything
/// else is the client's text, which has no place in our logs.
pub(crate) fn is_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=64).contains(&bytes.len())
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(byte))
}

/// How many requests each handler allowed, denied and throttled, by reason (O2).
#[derive(Debug, Default)]
pub(crate) struct Counters(
    dashmap::DashMap<(&'static str, &'static str, &'static str), std::sync::atomic::AtomicU64>,
);

impl Counters {
    fn count(&self, handler: &'static str, outcome: &'static str, reason: &'static str) {
        use std::sync::atomic::Ordering;
        let key = (handler, outcome, reason);
        if let Some(counter) = self.0.get(&key) {
            counter.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.0
            .entry(key)
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Vec<Counter> {
        let mut counters: Vec<Counter> = self
            .0
            .iter()
            .map(|entry| {
                let (handler, outcome, reason) = *entry.key();
                Counter {
                    handler,
                    outcome,
                    reason,
                    count: entry.value().load(std::sync::atomic::Ordering::Relaxed),
                }
            })
            .collect();
        counters.sort_by_key(|counter| (counter.handler, counter.outcome, counter.reason));
        counters
    }
}

/// One counter: requests of `handler` with this outcome and reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Counter {
    /// The handler's function name.
    pub handler: &'static str,
    /// `allow`, `deny` or `throttle`.
    pub outcome: &'static str,
    /// Why (`missing_token`, `rate_limit`, …); empty for `allow`.
    pub reason: &'static str,
    /// How many so far.
    pub count: u64,
}

/// The bucket name of the budget for failed authentications, shared by all handlers.
const FAILED_AUTHENTICATION: &str = "secure_api::failed_authentication";

impl Security {
    /// Decides one request against `spec`; `bucket` keeps the handler's counts apart.
    async fn admit(
        &self,
        spec: &PolicySpec,
        bucket: &'static str,
        parts: &mut Parts,
    ) -> Result<(), Problem> {
        let Some(client) = client::client_address(parts, &self.inner.trusted_proxies) else {
            tracing::error!(
                target: "secure_api::audit",
                outcome = "deny",
                reason = "no_client_address",
                handler = spec.handler,
                "the client address is unknown: serve the router with \
                 `into_make_service_with_connect_info::<SocketAddr>()`"
            );
            return Err(Problem::internal());
        };
        parts.extensions.insert(ClientIp(client));
        let audit = Audit {
            spec,
            parts,
            client,
            subject: None,
            counters: &self.inner.counters,
        };

        if spec.auth == Auth::Public {
            let rate = spec.rate.unwrap_or(self.inner.default_rate);
            let subject = match rate.key {
                RateKey::Global => Subject::Global,
                RateKey::Ip | RateKey::User => Subject::ip(client),
            };
            self.limit(bucket, rate, &subject, &audit).await?;
            audit.allow();
            return Ok(());
        }

        let client_subject = Subject::ip(client);
        if self.is_blocked(&client_subject) {
            audit.throttle("failed_authentication_limit");
            let decision = self.failed_auth_check(&client_subject, &audit).await?;
            return Err(Problem::too_many_requests(&decision));
        }

        let identity = match bearer_token(parts) {
            Bearer::Missing => {
                audit.deny("missing_token");
                return Err(Problem::missing_token());
            }
            Bearer::Unusable => {
                self.reject_token("token_malformed", &client_subject, &audit)
                    .await?
            }
            Bearer::Token(token) => match self.verify_live(token).await {
                Ok(identity) => identity,
                Err(Rejected::Token(rejection)) => {
                    self.reject_token(rejection.as_str(), &client_subject, &audit)
                        .await?
                }
                Err(Rejected::StoreUnavailable(error)) => {
                    tracing::error!(target: "secure_api::audit", %error, "token store unavailable");
                    audit.deny("store_unavailable");
                    return Err(Problem::unavailable());
                }
            },
        };
        let audit = Audit {
            subject: Some(identity.subject()),
            ..audit
        };

        let rate = spec.rate.unwrap_or(self.inner.default_rate);
        let subject = match rate.key {
            RateKey::User => Subject::User(identity.subject().into()),
            RateKey::Ip => client_subject,
            RateKey::Global => Subject::Global,
        };
        self.limit(bucket, rate, &subject, &audit).await?;

        if !spec.roles.is_met_by(identity.roles()) {
            audit.deny("missing_role");
            return Err(Problem::insufficient_scope());
        }
        if !spec.scopes.is_met_by(identity.scopes()) {
            audit.deny("missing_scope");
            return Err(Problem::insufficient_scope());
        }
        if let Some(step_up) = spec.mfa
            && !step_up.is_met_by(&identity)
        {
            audit.deny("step_up_required");
            return Err(Problem::step_up_required(step_up.max_age));
        }
        audit.allow();
        parts.extensions.insert(AuthUser(identity));
        Ok(())
    }

    /// Verifies a token and checks that it was not revoked.
    async fn verify_live(&self, token: &str) -> Result<Arc<Identity>, Rejected> {
        let identity = self.verify_cached(token).map_err(Rejected::Token)?;
        if let Some(jti) = identity.jti() {
            let revoked = self
                .inner
                .token_store
                .is_revoked(jti, crate::tokens::now())
                .await
                .map_err(Rejected::StoreUnavailable)?;
            if revoked {
                return Err(Rejected::Token(TokenRejection::Revoked));
            }
        }
        Ok(identity)
    }

    /// Takes one request from a budget; denies on exhaustion or when the store is down.
    async fn limit(
        &self,
        name: &'static str,
        rate: Rate,
        subject: &Subject,
        audit: &Audit<'_>,
    ) -> Result<(), Problem> {
        let bucket = Bucket { name, rate };
        match self.inner.store.check(&bucket, subject).await {
            Ok(decision) if decision.allowed => Ok(()),
            Ok(decision) => {
                audit.throttle("rate_limit");
                Err(Problem::too_many_requests(&decision))
            }
            Err(error) if audit.spec.limit_fail_open => {
                tracing::error!(target: "secure_api::audit", %error, "rate-limit store unavailable");
                audit.event("allow", "limit_store_unavailable_fail_open");
                Ok(())
            }
            Err(error) => {
                tracing::error!(target: "secure_api::audit", %error, "rate-limit store unavailable");
                audit.deny("store_unavailable");
                Err(Problem::unavailable())
            }
        }
    }

    /// Counts a failed authentication against the client; past its budget the client is
    /// blocked until the budget refills, and answered 429 instead of 401.
    async fn reject_token(
        &self,
        reason: &'static str,
        client: &Subject,
        audit: &Audit<'_>,
    ) -> Result<Arc<Identity>, Problem> {
        audit.deny(reason);
        let decision = self.failed_auth_check(client, audit).await?;
        if decision.allowed {
            return Err(Problem::invalid_token());
        }
        self.inner
            .blocked
            .insert(client.clone(), Instant::now() + decision.retry_after);
        audit.throttle("failed_authentication_limit");
        Err(Problem::too_many_requests(&decision))
    }

    async fn failed_auth_check(
        &self,
        client: &Subject,
        audit: &Audit<'_>,
    ) -> Result<RateDecision, Problem> {
        let bucket = Bucket {
            name: FAILED_AUTHENTICATION,
            rate: self.inner.failed_auth_rate,
        };
        match self.inner.store.check(&bucket, client).await {
            Ok(decision) => Ok(decision),
            Err(error) => {
                tracing::error!(target: "secure_api::audit", %error, "rate-limit store unavailable");
                audit.deny("store_unavailable");
                Err(Problem::unavailable())
            }
        }
    }

    fn is_blocked(&self, client: &Subject) -> bool {
        let Some(until) = self.inner.blocked.get(client).map(|until| *until) else {
            return false;
        };
        if until > Instant::now() {
            return true;
        }
        self.inner
            .blocked
            .remove_if(client, |_, until| *until <= Instant::now());
        false
    }
}

enum Rejected {
    Token(TokenRejection),
    StoreUnavailable(crate::limit::StoreUnavailable),
}

enum Bearer<'a> {
    Missing,
    /// An `Authorization: Bearer` header that holds no usable token.
    Unusable,
    Token(&'a str),
}

/// Reads `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme is case-insensitive).
/// Another scheme counts as no bearer token; two `Authorization` headers are unusable.
fn bearer_token(parts: &Parts) -> Bearer<'_> {
    let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return match parts.headers.contains_key(header::AUTHORIZATION) {
            true => Bearer::Unusable,
            false => Bearer::Missing,
        };
    };
    let Some((scheme, token)) = value.to_str().ok().and_then(|value| value.split_once(' ')) else {
        return scheme_only(value);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Bearer::Missing;
    }
    let token = token.trim();
    if token.is_empty() || token.contains(' ') {
        Bearer::Unusable
    } else {
        Bearer::Token(token)
    }
}

fn scheme_only(value: &HeaderValue) -> Bearer<'static> {
    if value.as_bytes().eq_ignore_ascii_case(b"bearer") {
        Bearer::Unusable
    } else {
        Bearer::Missing
    }
}

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
pub struct AuthUser(Arc<Identity>);

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
                target: "secure_api::audit",
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
/// hop vouched for by the trusted proxies. Available in every `#[secure]` handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        parts.extensions.get::<ClientIp>().copied().ok_or_else(|| {
            tracing::error!(
                target: "secure_api::audit",
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
                target: "secure_api::audit",
                outcome = "deny",
                reason = TokenRejection::BadClaims.as_str(),
                subject = user.subject(),
                "the verified token lacks the claims this handler reads"
            );
            Problem::invalid_token()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(authorization: &[&str]) -> Parts {
        let mut request = Request::builder();
        for value in authorization {
            request = request.header(header::AUTHORIZATION, *value);
        }
        request.body(()).expect("request").into_parts().0
    }

    #[test]
    fn reads_bearer_tokens() {
        assert!(matches!(bearer_token(&parts(&[])), Bearer::Missing));
        assert!(matches!(
            bearer_token(&parts(&["Basic dXNlcjpwdw=="])),
            Bearer::Missing
        ));
        assert!(matches!(
            bearer_token(&parts(&["Bearer"])),
            Bearer::Unusable
        ));
        assert!(matches!(
            bearer_token(&parts(&["Bearer  "])),
            Bearer::Unusable
        ));
        assert!(matches!(
            bearer_token(&parts(&["Bearer a b"])),
            Bearer::Unusable
        ));
        assert!(matches!(
            bearer_token(&parts(&["Bearer a", "Bearer b"])),
            Bearer::Unusable
        ));
        assert!(matches!(
            bearer_token(&parts(&["bEaReR abc.def.ghi"])),
            Bearer::Token("abc.def.ghi")
        ));
    }
}
