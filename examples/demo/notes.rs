//! Notes, each visible to its owner and to nobody else (object-level authorization, OWASP
//! API1): every query names the caller as the owner, and another user's note answers exactly
//! like a note that does not exist.

use crate::auth::user_id;
use crate::db::{self, Page};
use crate::state::Demo;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use secure_api::routing::{SecureRouter, get};
use secure_api::{AuthUser, Problem, secure};
use serde::{Deserialize, Serialize};

/// The routes of this module.
pub(crate) fn routes() -> SecureRouter<Demo> {
    SecureRouter::new()
        .route("/notes", get(list_notes).post(create_note))
        .route(
            "/notes/{id}",
            get(read_note).put(update_note).delete(delete_note),
        )
}

#[derive(Deserialize, garde::Validate, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct NoteInput {
    #[garde(length(chars, min = 1, max = 120))]
    title: String,
    // At most 4,000 characters: the largest note, even written in JSON escapes (12 bytes for
    // a character outside the BMP), fits in the 64 KiB a body may have, so that every note
    // the OpenAPI document admits is read, not refused with 413.
    #[garde(length(chars, max = 4_000))]
    body: String,
}

/// A note of the caller's.
#[derive(Serialize, sqlx::FromRow, schemars::JsonSchema)]
struct Note {
    id: i64,
    title: String,
    body: String,
}

fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "No such note.")
}

/// The caller's own notes — never anyone else's.
#[secure(role = "user", rate = "120/1m", validate)]
async fn list_notes(
    State(demo): State<Demo>,
    user: AuthUser,
    Query(page): Query<Page>,
) -> Result<Json<Vec<Note>>, Problem> {
    let notes = sqlx::query_as::<_, Note>(
        "SELECT id, title, body FROM notes WHERE owner_id = ? ORDER BY id LIMIT ? OFFSET ?",
    )
    .bind(user_id(&user)?)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(&demo.db)
    .await
    .map_err(db::error)?;
    Ok(Json(notes))
}

#[secure(role = "user", rate = "30/1m", validate)]
async fn create_note(
    State(demo): State<Demo>,
    user: AuthUser,
    Json(input): Json<NoteInput>,
) -> Result<(StatusCode, Json<Note>), Problem> {
    let note = sqlx::query_as::<_, Note>(
        "INSERT INTO notes (owner_id, title, body) VALUES (?, ?, ?) RETURNING id, title, body",
    )
    .bind(user_id(&user)?)
    .bind(&input.title)
    .bind(&input.body)
    .fetch_one(&demo.db)
    .await
    .map_err(db::error)?;
    Ok((StatusCode::CREATED, Json(note)))
}

#[secure(role = "user", rate = "120/1m")]
async fn read_note(
    State(demo): State<Demo>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Note>, Problem> {
    sqlx::query_as::<_, Note>("SELECT id, title, body FROM notes WHERE id = ? AND owner_id = ?")
        .bind(id)
        .bind(user_id(&user)?)
        .fetch_optional(&demo.db)
        .await
        .map_err(db::error)?
        .map(Json)
        .ok_or_else(not_found)
}

#[secure(role = "user", rate = "30/1m", validate)]
async fn update_note(
    State(demo): State<Demo>,
    user: AuthUser,
    Path(id): Path<i64>,
    Json(input): Json<NoteInput>,
) -> Result<Json<Note>, Problem> {
    sqlx::query_as::<_, Note>(
        "UPDATE notes SET title = ?, body = ? WHERE id = ? AND owner_id = ? \
         RETURNING id, title, body",
    )
    .bind(&input.title)
    .bind(&input.body)
    .bind(id)
    .bind(user_id(&user)?)
    .fetch_optional(&demo.db)
    .await
    .map_err(db::error)?
    .map(Json)
    .ok_or_else(not_found)
}

#[secure(role = "user", rate = "30/1m")]
async fn delete_note(
    State(demo): State<Demo>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, Problem> {
    let deleted = sqlx::query("DELETE FROM notes WHERE id = ? AND owner_id = ?")
        .bind(id)
        .bind(user_id(&user)?)
        .execute(&demo.db)
        .await
        .map_err(db::error)?;
    match deleted.rows_affected() {
        0 => Err(not_found()),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}
