//! The application state: what every handler shares.

use axum::extract::FromRef;
use secure_api::Security;
use secure_api::login::Login;
use secure_api::mfa::Totp;
use secure_api::seal::Sealer;
use sqlx::SqlitePool;
use std::sync::Arc;

/// Cheap to clone (handles and `Arc`s). `FromRef` lets the guard find the `Security` in it —
/// a state without one does not compile at `.route(..)` — and lets a handler take just the
/// part it needs, e.g. `State(db): State<SqlitePool>`.
#[derive(Clone, FromRef)]
pub(crate) struct Demo {
    pub(crate) security: Security,
    pub(crate) db: SqlitePool,
    /// Password hashing and the failed-login throttle.
    pub(crate) login: Arc<Login>,
    /// Encrypts fields at rest: e-mail addresses and TOTP secrets.
    pub(crate) sealer: Arc<Sealer>,
    /// Verifies one-time codes, each at most once.
    pub(crate) totp: Arc<Totp>,
}
