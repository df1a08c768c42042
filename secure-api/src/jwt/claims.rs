//! `ClaimProfile`: where an identity provider writes roles and scopes, how its tokens are bound
//! to this API, and which `acr` values count as a second factor.

use super::claim_path::{ClaimPath, Shape, names};
use super::compact::{Claim, Claims};
use super::identity::{Identity, TokenRejection};
use crate::error::ConfigError;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// Where the roles and scopes of a token are read, how a token is bound to this API, and
/// which `acr` values count as a second factor — the shape of one identity provider's access
/// tokens. [`SecurityBuilder::claims`](crate::SecurityBuilder::claims) sets it
/// (`SECURE_API_CLAIMS_PROFILE` and its companions in [`Security::from_env`](crate::Security::from_env)).
///
/// | profile | roles from | scopes from | bound by |
/// |---|---|---|---|
/// | [`standard`](Self::standard) (default) | `roles` | `scope` | `aud` |
/// | [`keycloak`](Self::keycloak) | `realm_access.roles`, `resource_access.<client>.roles` | `scope` | `aud` |
/// | [`auth0`](Self::auth0) | none until named ([`roles_claim`](Self::roles_claim)) | `permissions` | `aud` |
/// | [`cognito`](Self::cognito) | `cognito:groups` | `scope` | `client_id` |
/// | [`okta`](Self::okta) | `groups` | `scp` | `aud` |
/// | [`entra`](Self::entra) | `roles` | `scp` | `aud` |
///
/// **Claim paths** are dotted: `realm_access.roles` is the key `roles` of the object
/// `realm_access`. A key that contains a dot is written in double quotes:
/// `"https://example.com/roles"` or `resource_access."my.api".roles`; colons need nothing
/// (`cognito:groups`). Roles must be arrays of strings — a role name may contain a space
/// ("Domain Admins"), so a string is never split into roles. Scopes may be an array of
/// strings or one space-delimited string (RFC 6749 §3.3: a scope holds no space). The names
/// found at every path of a list are united. A path that leads nowhere gives nothing; a claim
/// of another type on the way makes the token invalid (`TokenRejection::BadClaims`).
///
/// **Binding.** By default a token must name the configured audience in `aud`. Identity
/// providers that write no `aud` into access tokens (Amazon Cognito) bind them to a client
/// instead: [`bind_client_ids`](Self::bind_client_ids) is the explicit opt-in that accepts a
/// token whose `client_id` is one of the given ones. An audience configured as well is then
/// still required: tokens must satisfy both. `Security` is never built with neither.
///
/// **Second factor.** `#[secure(mfa)]` accepts a token whose `amr` names a second factor
/// ([`SECOND_FACTORS`](crate::policy::SECOND_FACTORS)), or, with
/// [`second_factor_acr`](Self::second_factor_acr), whose `acr` is one of the given values
/// (`mfa = "15m"` still needs `auth_time`).
///
/// ```
/// use secure_api::jwt::ClaimProfile;
///
/// let keycloak = ClaimProfile::keycloak("notes-api").second_factor_acr(["gold"]);
/// let auth0 = ClaimProfile::auth0().roles_claim("https://notes.example.com/roles");
/// let cognito = ClaimProfile::cognito(["6jd3v0m9ogm0b4c1qgbtmfcv4j"]);
/// let custom = ClaimProfile::standard().roles_from(["app.roles", "\"https://example.com/groups\""]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimProfile {
    name: &'static str,
    roles: Vec<ClaimPath>,
    scopes: Vec<ClaimPath>,
    /// `None`: bound by `aud`. Otherwise the `client_id` values accepted.
    client_ids: Option<Vec<String>>,
    second_factor_acr: Vec<String>,
    /// Paths given to a builder method that do not parse; `SecurityBuilder::build` reports
    /// the first.
    invalid: Vec<String>,
}

impl Default for ClaimProfile {
    fn default() -> Self {
        Self::standard()
    }
}

impl ClaimProfile {
    fn new(name: &'static str, roles: &[&str], scopes: &[&str]) -> Self {
        let keys = |names: &[&str]| names.iter().map(|name| ClaimPath::key(*name)).collect();
        Self {
            name,
            roles: keys(roles),
            scopes: keys(scopes),
            client_ids: None,
            second_factor_acr: Vec::new(),
            invalid: Vec::new(),
        }
    }

    /// Roles from the `roles` array, scopes from the `scope` string (RFC 9068, and the tokens
    /// this crate issues); bound by `aud`. The default.
    pub fn standard() -> Self {
        Self::new("standard", &["roles"], &["scope"])
    }

    /// Keycloak: realm roles (`realm_access.roles`) and the roles of the client `client_id`
    /// (`resource_access.<client_id>.roles`), united; scopes from `scope`; bound by `aud`
    /// (add an audience mapper to the client). A realm role and a client role of the same name
    /// are the same role here.
    pub fn keycloak(client_id: impl Into<String>) -> Self {
        let mut profile = Self::keycloak_realm();
        profile.roles.push(ClaimPath::from_keys([
            "resource_access".into(),
            client_id.into(),
            "roles".into(),
        ]));
        profile
    }

    /// Keycloak realm roles only (`SECURE_API_CLAIMS_PROFILE=keycloak` without
    /// `SECURE_API_KEYCLOAK_CLIENT`).
    pub(crate) fn keycloak_realm() -> Self {
        let mut profile = Self::new("keycloak", &[], &["scope"]);
        profile.roles.push(ClaimPath::from_keys([
            "realm_access".into(),
            "roles".into(),
        ]));
        profile
    }

    /// Auth0: scopes from the `permissions` array, which Auth0 writes when the API enables
    /// RBAC and "Add Permissions in the Access Token". Its `scope` is not read: without RBAC,
    /// Auth0 grants any scope of the API that a client asks for. Auth0 puts no roles in access
    /// tokens; an Action can add them under a namespaced claim, which
    /// [`roles_claim`](Self::roles_claim) names. Bound by `aud`.
    pub fn auth0() -> Self {
        Self::new("auth0", &[], &["permissions"])
    }

    /// Amazon Cognito: roles from the `cognito:groups` array, scopes from `scope`. Cognito
    /// access tokens carry no `aud`, so they are bound by `client_id`, which must be one of
    /// `client_ids` (the app clients of the user pool allowed to call this API); ID tokens,
    /// which have no `client_id`, are refused.
    pub fn cognito<I>(client_ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self::new("cognito", &["cognito:groups"], &["scope"]).bind_client_ids(client_ids)
    }

    /// Okta: scopes from `scp` (an array), roles from `groups` — the claim Okta's "groups
    /// claim" adds to access tokens of a custom authorization server; there is none by
    /// default. Bound by `aud`.
    pub fn okta() -> Self {
        Self::new("okta", &["groups"], &["scp"])
    }

    /// Microsoft Entra ID: scopes from `scp` (a space-delimited string, delegated
    /// permissions), roles from `roles` (app roles, also the application permissions of
    /// client-credential tokens). Bound by `aud`: the application ID URI or client id of the
    /// API, as its tokens carry it.
    pub fn entra() -> Self {
        Self::new("entra", &["roles"], &["scp"])
    }

    /// Reads roles from these claim paths (dotted, see above) instead of the profile's.
    pub fn roles_from<I>(mut self, paths: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.roles = self.parse_all(paths);
        self
    }

    /// Reads scopes from these claim paths instead of the profile's.
    pub fn scopes_from<I>(mut self, paths: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.scopes = self.parse_all(paths);
        self
    }

    /// Also reads roles from the top-level claim `name`, taken literally: dots and all, as in
    /// Auth0's namespaced claims (`https://example.com/roles`).
    pub fn roles_claim(mut self, name: impl Into<String>) -> Self {
        self.roles.push(ClaimPath::key(name));
        self
    }

    /// Also reads scopes from the top-level claim `name`, taken literally.
    pub fn scopes_claim(mut self, name: impl Into<String>) -> Self {
        self.scopes.push(ClaimPath::key(name));
        self
    }

    /// Binds tokens to this API by `client_id` instead of `aud`: a token is accepted only if
    /// its `client_id` is one of `client_ids` (and its `aud` names the audience, if one is
    /// configured too). For identity providers whose access tokens carry no `aud`.
    pub fn bind_client_ids<I>(mut self, client_ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.client_ids = Some(client_ids.into_iter().map(Into::into).collect());
        self
    }

    /// `acr` values that `#[secure(mfa)]` accepts as a second factor, besides the `amr`
    /// methods of [`SECOND_FACTORS`](crate::policy::SECOND_FACTORS): the levels the identity
    /// provider assigns only after a second factor (e.g. Keycloak's step-up levels).
    pub fn second_factor_acr<I>(mut self, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.second_factor_acr = values.into_iter().map(Into::into).collect();
        self
    }

    /// Replaces the paths read for roles (`SECURE_API_ROLES_CLAIMS`).
    pub(crate) fn with_role_paths(mut self, paths: Vec<ClaimPath>) -> Self {
        self.roles = paths;
        self
    }

    /// Replaces the paths read for scopes (`SECURE_API_SCOPES_CLAIMS`).
    pub(crate) fn with_scope_paths(mut self, paths: Vec<ClaimPath>) -> Self {
        self.scopes = paths;
        self
    }

    fn parse_all<I>(&mut self, paths: I) -> Vec<ClaimPath>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut parsed = Vec::new();
        for path in paths {
            match ClaimPath::parse(path.as_ref()) {
                Ok(path) => parsed.push(path),
                Err(reason) => self.invalid.push(reason),
            }
        }
        parsed
    }

    /// The profile's name: `standard`, `keycloak`, `auth0`, `cognito`, `okta` or `entra`.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// The paths read for roles, as written.
    pub(crate) fn role_paths(&self) -> Vec<String> {
        self.roles.iter().map(ToString::to_string).collect()
    }

    /// The paths read for scopes, as written.
    pub(crate) fn scope_paths(&self) -> Vec<String> {
        self.scopes.iter().map(ToString::to_string).collect()
    }

    /// The `client_id` values accepted, when tokens are bound by client id.
    pub(crate) fn client_ids(&self) -> Option<&[String]> {
        self.client_ids.as_deref()
    }

    /// The `acr` values accepted as a second factor.
    pub(crate) fn acr_values(&self) -> &[String] {
        &self.second_factor_acr
    }

    /// Refuses a profile that cannot be enforced: a path that does not parse, no binding at
    /// all (no audience and no client ids), an empty client id or `acr` value.
    pub(crate) fn check(&self, audience: Option<&str>) -> Result<(), ConfigError> {
        let empty_key = self
            .roles
            .iter()
            .chain(&self.scopes)
            .find_map(ClaimPath::empty_key);
        if let Some(reason) = self.invalid.first().cloned().or(empty_key) {
            return Err(ConfigError::invalid("claim path", reason));
        }
        match (&self.client_ids, audience) {
            (None, None) => Err(ConfigError::Missing(
                "audience (SECURE_API_AUDIENCE), or the client ids that bind tokens instead \
                 (SECURE_API_CLIENT_IDS),"
                    .into(),
            )),
            (_, Some("")) => Err(ConfigError::invalid("audience", "it is empty")),
            (Some(ids), _) if ids.is_empty() => Err(ConfigError::invalid(
                "client ids",
                "an empty allow-list accepts no token; name the client ids",
            )),
            (Some(ids), _) if ids.iter().any(String::is_empty) => {
                Err(ConfigError::invalid("client ids", "a client id is empty"))
            }
            _ if self.second_factor_acr.iter().any(String::is_empty) => Err(ConfigError::invalid(
                "second-factor acr values",
                "a value is empty",
            )),
            _ => Ok(()),
        }
    }

    /// The identity of a verified token: its roles and scopes read at the profile's paths,
    /// its `client_id` checked if tokens are bound by it, its `acr` if it may show a second
    /// factor. The full claim map is parsed only for claims outside [`Claims`].
    pub(super) fn identity(
        &self,
        claims: &Claims<'_>,
        expires_at: u64,
        payload: &str,
    ) -> Result<Identity, TokenRejection> {
        let identity = Identity::from_claims(claims, expires_at, payload)?;
        let claim_at = |path: &ClaimPath| match path.known(claims) {
            Some(claim) => Ok(Some(Cow::Borrowed(claim))),
            None => Ok(path
                .find(identity.claims())?
                .map(|value| Cow::Owned(Claim::of(value)))),
        };
        if let Some(client_ids) = &self.client_ids {
            match identity.claims().get("client_id") {
                Some(Value::String(client_id)) if client_ids.contains(client_id) => {}
                None | Some(Value::Null | Value::String(_)) => {
                    return Err(TokenRejection::WrongAudience);
                }
                Some(_) => return Err(TokenRejection::BadClaims),
            }
        }
        let second_factor_acr = match self.second_factor_acr.is_empty() {
            true => false,
            false => match identity.claims().get("acr") {
                None | Some(Value::Null) => false,
                Some(Value::String(acr)) => self.second_factor_acr.contains(acr),
                Some(_) => return Err(TokenRejection::BadClaims),
            },
        };
        let mut roles = Vec::new();
        for path in &self.roles {
            if let Some(claim) = claim_at(path)? {
                names(&claim, Shape::Array, &mut roles)?;
            }
        }
        let mut scopes = Vec::new();
        for path in &self.scopes {
            if let Some(claim) = claim_at(path)? {
                names(&claim, Shape::ArrayOrSpaced, &mut scopes)?;
            }
        }
        Ok(identity.with_grants(roles, scopes, second_factor_acr))
    }
}

/// `keycloak: roles from realm_access.roles, resource_access.notes-api.roles; scopes from
/// scope; bound by aud; second factor by amr, or acr gold`
impl fmt::Display for ClaimProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |names: Vec<String>| match names.is_empty() {
            true => "nothing".to_owned(),
            false => names.join(", "),
        };
        write!(
            f,
            "{}: roles from {}; scopes from {}; bound by ",
            self.name,
            list(self.role_paths()),
            list(self.scope_paths())
        )?;
        match &self.client_ids {
            None => f.write_str("aud")?,
            Some(ids) => write!(f, "client_id {} (and aud, if configured)", ids.join(", "))?,
        }
        f.write_str("; second factor by amr")?;
        match self.second_factor_acr.is_empty() {
            true => Ok(()),
            false => write!(f, ", or acr {}", self.second_factor_acr.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests;
