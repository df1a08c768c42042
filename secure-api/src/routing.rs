//! Deny by default: a router that mounts only `#[secure]` handlers, knows every route's
//! policy, and answers unmatched requests with problems.
//!
//! ```
//! use secure_api::routing::{SecureRouter, get};
//! use secure_api::{Security, secure};
//!
//! secure_api::roles! { admin }
//!
//! #[secure(public, rate = "60/1m")]
//! async fn health() -> &'static str { "ok" }
//!
//! #[secure(role = "admin", rate = "10/1m")]
//! async fn purge() {}
//!
//! # fn main() {
//! let routes = SecureRouter::new()
//!     .route("/health", get(health))
//!     .route("/purge", secure_api::routing::post(purge));
//! println!("{}", routes.manifest());
//! # let security = Security::builder().issuer("i").audience("a").ephemeral_key().build().unwrap();
//! let app: axum::Router = routes.with_state(security);
//! # }
//! ```
//!
//! Mounting a handler without `#[secure]`, or a closure, does not compile. Plain
//! `axum::Router` keeps working for applications that want it.

use crate::guard::Guard;
use crate::policy::{Auth, Policy, PolicySpec, Rate, RateKey, Requirement};
use crate::problem::Problem;
use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;
use serde::Serialize;
use std::fmt;

/// A handler whose first argument is a [`Guard`]: what `#[secure]` produces.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be mounted on a `SecureRouter<{S}>`",
    label = "not a `#[secure]` handler for this router",
    note = "only `#[secure(...)]` handlers can be mounted: annotate the `async fn` with its \
            policy, e.g. `#[secure(role = \"admin\")]`; a closure cannot carry one, so make it \
            an `async fn`",
    note = "if the handler is annotated, the router's state must provide the security \
            configuration: `impl FromRef<YourState> for secure_api::Security`, or use \
            `Security` itself as the state"
)]
pub trait GuardedHandler<T, S>: Handler<T, S> {
    /// The handler's policy.
    const SPEC: PolicySpec;
}

macro_rules! guarded_handler {
    ($($extractor:ident),*) => {
        impl<F, M, P, S, $($extractor,)*> GuardedHandler<(M, Guard<P>, $($extractor,)*), S> for F
        where
            F: Handler<(M, Guard<P>, $($extractor,)*), S>,
            P: Policy,
        {
            const SPEC: PolicySpec = P::SPEC;
        }
    };
}
guarded_handler!();
guarded_handler!(T2);
guarded_handler!(T2, T3);
guarded_handler!(T2, T3, T4);
guarded_handler!(T2, T3, T4, T5);
guarded_handler!(T2, T3, T4, T5, T6);
guarded_handler!(T2, T3, T4, T5, T6, T7);
guarded_handler!(T2, T3, T4, T5, T6, T7, T8);
guarded_handler!(T2, T3, T4, T5, T6, T7, T8, T9);
guarded_handler!(T2, T3, T4, T5, T6, T7, T8, T9, T10);
guarded_handler!(T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
guarded_handler!(T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);
guarded_handler!(T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13);
guarded_handler!(T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14);
guarded_handler!(T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15);
guarded_handler!(
    T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15, T16
);

/// Guarded handlers by HTTP method, for one path: the secure counterpart of axum's
/// `MethodRouter`.
pub struct SecureMethodRouter<S = ()> {
    router: MethodRouter<S>,
    policies: Vec<(Method, PolicySpec)>,
}

macro_rules! method {
    ($($name:ident => $method:ident),* $(,)?) => {
        impl<S: Clone + Send + Sync + 'static> SecureMethodRouter<S> {
            $(
                #[doc = concat!("Routes `", stringify!($method), "` requests to a `#[secure]` handler.")]
                pub fn $name<H, T>(mut self, handler: H) -> Self
                where
                    H: GuardedHandler<T, S>,
                    T: 'static,
                {
                    self.policies.push((Method::$method, H::SPEC));
                    self.router = self.router.$name(handler);
                    self
                }
            )*
        }

        $(
            #[doc = concat!("Routes `", stringify!($method), "` requests to a `#[secure]` handler.")]
            pub fn $name<H, T, S>(handler: H) -> SecureMethodRouter<S>
            where
                H: GuardedHandler<T, S>,
                T: 'static,
                S: Clone + Send + Sync + 'static,
            {
                SecureMethodRouter {
                    router: MethodRouter::new(),
                    policies: Vec::new(),
                }
                .$name(handler)
            }
        )*
    };
}
method!(get => GET);
method!(post => POST);
method!(put => PUT);
method!(patch => PATCH);
method!(delete => DELETE);
method!(head => HEAD);
method!(options => OPTIONS);
method!(trace => TRACE);

/// A router that mounts only `#[secure]` handlers and keeps every route's policy, for the
/// [`Manifest`].
pub struct SecureRouter<S = ()> {
    router: Router<S>,
    routes: Vec<RouteEntry>,
}

impl<S: Clone + Send + Sync + 'static> Default for SecureRouter<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> SecureRouter<S> {
    /// An empty router.
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    /// Mounts guarded handlers at `path` (axum's path syntax, e.g. `/notes/{id}`).
    pub fn route(mut self, path: &str, methods: SecureMethodRouter<S>) -> Self {
        self.routes.extend(
            methods
                .policies
                .iter()
                .map(|(method, spec)| RouteEntry::new(method, path, spec)),
        );
        self.router = self.router.route(path, methods.router);
        self
    }

    /// Mounts `other`'s routes under `prefix`.
    pub fn nest(mut self, prefix: &str, other: SecureRouter<S>) -> Self {
        let prefix = prefix.trim_end_matches('/');
        self.routes
            .extend(other.routes.into_iter().map(|route| RouteEntry {
                // axum serves a nested `/` at the prefix itself.
                path: match route.path.as_str() {
                    "/" => prefix.to_owned(),
                    path => format!("{prefix}{path}"),
                },
                ..route
            }));
        self.router = self.router.nest(prefix, other.router);
        self
    }

    /// Adds `other`'s routes.
    pub fn merge(mut self, other: SecureRouter<S>) -> Self {
        self.routes.extend(other.routes);
        self.router = self.router.merge(other.router);
        self
    }

    /// Every route's policy.
    pub fn manifest(&self) -> Manifest {
        let mut routes = self.routes.clone();
        routes.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
        Manifest { routes }
    }

    /// The axum router, with unknown paths answered 404 and unknown methods 405 as problems.
    /// Add layers to it as to any axum router.
    pub fn into_router(self) -> Router<S> {
        self.router
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
    }

    /// [`SecureRouter::into_router`] with the state supplied.
    pub fn with_state<S2>(self, state: S) -> Router<S2> {
        self.into_router().with_state(state)
    }
}

async fn not_found() -> Problem {
    Problem::not_found()
}

async fn method_not_allowed() -> Problem {
    Problem::method_not_allowed()
}

/// The security policy of every route of a [`SecureRouter`]: print it as a table, serialize it
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
    /// The handler's function name.
    pub handler: &'static str,
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
    /// Whether the inputs are validated.
    pub validated: bool,
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
    fn new(method: &Method, path: &str, spec: &PolicySpec) -> Self {
        Self {
            method: method.to_string(),
            path: path.to_owned(),
            handler: spec.handler,
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
                route.handler.to_owned(),
                route.auth.to_owned(),
                route.roles.as_ref().map_or_else(none, ToString::to_string),
                route.scopes.as_ref().map_or_else(none, ToString::to_string),
                route.mfa.clone().unwrap_or_else(none),
                match route.limit_fail_open {
                    true => format!("{} (fail-open)", route.rate),
                    false => route.rate.clone(),
                },
                route.rate_key.to_owned(),
                if route.validated { "yes" } else { "no" }.to_owned(),
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
