//! What administrators see: the accounts (never their secrets) and what the guard decided.

use crate::db::{self, Page};
use crate::state::Demo;
use axum::Json;
use axum::extract::{Query, State};
use secure_api::routing::{SecureRouter, get};
use secure_api::{Problem, Security, secure};
use serde::Serialize;
use sqlx::SqlitePool;

/// The routes of this module.
pub(crate) fn routes() -> SecureRouter<Demo> {
    SecureRouter::new()
        .route("/admin/users", get(list_users))
        .route("/admin/counters", get(counters))
}

/// An account as the administrator sees it: its roles, space-separated.
#[derive(Serialize, sqlx::FromRow, schemars::JsonSchema)]
struct UserRow {
    id: i64,
    username: String,
    roles: String,
}

/// The accounts, without password hashes, e-mail addresses or TOTP secrets.
#[secure(role = "admin", rate = "60/1m", validate)]
async fn list_users(
    State(db): State<SqlitePool>,
    Query(page): Query<Page>,
) -> Result<Json<Vec<UserRow>>, Problem> {
    let users = sqlx::query_as::<_, UserRow>(
        "SELECT id, username, roles FROM users ORDER BY id LIMIT ? OFFSET ?",
    )
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(&db)
    .await
    .map_err(db::error)?;
    Ok(Json(users))
}

/// Allow, deny and throttle counts per handler and reason, to spot an attack in progress.
#[secure(role = "admin", rate = "60/1m")]
async fn counters(State(security): State<Security>) -> Json<Vec<secure_api::audit::Counter>> {
    Json(security.counters())
}
