//! The guard every `#[secure]` handler takes first: the admission pipeline that decides a
//! request — client address, credentials, limits, roles — before anything else reads it.

mod credentials;

use crate::apikey::KeyRejection;
use crate::audit::{self, Audit};
use crate::client;
use crate::extract::{AuthUser, ClientIp};
use crate::jwt::{Identity, TokenRejection};
use crate::limit::{self, Bucket, RateDecision, Subject};
use crate::policy::{Auth, Policy, PolicySpec, Rate, RateKey};
use crate::problem::Problem;
use crate::security::{Inner, Security};
use crate::store::StoreUnavailable;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use credentials::Credential;
use std::marker::PhantomData;
use std::sync::Arc;

/// Enforces the policy `P` before anything else in the request is looked at.
///
/// `#[secure]` puts it first in the handler's arguments, so axum runs it before any other
/// extractor: rate limits, authentication and authorization are decided before the body is
/// read (REQUIREMENTS Z4). In order:
///
/// 1. a public handler: its rate limit, per client address (or global);
/// 2. the credentials the handler accepts — a bearer token, an API key, or either: missing →
///    401; malformed → 400 (`invalid_request` for a bearer header); invalid → 401
///    (`invalid_token`, or `invalid_key`), each counted against the client address's
///    failed-credential budget and answered 429 once it is used up (valid credentials from
///    that address still pass); an API key in the URL → 400;
/// 3. the handler's rate limit (or the default one), per user, address or global;
/// 4. roles and scopes: 403 `insufficient_scope`.
///
/// Every outcome is an audit event on target [`audit::TARGET`].
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
        Admission {
            security: security.parts(),
            spec: &P::SPEC,
            bucket: std::any::type_name::<P>(),
        }
        .admit(parts)
        .await?;
        Ok(Self(PhantomData))
    }
}

/// The bucket name of the budget for failed authentications, shared by all handlers.
const FAILED_AUTHENTICATION: &str = "secure_api::failed_authentication";

/// One request's way through the guard.
struct Admission<'a> {
    security: &'a Inner,
    spec: &'a PolicySpec,
    /// Keeps the handler's rate-limit counts apart from every other handler's.
    bucket: &'static str,
}

impl Admission<'_> {
    async fn admit(&self, parts: &mut Parts) -> Result<(), Problem> {
        let spec = self.spec;
        let Some(client) = client::client_address(parts, &self.security.trusted_proxies) else {
            self.security
                .trusted_proxies
                .note_missing_client_address(spec.handler);
            return Err(Problem::misconfigured());
        };
        parts.extensions.insert(ClientIp(client));
        let audit = Audit {
            spec,
            parts,
            client,
            subject: None,
            api_key: None,
            counters: &self.security.counters,
        };
        let limits = &self.security.limits;

        if spec.auth == Auth::Public {
            let rate = spec.rate.unwrap_or(limits.default_rate);
            let subject = match rate.key {
                RateKey::Global => Subject::Global,
                RateKey::Ip | RateKey::User | RateKey::Key => Subject::ip(client),
            };
            let decision = self.limit(self.bucket, rate, &subject, &audit).await?;
            report(decision);
            audit.allow();
            return Ok(());
        }

        // A client whose failed credentials used up their budget is still let in with valid
        // ones: the budget only turns its next failure into 429, so that nobody can lock the
        // neighbours behind a shared address out.
        let client_subject = Subject::ip(client);
        let identity = self.authenticate(parts, &client_subject, &audit).await?;
        let audit = Audit {
            subject: Some(identity.subject()),
            api_key: identity.api_key_id(),
            ..audit
        };

        let rate = spec.rate.unwrap_or(limits.default_rate);
        let subject = match (rate.key, identity.api_key_id()) {
            (RateKey::Key, Some(key)) => Subject::ApiKey(key.into()),
            (RateKey::User | RateKey::Key, _) => Subject::User(identity.subject().into()),
            (RateKey::Ip, _) => client_subject,
            (RateKey::Global, _) => Subject::Global,
        };
        let decision = self.limit(self.bucket, rate, &subject, &audit).await?;
        report(decision);

        let not_permitted = || match identity.api_key_id() {
            Some(_) => Problem::api_key_not_permitted(),
            None => Problem::insufficient_scope(),
        };
        if !spec.roles.is_met_by(identity.roles()) {
            audit.deny("missing_role");
            return Err(not_permitted());
        }
        if !spec.scopes.is_met_by(identity.scopes()) {
            audit.deny("missing_scope");
            return Err(not_permitted());
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

    /// Reads and checks the credentials the handler accepts: the identity they prove, or the
    /// problem to answer (each failure counted against the client address).
    async fn authenticate(
        &self,
        parts: &Parts,
        client: &Subject,
        audit: &Audit<'_>,
    ) -> Result<Arc<Identity>, Problem> {
        let auth = self.spec.auth;
        let api_keys = &self.security.api_keys;
        if auth.accepts_api_key() && credentials::api_key_in_url(parts, api_keys) {
            audit.deny("api_key_in_url");
            return Err(Problem::api_key_in_url());
        }
        let credential = match credentials::read(parts, auth) {
            Credential::Missing if auth == Auth::Bearer => {
                audit.deny("missing_token");
                return Err(Problem::missing_token());
            }
            Credential::Missing => {
                audit.deny("missing_credentials");
                return Err(Problem::missing_credentials(auth.accepts_bearer()));
            }
            Credential::Unusable(failure) => {
                return Err(self.reject(failure, client, audit).await);
            }
            Credential::Bearer(token) => token,
            Credential::ApiKey(key) => return self.verify_api_key(key, client, audit).await,
        };
        match self.verify_live(credential).await {
            Ok(identity) => Ok(identity),
            Err(Rejected::Token(TokenRejection::NoKeys)) => {
                tracing::error!(target: audit::TARGET, "no key set to verify tokens with");
                audit.deny(TokenRejection::NoKeys.as_str());
                Err(Problem::unavailable())
            }
            Err(Rejected::Token(rejection)) => {
                Err(self.reject(Failure::Token(rejection), client, audit).await)
            }
            Err(Rejected::StoreUnavailable(error)) => Err(store_down("token", &error, audit)),
        }
    }

    /// Checks an API key against the store; the audit events of a refused key name its id
    /// when the key is well-formed (the id is not secret), never the key.
    async fn verify_api_key(
        &self,
        key: &str,
        client: &Subject,
        audit: &Audit<'_>,
    ) -> Result<Arc<Identity>, Problem> {
        let api_keys = &self.security.api_keys;
        match api_keys.verify(key).await {
            Ok(info) => Ok(Arc::new(Identity::for_api_key(info))),
            Err(KeyRejection::Store(error)) => Err(store_down("API key", &error, audit)),
            Err(rejection) => {
                let audit = Audit {
                    api_key: api_keys.key_id(key),
                    ..*audit
                };
                Err(self
                    .reject(Failure::ApiKey(rejection), client, &audit)
                    .await)
            }
        }
    }

    /// Verifies a token and checks that it was not revoked. With keys fetched from a
    /// provider, a token naming a key the set lacks (or arriving before there is a set) makes
    /// the set be fetched again — bounded by the verifier — and is verified once more.
    async fn verify_live(&self, token: &str) -> Result<Arc<Identity>, Rejected> {
        let verifier = &self.security.verifier;
        let identity = match verifier.verify_cached(token) {
            Err(TokenRejection::UnknownKey | TokenRejection::NoKeys)
                if verifier.refetch_keys().await =>
            {
                verifier.verify_cached(token)
            }
            verified => verified,
        }
        .map_err(Rejected::Token)?;
        if let Some(jti) = identity.jti() {
            let revoked = self
                .security
                .issuer
                .store()
                .is_revoked(jti, crate::time::now())
                .await
                .map_err(Rejected::StoreUnavailable)?;
            if revoked {
                return Err(Rejected::Token(TokenRejection::Revoked));
            }
        }
        Ok(identity)
    }

    /// Takes one request from a budget; denies on exhaustion or when the store is down. The
    /// decision of an admitted request is `None` only when a store that is down was let
    /// through (`limit_fail_open`).
    async fn limit(
        &self,
        name: &'static str,
        rate: Rate,
        subject: &Subject,
        audit: &Audit<'_>,
    ) -> Result<Option<RateDecision>, Problem> {
        let bucket = Bucket { name, rate };
        match self.security.limits.check(&bucket, subject).await {
            Ok(decision) if decision.allowed => Ok(Some(decision)),
            Ok(decision) => {
                audit.throttle("rate_limit");
                Err(Problem::too_many_requests(&decision))
            }
            Err(error) if self.spec.limit_fail_open => {
                tracing::error!(target: audit::TARGET, %error, "rate-limit store unavailable");
                audit.event("allow", "limit_store_unavailable_fail_open");
                Ok(None)
            }
            Err(error) => Err(store_down("rate-limit", &error, audit)),
        }
    }

    /// Counts a failed authentication against the client address: 401 (or 400 for a
    /// malformed header) while its budget lasts, 429 once it is used up.
    async fn reject(&self, failure: Failure, client: &Subject, audit: &Audit<'_>) -> Problem {
        let problem = match failure {
            Failure::Malformed => {
                audit.deny("token_malformed");
                Problem::invalid_request()
            }
            Failure::Unusable => {
                audit.deny("credentials_malformed");
                Problem::unusable_credentials()
            }
            Failure::Token(rejection) => {
                audit.deny(rejection.as_str());
                Problem::invalid_token()
            }
            Failure::ApiKey(rejection) => {
                audit.deny(rejection.as_str());
                Problem::invalid_api_key(match rejection {
                    KeyRejection::Revoked => "The API key has been revoked.",
                    KeyRejection::Expired => "The API key has expired.",
                    _ => "The API key is not valid for this API.",
                })
            }
        };
        let limits = &self.security.limits;
        let bucket = Bucket {
            name: FAILED_AUTHENTICATION,
            rate: limits.failed_auth_rate,
        };
        match limits.check(&bucket, client).await {
            Ok(decision) if decision.allowed => problem,
            Ok(decision) => {
                audit.throttle("failed_authentication_limit");
                Problem::too_many_requests(&decision)
            }
            Err(error) => store_down("rate-limit", &error, audit),
        }
    }
}

/// A decision that needs a store it cannot reach — a limit, a revocation, an API key —
/// denies (fail closed), logged and audited.
fn store_down(store: &str, error: &StoreUnavailable, audit: &Audit<'_>) -> Problem {
    tracing::error!(target: audit::TARGET, %error, "{store} store unavailable");
    audit.deny("store_unavailable");
    Problem::unavailable()
}

/// Why credentials were refused.
pub(crate) enum Failure {
    /// An `Authorization: Bearer` header with no usable token in it.
    Malformed,
    /// Several `X-API-Key` headers, one that is not text, or a token and a key together.
    Unusable,
    Token(TokenRejection),
    ApiKey(KeyRejection),
}

/// Hands an admitted request's rate-limit decision to the response (see
/// [`limit::report`]), so that clients can pace themselves before a 429.
fn report(decision: Option<RateDecision>) {
    if let Some(decision) = decision {
        limit::report(decision);
    }
}

enum Rejected {
    Token(TokenRejection),
    StoreUnavailable(StoreUnavailable),
}
