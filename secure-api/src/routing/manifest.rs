//! The security manifest: every route's policy, as a table for people and as JSON for
//! snapshot tests.

use crate::Security;
use crate::policy::{PolicySpec, Rate, RateKey, Requirement};
use axum::http::Method;
use serde::Serialize;
use std::fmt;

/// The security policy of every route of a [`SecureRouter`](super::SecureRouter): print it as a table, serialize it
/// as JSON, snapshot it in a test so that a change that weakens a route shows in review.
///
/// The routes are code; the claims that roles and scopes are read from are configuration.
/// [`with_claims`](Self::with_claims) adds the latter, from the `Security` in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// Where the configuration reads roles and scopes, when given by
    /// [`with_claims`](Self::with_claims); absent from the JSON otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<ClaimsEntry>,
    /// One entry per method and path, sorted by path then method.
    pub routes: Vec<RouteEntry>,
}

/// The claim profile in force ([`ClaimProfile`](crate::jwt::ClaimProfile)): where the roles
/// and scopes that routes require are read, and how tokens are bound to this API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimsEntry {
    /// `standard`, `keycloak`, `auth0`, `cognito`, `okta` or `entra`.
    pub profile: &'static str,
    /// The claim paths roles are read from, as written (`realm_access.roles`).
    pub roles: Vec<String>,
    /// The claim paths scopes are read from.
    pub scopes: Vec<String>,
    /// The audience tokens must name in `aud`, if any.
    pub audience: Option<String>,
    /// The `client_id` values accepted, when tokens are bound by client id.
    pub client_ids: Option<Vec<String>>,
    /// The `acr` values that count as a second factor besides `amr`.
    pub mfa_acr: Vec<String>,
}

impl ClaimsEntry {
    fn new(security: &Security) -> Self {
        let profile = security.claims();
        Self {
            profile: profile.name(),
            roles: profile.role_paths(),
            scopes: profile.scope_paths(),
            audience: security.audience().map(str::to_owned),
            client_ids: profile.client_ids().map(<[String]>::to_vec),
            mfa_acr: profile.acr_values().to_vec(),
        }
    }
}

/// `claims: keycloak; roles from realm_access.roles, resource_access.notes-api.roles; scopes
/// from scope; aud notes-api; mfa acr gold`
impl fmt::Display for ClaimsEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |names: &[String]| match names.is_empty() {
            true => "-".to_owned(),
            false => names.join(", "),
        };
        write!(
            f,
            "claims: {}; roles from {}; scopes from {}",
            self.profile,
            list(&self.roles),
            list(&self.scopes)
        )?;
        if let Some(audience) = &self.audience {
            write!(f, "; aud {audience}")?;
        }
        if let Some(client_ids) = &self.client_ids {
            write!(f, "; client_id {}", list(client_ids))?;
        }
        if !self.mfa_acr.is_empty() {
            write!(f, "; mfa acr {}", list(&self.mfa_acr))?;
        }
        Ok(())
    }
}

/// One route's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteEntry {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path as mounted.
    pub path: String,
    /// The name of the function mounted.
    pub handler: &'static str,
    /// The function the policy was generated for, when that is another one: a function
    /// that took another handler's guard instead of a `#[secure]` of its own.
    pub policy_of: Option<&'static str>,
    /// `bearer` or `public`.
    pub auth: &'static str,
    /// Required roles: `{"all_of": [..]}`, `{"any_of": [..]}` or `null`.
    pub roles: Option<NameRequirement>,
    /// Required scopes, in the same form.
    pub scopes: Option<NameRequirement>,
    /// `"100/15m"`, or `"default"` for the configured default.
    pub rate: String,
    /// Whether the rate limit is skipped while its store is unreachable.
    pub limit_fail_open: bool,
    /// What the rate counts by.
    pub rate_key: &'static str,
    /// Whether inputs are validated (every other input is admissible by its type).
    pub validated: bool,
    /// Why the handler takes its inputs unvalidated, if it does.
    pub skip_validation: Option<&'static str>,
    /// A second factor: `null`, `"any age"`, or its maximum age such as `"15m"`.
    pub mfa: Option<String>,
}

/// Required names and how many of them are needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameRequirement {
    /// Every one of them.
    AllOf(Vec<&'static str>),
    /// At least one of them.
    AnyOf(Vec<&'static str>),
}

impl NameRequirement {
    fn from(requirement: &Requirement) -> Option<Self> {
        match requirement {
            Requirement::Nothing => None,
            Requirement::AllOf(_) => Some(Self::AllOf(requirement.names().collect())),
            Requirement::AnyOf(_) => Some(Self::AnyOf(requirement.names().collect())),
        }
    }
}

impl fmt::Display for NameRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (names, separator) = match self {
            Self::AllOf(names) => (names, " & "),
            Self::AnyOf(names) => (names, " | "),
        };
        f.write_str(&names.join(separator))
    }
}

impl RouteEntry {
    /// The same route mounted under `prefix`; axum serves a nested `/` at the prefix itself.
    pub(super) fn nested_under(self, prefix: &str) -> Self {
        Self {
            path: match self.path.as_str() {
                "/" => prefix.to_owned(),
                path => format!("{prefix}{path}"),
            },
            ..self
        }
    }

    pub(super) fn new(
        method: &Method,
        path: &str,
        spec: &PolicySpec,
        function: &'static str,
    ) -> Self {
        let generated_for = spec.handler.trim_start_matches("r#");
        Self {
            method: method.to_string(),
            path: path.to_owned(),
            handler: function,
            policy_of: (function.trim_start_matches("r#") != generated_for).then_some(spec.handler),
            auth: spec.auth.as_str(),
            roles: NameRequirement::from(&spec.roles),
            scopes: NameRequirement::from(&spec.scopes),
            rate: spec
                .rate
                .map_or_else(|| "default".to_owned(), |rate| rate_text(&rate)),
            limit_fail_open: spec.limit_fail_open,
            rate_key: spec.rate.map_or(RateKey::User, |rate| rate.key).as_str(),
            validated: spec.validated,
            skip_validation: spec.skip_validation,
            mfa: spec.mfa.map(|step_up| {
                step_up
                    .max_age
                    .map_or_else(|| "any age".to_owned(), |age| duration_text(age.as_secs()))
            }),
        }
    }
}

/// `100/15m`, as the attribute says it.
pub(super) fn rate_text(rate: &Rate) -> String {
    format!("{}/{}", rate.max, duration_text(rate.window.as_secs()))
}

/// `15m`: the largest unit that divides the duration.
fn duration_text(secs: u64) -> String {
    let (amount, unit) = [(86_400, "d"), (3_600, "h"), (60, "m")]
        .into_iter()
        .find(|(unit_secs, _)| secs.is_multiple_of(*unit_secs))
        .map_or((secs, "s"), |(unit_secs, unit)| (secs / unit_secs, unit));
    format!("{amount}{unit}")
}

impl Manifest {
    /// The manifest of `routes`, sorted by path then method.
    pub(super) fn new(mut routes: Vec<RouteEntry>) -> Self {
        routes.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
        Self {
            claims: None,
            routes,
        }
    }

    /// The manifest with the claim profile of `security`: which claims the roles and scopes
    /// of the table are read from, and how tokens are bound to this API. The text shows it on
    /// a line above the table, the JSON as `claims`.
    pub fn with_claims(self, security: &Security) -> Self {
        Self {
            claims: Some(ClaimsEntry::new(security)),
            ..self
        }
    }

    /// The manifest as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// An aligned text table, one route a line, under the claims line if there is one.
impl fmt::Display for Manifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(claims) = &self.claims {
            writeln!(f, "{claims}\n")?;
        }
        let none = || "-".to_owned();
        let mut rows = vec![
            [
                "METHOD",
                "PATH",
                "HANDLER",
                "AUTH",
                "ROLES",
                "SCOPES",
                "MFA",
                "RATE",
                "KEY",
                "VALIDATED",
            ]
            .map(str::to_owned),
        ];
        rows.extend(self.routes.iter().map(|route| {
            [
                route.method.clone(),
                route.path.clone(),
                match route.policy_of {
                    Some(policy_of) => format!("{} (policy of {policy_of})", route.handler),
                    None => route.handler.to_owned(),
                },
                route.auth.to_owned(),
                route.roles.as_ref().map_or_else(none, ToString::to_string),
                route.scopes.as_ref().map_or_else(none, ToString::to_string),
                route.mfa.clone().unwrap_or_else(none),
                match route.limit_fail_open {
                    true => format!("{} (fail-open)", route.rate),
                    false => route.rate.clone(),
                },
                route.rate_key.to_owned(),
                match (route.validated, route.skip_validation) {
                    (_, Some(_)) => "skipped",
                    (true, None) => "yes",
                    (false, None) => "by type",
                }
                .to_owned(),
            ]
        }));
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|column| rows.iter().map(|row| row[column].len()).max().unwrap_or(0))
            .collect();
        for row in &rows {
            let line = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:width$}"))
                .collect::<Vec<_>>()
                .join("  ");
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_claims_in_force_head_the_manifest() {
        let security = Security::builder()
            .issuer("i")
            .audience("notes-api")
            .ephemeral_key()
            .claims(crate::jwt::ClaimProfile::keycloak("notes-api").second_factor_acr(["gold"]))
            .build()
            .expect("config");
        let bare = Manifest::new(Vec::new());
        assert!(!bare.to_json().contains("claims"), "{}", bare.to_json());
        let manifest = bare.with_claims(&security);
        assert_eq!(
            manifest.to_string().lines().next(),
            Some(
                "claims: keycloak; roles from realm_access.roles, resource_access.notes-api.roles; \
                 scopes from scope; aud notes-api; mfa acr gold"
            )
        );
        let json: serde_json::Value = serde_json::from_str(&manifest.to_json()).expect("json");
        assert_eq!(
            json["claims"],
            serde_json::json!({
                "profile": "keycloak",
                "roles": ["realm_access.roles", "resource_access.notes-api.roles"],
                "scopes": ["scope"],
                "audience": "notes-api",
                "client_ids": null,
                "mfa_acr": ["gold"],
            })
        );
        let cognito = Security::builder()
            .issuer("i")
            .ephemeral_key()
            .claims(crate::jwt::ClaimProfile::cognito(["app-1", "app-2"]))
            .build()
            .expect("config");
        let line = Manifest::new(Vec::new()).with_claims(&cognito).to_string();
        assert!(
            line.starts_with(
                "claims: cognito; roles from cognito:groups; scopes from scope; client_id app-1, app-2\n"
            ),
            "{line}"
        );
    }

    #[test]
    fn rates_read_as_written() {
        let rate = |max, secs| Rate {
            max,
            window: Duration::from_secs(secs),
            key: RateKey::User,
        };
        assert_eq!(rate_text(&rate(100, 900)), "100/15m");
        assert_eq!(rate_text(&rate(10, 1)), "10/1s");
        assert_eq!(rate_text(&rate(5000, 86_400)), "5000/1d");
        assert_eq!(rate_text(&rate(7, 90)), "7/90s");
        assert_eq!(rate_text(&rate(7, 7_200)), "7/2h");
    }
}
