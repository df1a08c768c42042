//! Declare the security of each axum handler with `#[secure(...)]`, checked by the compiler.
//!
//! ```no_run
//! use axum::Json;
//! use secure_api::routing::{SecureRouter, post};
//! use secure_api::{Security, secure};
//! use std::net::SocketAddr;
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
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! # Ok(()) }
//! # fn main() {}
//! ```
//!
//! The attribute expands into a [`Guard`] that the handler takes first — rate limit,
//! authentication and authorization are decided before the body is read — and wraps each
//! input extractor in [`Valid`]. Everything the guard does is ordinary code in this crate;
//! the expansion only states the policy. Failures are [`Problem`]s (RFC 9457).
//!
//! # Features
//!
//! Token verification, roles, scopes, rate limits, validation, problems, audit and the token
//! issuer are always there. The rest is on by default and can be left out with
//! `default-features = false`, which saves a third of the crates to compile:
//!
//! | feature | what | adds |
//! |---|---|---|
//! | `pem` | `Key::public_pem`: RS/PS/ES/EdDSA public keys (else HMAC only) | `pem`, `simple_asn1` |
//! | `login` | `login`: argon2id passwords, equal-work login, lockout | `argon2` |
//! | `mfa` | `mfa`: TOTP enrolment and verification | `totp-rs` |
//! | `seal` | `seal`: fields sealed at rest | `chacha20poly1305` |
//! | `harden` | `Hardening`: headers, CORS, body limit, timeout, panics | `tower-http` |
//! | `sqlite` (off) | `SqliteTokenStore` | `sqlx` |
//! | `redis` (off) | `RedisStore`: limits and token state for several instances | `redis` |
//!
//! `#[secure(mfa)]` needs no feature: it reads the token's `amr`, whoever issued it.

// The checkers that `roles!`/`scopes!` generate name `::secure_api`, in this crate's own
// tests and doctests too.
extern crate self as secure_api;

pub mod audit;
mod client;
mod config;
mod error;
mod extract;
mod guard;
#[cfg(feature = "harden")]
mod harden;
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
pub mod store;
mod time;
pub mod tokens;
mod valid;

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

pub use audit::{Counter, REQUEST_ID};
pub use client::TrustedProxies;
pub use config::SecurityBuilder;
pub use error::ConfigError;
pub use extract::{AuthUser, Claims, ClientIp};
pub use guard::Guard;
#[cfg(feature = "harden")]
pub use harden::Hardening;
pub use jwt::{DEFAULT_LEEWAY, Identity, Key, MAX_LEEWAY, MAX_TOKEN_BYTES, TokenRejection};
pub use limit::{Bucket, MemoryStore, RateDecision, RateLimitStore, Subject};
pub use policy::{
    Auth, Grant, Policy, PolicySpec, Rate, RateKey, Requirement, SECOND_FACTORS, StepUp,
};
pub use problem::{FieldError, Problem};
pub use secret::Secret;
pub use security::Security;
#[cfg(feature = "redis")]
pub use store::RedisStore;
#[cfg(feature = "sqlite")]
pub use store::SqliteTokenStore;
pub use store::{BoxFuture, StoreUnavailable};
pub use tokens::{
    ACCESS_TOKEN_TYPE, MemoryTokenStore, Principal, RefreshRecord, Spend, TokenError, TokenPair,
    TokenStore,
};
pub use valid::{Parsed, Valid, ValidatedInput};

/// What the code generated by `#[secure]` names. Not a public API: it may change in any
/// release.
#[doc(hidden)]
pub mod __private {
    pub use crate::guard::Guard;
    pub use crate::policy::{Grant, Policy, PolicySpec, RateKey};
    pub use crate::valid::{Parsed, Valid};
    pub use secure_api_macros::undeclared;
}
