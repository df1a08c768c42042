//! Machine clients: the administrator makes API keys for service accounts, lists them
//! (never their secrets) and revokes them; a report route takes the keys.

use crate::db;
use crate::state::Demo;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use secure_api::apikey::{ApiKeyInfo, CreateKeyError, NewApiKey};
use secure_api::routing::{SecureRouter, delete, get, post};
use secure_api::{Problem, Security, secure};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use std::time::Duration;

/// The routes of this module.
pub(crate) fn routes() -> SecureRouter<Demo> {
    SecureRouter::new()
        .route(
            "/admin/service-accounts/{account}/keys",
            post(create_key).get(list_keys),
        )
        .route("/admin/api-keys/{id}", delete(revoke_key))
        .route("/reports/usage", get(usage_report))
}

/// A service account's name, as it appears in the path.
#[derive(Deserialize, garde::Validate, schemars::JsonSchema)]
struct Account {
    /// Lowercase letters, digits and `-`, starting with a letter.
    // ASCII only, so the bytes garde counts are the characters the schema counts.
    #[garde(length(min = 3, max = 32), pattern(r"^[a-z][a-z0-9-]*$"))]
    account: String,
}

#[derive(Deserialize, garde::Validate, schemars::JsonSchema)]
struct NewKey {
    /// What the key is for: no control characters.
    // Counted in characters, as the schema's maxLength is; the pattern is the library's own
    // refusal of control characters (Unicode's Cc), written so that the schema says it too.
    #[garde(
        length(chars, min = 1, max = 100),
        pattern(r"^[^\x00-\x1f\x7f-\x9f]+$")
    )]
    name: String,
    #[garde(length(max = 8))]
    scopes: Vec<KeyScope>,
    /// Keys expire: at most a year, so that a forgotten key does not live forever.
    #[garde(range(min = 1, max = 365))]
    expires_in_days: u32,
}

/// A scope the key grants.
// One the API declares (`secure_api::scopes!` in main.rs). As an enum, the OpenAPI document
// lists the values, and anything else is refused as the body is read.
#[derive(Clone, Copy, Deserialize, schemars::JsonSchema)]
enum KeyScope {
    #[serde(rename = "reports:read")]
    ReportsRead,
}

impl KeyScope {
    fn as_str(self) -> &'static str {
        match self {
            Self::ReportsRead => "reports:read",
        }
    }
}

/// A key just made: the key, shown this once, beside what listings show.
#[derive(Serialize, schemars::JsonSchema)]
struct CreatedKey {
    key: String,
    #[serde(flatten)]
    info: ApiKeyInfo,
}

/// Makes a key for a service account. The answer holds the key; the server keeps its hash.
#[secure(role = "admin", rate = "30/1m", validate)]
async fn create_key(
    State(security): State<Security>,
    Path(account): Path<Account>,
    Json(new): Json<NewKey>,
) -> Result<(StatusCode, Json<CreatedKey>), Problem> {
    let scopes: Vec<&str> = new.scopes.iter().map(|scope| scope.as_str()).collect();
    let request = NewApiKey::new(account.account, new.name)
        .with_scopes(&scopes)
        .expires_in(Duration::from_secs(u64::from(new.expires_in_days) * 86_400));
    let created = security
        .api_keys()
        .create(request)
        .await
        .map_err(|error| match error {
            CreateKeyError::Invalid(_) => Problem::bad_request(error.to_string()),
            CreateKeyError::Store(error) => store_error(&error),
        })?;
    let key = CreatedKey {
        key: created.key.expose().to_owned(),
        info: created.info,
    };
    Ok((StatusCode::CREATED, Json(key)))
}

/// A service account's keys, revoked and expired ones included, without their secrets.
#[secure(role = "admin", rate = "60/1m", validate)]
async fn list_keys(
    State(security): State<Security>,
    Path(account): Path<Account>,
) -> Result<Json<Vec<ApiKeyInfo>>, Problem> {
    let keys = security
        .api_keys()
        .list(Some(&account.account))
        .await
        .map_err(|error| store_error(&error))?;
    Ok(Json(keys))
}

/// Revokes a key at once.
#[secure(role = "admin", rate = "30/1m")]
async fn revoke_key(
    State(security): State<Security>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    match security.api_keys().revoke(&id).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(Problem::not_found()),
        Err(error) => Err(store_error(&error)),
    }
}

/// How many accounts and notes there are.
#[derive(Serialize, schemars::JsonSchema)]
struct Usage {
    users: i64,
    notes: i64,
}

/// How much the API is used: for a reporting job that calls with an API key.
#[secure(api_key, scope = "reports:read", rate = "1000/1h")]
async fn usage_report(State(db): State<SqlitePool>) -> Result<Json<Usage>, Problem> {
    let (users, notes): (i64, i64) =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM notes)")
            .fetch_one(&db)
            .await
            .map_err(db::error)?;
    Ok(Json(Usage { users, notes }))
}

fn store_error(error: &secure_api::store::StoreUnavailable) -> Problem {
    tracing::error!(target: "demo", %error, "API key store unavailable");
    Problem::unavailable()
}
