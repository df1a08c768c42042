//! Declare the security of each axum handler with `#[secure(...)]`, checked by the compiler.
//!
//! ```no_run
//! use axum::Json;
//! use secure_api::routing::{SecureRouter, post};
//! use secure_api::{Security, secure};
//!
//! secure_api::roles! { writer }
//!
//! #[derive(serde::Deserialize, garde::Validate)]
//! struct NewNote {
//!     #[garde(length(min = 1, max = 500))]
//!     text: String,
//! }
//!
//! #[secure(role = "writer", rate = "100/15m", validate)]
//! async fn create_note(Json(note): Json<NewNote>) -> String {
//!     note.text
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let security = Security::from_env()?;
//! let app: axum::Router = SecureRouter::new()
//!     .route("/notes", post(create_note))
//!     .with_state(security);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! secure_api::serve(listener, app).await?; // timeouts, a connection cap, the client address
//! # Ok(()) }
//! # fn main() {}
//! ```
//!
//! The attribute expands into a [`Guard`](guard::Guard) that the handler takes first — rate limit,
//! authentication and authorization are decided before the body is read — and wraps each
//! input extractor in [`Valid`]. Everything the guard does is ordinary code in this crate;
//! the expansion only states the policy. Failures are [`Problem`]s (RFC 9457).
//!
//! # Where things are
//!
//! The root holds what application code uses every day; the modules hold the rest, each for
//! one audience:
//!
//! | where | for | what |
//! |---|---|---|
//! | the root | handlers and `main` | [`secure`], [`roles!`], [`scopes!`], [`Security`] and its [`SecurityBuilder`], the extractors [`AuthUser`], [`ClientIp`], [`Claims`], [`Valid`], [`Problem`], [`Secret`], [`TrustedProxies`], [`Principal`] and [`TokenPair`] for login handlers, `Hardening`, and `serve`/`Server` |
//! | `serve` | `main` | serving the router: header and idle timeouts, a connection cap, graceful shutdown, the client address for the guard; what hyper answers itself |
//! | [`routing`] | mounting handlers | [`SecureRouter`](routing::SecureRouter) and `get`/`post`/…, which accept only `#[secure]` handlers; the [`Manifest`](routing::Manifest) of every route's policy |
//! | `login`, `mfa`, `seal` | sign-in and stored secrets | argon2id passwords off the executor, equal-work login, lock-outs per account and address, TOTP with fleet-wide replay checks, fields sealed at rest |
//! | [`input`] | handler signatures | what a `#[secure]` handler may take, decided by type: [`SecureInput`], [`PathParam`](input::PathParam), [`Valid`], [`Parsed`] |
//! | [`jwt`] | key configuration | [`Key`](jwt::Key), [`Algorithm`](jwt::Algorithm), the [`ClaimProfile`](jwt::ClaimProfile) of an identity provider, the verified [`Identity`](jwt::Identity) and why a token was refused |
//! | [`apikey`] | machine clients | API keys: made, listed and revoked by an administrator, sent in `X-API-Key`, stored as hashes behind [`ApiKeyStore`](apikey::ApiKeyStore) |
//! | [`tokens`] | token state | refresh families and revocation: [`TokenStore`](tokens::TokenStore), the memory store, what they keep |
//! | [`limit`] | budgets | [`RateLimitStore`](limit::RateLimitStore), the one store of every budget and one-time state; the bounded in-memory [`MemoryStore`](limit::MemoryStore); buckets, subjects, decisions |
//! | [`store`] | shared state | the Redis and SQLite stores, and the error any store answers with |
//! | [`policy`], [`guard`] | readers of the expansion | the [`PolicySpec`](policy::PolicySpec) a handler states and the [`Guard`](guard::Guard) that enforces it |
//! | [`audit`] | operators | the audit target, the request id header, the counters |
//! | `test` | tests (feature `test-util`) | `TestClient`, a router called in process; `principal!`, tokens with compile-checked roles; `security()`, a `Security` of a test's own |
//!
//! # Features
//!
//! Token verification, roles, scopes, rate limits, validation, problems, audit and the token
//! issuer are always there. `harden` and `serve` are on by default (`default-features = false`
//! leaves them out); the others are added by name:
//!
//! | feature | what | adds |
//! |---|---|---|
//! | `pem` (off) | `jwt::Key::public_pem`, `jwt::Key::private_pem`: RS/PS/ES/EdDSA keys from PEM (else HMAC and JWK Set keys only) | `pem`, `simple_asn1` |
//! | `jwks` (off) | `SecurityBuilder::jwks_url`, `SecurityBuilder::oidc_issuer`: keys fetched from an identity provider, refreshed in the background | `hyper-util`, `hyper-rustls`, `rustls` (ring), `arc-swap`, `url` |
//! | `login` (off) | `login`: argon2id passwords, equal-work login, lockout | `argon2` |
//! | `mfa` (off) | `mfa`: TOTP enrolment and verification | `totp-rs` |
//! | `seal` (off) | `seal`: fields sealed at rest | `chacha20poly1305` |
//! | `harden` (on) | `Hardening`: headers, CORS, body limit, timeout, panics | `tower-http` |
//! | `serve` (on) | `serve`, `Server`: HTTP/1.1 with header and idle timeouts, a connection cap, graceful shutdown | `hyper` (server), `hyper-util` |
//! | `sqlite` (off) | `store::SqliteTokenStore`: token state and API keys in a SQLite file | `sqlx` |
//! | `redis` (off) | `store::RedisStore`: limits, token state and API keys for several instances | `redis` |
//! | `openapi` (off) | `SecureRouter::openapi`: the OpenAPI 3.1 document of every route, its security, problems, rate limit and input schemas | `schemars` |
//! | `test-util` (off) | `test`: routers called in process, tokens with compile-checked roles, tokens the guard refuses; for `[dev-dependencies]` | — |
//!
//! `#[secure(mfa)]` needs no feature: it reads the token's `amr` (or `acr`, see
//! [`ClaimProfile`](jwt::ClaimProfile)), whoever issued it.

// The checkers that `roles!`/`scopes!` generate name `::secure_api`, in this crate's own
// tests and doctests too.
extern crate self as secure_api;

pub mod apikey;
pub mod audit;
mod client;
mod config;
pub mod describe;
mod error;
mod extract;
pub mod guard;
#[cfg(feature = "harden")]
mod harden;
pub mod input;
pub mod jwt;
pub mod limit;
#[cfg(feature = "login")]
pub mod login;
#[cfg(feature = "mfa")]
pub mod mfa;
pub mod policy;
mod problem;
pub mod routing;
#[cfg(feature = "seal")]
pub mod seal;
mod secret;
mod security;
#[cfg(feature = "serve")]
pub mod serve;
pub mod store;
#[cfg(feature = "test-util")]
pub mod test;
mod time;
pub mod tokens;

#[doc = include_str!("secure.md")]
pub use secure_api_macros::secure;

/// Declares the roles of the application, once, at the crate root — with their hierarchy.
///
/// `#[secure]` accepts only declared roles: `role = "admn"` is a compile error that names
/// the nearest declared role. A chain `a > b > c` says that `a` is granted everything `b` is,
/// and `b` everything `c` is; the guard honours it, so an `admin` passes `role = "viewer"`.
///
/// ```
/// secure_api::roles! {
///     admin > editor > viewer,
///     admin > auditor,
/// }
/// secure_api::scopes! { "notes:read", "notes:write" }
///
/// #[secure_api::secure(role = "viewer", scope = "notes:read", rate = "60/1m")]
/// async fn read_notes() {}
/// # fn main() {}
/// ```
///
/// Names are identifiers or string literals. The macro generates a hidden checker that
/// `#[secure]` calls through `crate::…`, which is why it must be invoked at the crate root.
/// When this crate is renamed or re-exported, say where it is first, with an absolute path:
/// `roles! { crate = "crate::deps::security"; admin > editor }` (the same for `scopes!`).
pub use secure_api_macros::roles;

/// Declares the OAuth 2.0 scopes of the application, once, at the crate root.
///
/// Like [`roles!`] without a hierarchy: `scope = "notes:raed"` does not compile.
///
/// ```
/// secure_api::scopes! { "notes:read", "notes:write", "reports:read" }
/// # fn main() {}
/// ```
pub use secure_api_macros::scopes;

pub use client::TrustedProxies;
pub use config::SecurityBuilder;
pub use error::ConfigError;
pub use extract::{AuthUser, Claims, ClientIp};
#[cfg(feature = "harden")]
pub use harden::Hardening;
pub use input::{Parsed, SecureInput, Valid, ValidatedInput};
pub use problem::{FieldError, Problem};
pub use secret::Secret;
pub use security::Security;
#[cfg(feature = "serve")]
pub use serve::{Server, serve};
pub use tokens::{Principal, TokenPair};

// The README's Rust examples are doctests of this crate: each compiles (and runs, unless
// marked `no_run`), or fails to compile when it shows an error.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// What the code generated by `#[secure]` names. Not a public API: it may change in any
/// release.
#[doc(hidden)]
pub mod __private {
    pub use crate::describe::{DescribeAnswer, DescribeInput, DescribeNothing, Description, Probe};
    pub use crate::guard::Guard;
    pub use crate::input::{Parsed, SecureInput, Valid, admit, validatable};
    pub use crate::policy::{Grant, Policy, PolicySpec, RateKey};
    pub use secure_api_macros::undeclared;
}
