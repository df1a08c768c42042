//! The integration tests of secure-api, in one binary so that their helpers and the
//! dependency tree are compiled and linked once: HTTP over loopback, connection limits under
//! slow and idle clients, JWT attacks, keys shared
//! between services and fetched from a provider, audit events, the secure router, the SQLite
//! and Redis stores (one server and a cluster), every API key store, a real OpenID provider,
//! the test kit, the examples run as their users run them (the quickstart, the demo, its TLS,
//! the README's
//! walk-throughs) and the trybuild UI tests.
//!
//! `cargo test --workspace` runs them with everything else (and builds the examples they
//! start); `cargo test --test suite http::` runs one module.
//!
//! Every test runs in parallel with every other one in this process: a test that needs
//! process-wide state (a tracing subscriber, the time between two requests) keeps it to itself
//! (see `audit`, `http::a_rate_is_a_burst_that_refills_continuously`).

// The roles and scopes of every handler the modules declare, once for the binary, as an
// application declares them at its crate root. The hierarchy is `routing`'s; the other
// modules use `admin` and `auditor` only as roles of their own, which it does not change.
secure_api::roles! {
    admin > editor > viewer,
    admin > auditor,
}
secure_api::scopes! { "notes:read", "notes:write", "reports:read" }

mod common;

mod abuse;
mod api_key_stores;
mod api_keys;
mod audit;
mod connections;
mod demo;
mod demo_config;
mod demo_tokens;
mod fuzz;
mod http;
mod idp;
mod jwks;
mod jwt;
mod keys;
mod oidc;
mod openapi;
mod quickstart;
mod readme;
mod redis;
mod redis_cluster;
mod redis_server;
mod redis_store;
mod routing;
mod sqlite_store;
mod testkit;
mod tls;
mod ui;
