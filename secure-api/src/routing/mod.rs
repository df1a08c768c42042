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

mod manifest;
#[cfg(feature = "openapi")]
mod openapi;

pub use manifest::{ClaimsEntry, Manifest, NameRequirement, RouteEntry};

use crate::describe::Description;
use crate::guard::Guard;
use crate::limit::Reporting;
use crate::policy::{Policy, PolicySpec};
use crate::problem::Problem;
use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;

/// A handler whose first argument is a [`Guard`]: what `#[secure]` produces.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be mounted on a `SecureRouter<{S}>`: it is not a `#[secure]` \
               handler, or the router's state does not provide `Security`",
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

    /// Describes the handler's inputs and answer (its policy's `describe`).
    fn describe(description: &mut Description);
}

macro_rules! guarded_handler {
    ($($extractor:ident),*) => {
        impl<F, M, P, S, $($extractor,)*> GuardedHandler<(M, Guard<P>, $($extractor,)*), S> for F
        where
            F: Handler<(M, Guard<P>, $($extractor,)*), S>,
            P: Policy,
        {
            const SPEC: PolicySpec = P::SPEC;

            fn describe(description: &mut Description) {
                P::describe(description)
            }
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
    policies: Vec<Mounted>,
}

/// A handler as mounted: its method, the policy it takes, and its own name.
struct Mounted {
    method: Method,
    spec: PolicySpec,
    function: &'static str,
    describe: fn(&mut Description),
}

/// A mounted route: what the manifest says of it, and what the OpenAPI document needs.
#[derive(Clone)]
pub(crate) struct Route {
    pub(crate) entry: RouteEntry,
    #[cfg_attr(not(feature = "openapi"), allow(dead_code))]
    pub(crate) spec: PolicySpec,
    #[cfg_attr(not(feature = "openapi"), allow(dead_code))]
    pub(crate) describe: fn(&mut Description),
}

/// `create_user` for the function item `app::users::create_user` (or `catalog<Books>`).
///
/// A policy type is generated for one function, but Rust cannot tie it to that function: a
/// function's own type cannot be named, and every type in its signature must be nameable
/// wherever it is visible. So another function of the same module could take the guard of
/// `create_user` and be mounted under its policy. The name of what was really mounted makes
/// that visible in the manifest and in a configuration event.
fn function_name<H>() -> &'static str {
    let path = std::any::type_name::<H>();
    let path = path.split_once('<').map_or(path, |(path, _)| path);
    path.rsplit("::").next().unwrap_or(path)
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
                    self.policies.push(Mounted {
                        method: Method::$method,
                        spec: H::SPEC,
                        function: function_name::<H>(),
                        describe: H::describe,
                    });
                    self.router = self.router.$name(Reporting(handler));
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
    routes: Vec<Route>,
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
        for Mounted {
            method,
            spec,
            function,
            describe,
        } in &methods.policies
        {
            let entry = RouteEntry::new(method, path, spec, function);
            if let Some(policy_of) = entry.policy_of {
                tracing::error!(
                    target: crate::audit::CONFIG_TARGET,
                    %method,
                    path,
                    function,
                    policy_of,
                    "a handler is mounted with the policy generated for another; \
                     annotate it with its own #[secure(...)]"
                );
            }
            self.routes.push(Route {
                entry,
                spec: *spec,
                describe: *describe,
            });
        }
        self.router = self.router.route(path, methods.router);
        self
    }

    /// Mounts `other`'s routes under `prefix`.
    pub fn nest(mut self, prefix: &str, other: SecureRouter<S>) -> Self {
        let prefix = prefix.trim_end_matches('/');
        self.routes
            .extend(other.routes.into_iter().map(|route| Route {
                entry: route.entry.nested_under(prefix),
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
        Manifest::new(
            self.routes
                .iter()
                .map(|route| route.entry.clone())
                .collect(),
        )
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
