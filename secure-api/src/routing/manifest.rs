//! The security manifest: every route's policy, as a table for people and as JSON for
//! snapshot tests.

use crate::policy::{Auth, PolicySpec, Rate, RateKey, Requirement};
use axum::http::Method;
use serde::Serialize;
use std::fmt;

/// The security policy of every route of a [`SecureRouter`](super::SecureRouter): print it as a table, serialize it
/// as JSON, snapshot it in a test so that a change that weakens a route shows in review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// One entry per method and path, sorted by path then method.
    pub routes: Vec<RouteEntry>,
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
            auth: match spec.auth {
                Auth::Public => "public",
                Auth::Bearer => "bearer",
            },
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
fn rate_text(rate: &Rate) -> String {
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
        Self { routes }
    }

    /// The manifest as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// An aligned text table, one route a line.
impl fmt::Display for Manifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
