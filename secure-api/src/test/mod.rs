//! The test kit (feature `test-util`): call a router in process, with tokens whose roles and
//! scopes the compiler checked, and with the tokens the guard must refuse.
//!
//! It is meant for `[dev-dependencies]` only:
//!
//! ```toml
//! [dev-dependencies]
//! secure-api = { version = "0.1", features = ["test-util"] }
//! ```
//!
//! ```
//! secure_api::roles! { admin > editor }
//! secure_api::scopes! { "notes:read" }
//!
//! use secure_api::routing::{SecureRouter, get};
//! use secure_api::test::{TestClient, principal, security};
//! use secure_api::{AuthUser, secure};
//!
//! #[secure(role = "editor", scope = "notes:read", rate = "100/1m")]
//! async fn notes(user: AuthUser) -> String {
//!     format!("the notes of {}", user.subject())
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() {
//!     let security = security();
//!     let app = SecureRouter::new().route("/notes", get(notes));
//!     let client = TestClient::new(app.with_state(security.clone()));
//!
//!     // `roles = ["admn"]` would not compile: the names are the crate's `roles!`.
//!     let alice = principal!("alice", roles = ["admin"], scopes = ["notes:read"]);
//!     let answer = client.get("/notes").bearer(&alice.token(&security)).send().await;
//!     assert_eq!(answer.text(), "the notes of alice");
//!
//!     // A missing role is a principal without it: 403.
//!     let bob = principal!("bob", scopes = ["notes:read"]);
//!     let answer = client.get("/notes").bearer(&bob.token(&security)).send().await;
//!     assert_eq!(answer.status(), 403);
//!
//!     // A token the guard refuses: 401 invalid_token.
//!     let expired = alice.expired_token(&security);
//!     let answer = client.get("/notes").bearer(&expired).send().await;
//!     assert_eq!(answer.problem()["status"], 401);
//! }
//! ```
//!
//! # Tests that do not leak into each other
//!
//! Every budget — rate limits, the failed-credential budget, login lock-outs — lives in the
//! stores of one `Security` and is counted per user or per client address. Give each test a
//! fresh [`security()`]: its stores are its own, in memory. Each [`TestClient`] has an address
//! of its own, from a counter shared by the whole process, so two clients (in one test or in
//! two tests running in parallel) never share a per-address budget, even on one `Security`.
//! [`TestClient::from`] puts a client at the address you choose.
//!
//! # Any `Security`
//!
//! [`TestClient`] calls any router, whatever its `Security`. The tokens of a
//! [`TestPrincipal`] need one that issues tokens: an HMAC secret or a private key, and an
//! audience. [`security()`] is one; [`security_builder()`] is the same to change (limits, the
//! claim profile, a token store) before it is built.
//!
//! # Not a way into production
//!
//! Nothing here weakens a `Security`: the kit only calls routers and signs tokens with the
//! keys it is handed, or with keys it makes up at random for one call. There is no fixed key
//! and no secret in it. Keep the feature in `[dev-dependencies]`.

mod client;
mod principal;

pub use client::{TestClient, TestRequest, TestResponse};
pub use principal::TestPrincipal;

/// Makes a [`TestPrincipal`] whose roles and scopes the compiler checked against the crate's
/// `roles!` and `scopes!`: `principal!("alice", roles = ["admin"], scopes = ["notes:read"])`.
///
/// `roles` and `scopes` may each be left out; the subject is any string expression. An
/// undeclared name is a compile error on it, naming the nearest declared one, exactly as in
/// `#[secure(role = "...")]`. The tokens it signs carry the password as their only
/// authentication method (`amr: ["pwd"]`); see [`TestPrincipal::with_amr`].
///
/// Like `#[secure]`, it finds the declarations at the root of the crate it is used in: a crate
/// that names roles in `principal!` declares them with `roles!`.
#[doc(inline)]
pub use crate::__secure_test_principal as principal;

use crate::jwt::{Algorithm, Key};
use crate::{Secret, Security, SecurityBuilder};

/// The issuer of [`security()`]'s tokens.
pub const ISSUER: &str = "https://issuer.test";

/// The audience of [`security()`]'s tokens.
pub const AUDIENCE: &str = "test-api";

/// A `Security` of its own for one test: issuer [`ISSUER`], audience [`AUDIENCE`], a random
/// HS256 key, and budgets and token state in memory that no other `Security` shares.
pub fn security() -> Security {
    security_builder()
        .build()
        .unwrap_or_else(|error| panic!("expected the test configuration to build: {error}"))
}

/// What [`security()`] builds, to change before building it: a tighter budget, a claim
/// profile, a store.
pub fn security_builder() -> SecurityBuilder {
    // Not `ephemeral_key`: it warns, once per test, that its tokens die with the process.
    let key = Key::hmac(Algorithm::HS256, Secret::generate(64))
        .unwrap_or_else(|error| panic!("expected 64 random bytes to make an HS256 key: {error}"));
    Security::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(key.with_kid("test"))
}

#[cfg(test)]
mod tests;
