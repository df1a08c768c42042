//! The smallest useful secure-api service: a few secured routes and a public one.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! With no `SECURE_API_*` key configured it makes up a random key for this process alone
//! and prints a token for a demo user, so that it can be tried with curl at once. Set
//! `SECURE_API_ISSUER`, `SECURE_API_AUDIENCE` and `SECURE_API_JWT_SECRET_FILE` (see
//! `Security::from_env`) to verify real tokens instead.
//!
//! `cargo run --example quickstart -- --manifest` prints every route's policy and exits
//! (`--manifest json` for JSON).

use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use secure_api::routing::{SecureRouter, delete, get};
use secure_api::{AuthUser, Security, secure};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

// Every role and scope the API knows, once. An admin is granted everything a writer is.
secure_api::roles! { admin > writer }
secure_api::scopes! { "notes:read" }

/// The application's state; `Security` is one part of it, reached through `FromRef`.
#[derive(Clone)]
struct AppState {
    security: Security,
    notes: Arc<Mutex<Vec<Note>>>,
}

impl FromRef<AppState> for Security {
    fn from_ref(state: &AppState) -> Security {
        state.security.clone()
    }
}

#[derive(Clone, Serialize)]
struct Note {
    id: usize,
    owner: String,
    text: String,
}

#[derive(Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct NewNote {
    #[garde(length(chars, min = 1, max = 280))]
    text: String,
}

#[derive(Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct Page {
    #[garde(range(min = 1, max = 100))]
    limit: usize,
}

/// Anyone may ask whether the service is up, 60 times a minute per address.
#[secure(public, rate = "60/1m")]
async fn health() -> &'static str {
    "ok"
}

/// Who the token says the caller is.
#[secure(rate = "120/1m")]
async fn me(user: AuthUser) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "subject": user.subject(),
        "roles": user.roles(),
        "scopes": user.scopes(),
    }))
}

/// The caller's own notes: the verified subject decides which (object-level authorization).
#[secure(scope = "notes:read", rate = "120/1m", validate)]
async fn list_notes(
    State(state): State<AppState>,
    user: AuthUser,
    Query(page): Query<Page>,
) -> Json<Vec<Note>> {
    let notes = state
        .notes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let own = notes
        .iter()
        .filter(|note| note.owner == user.subject())
        .take(page.limit)
        .cloned()
        .collect();
    Json(own)
}

/// Writers add notes, at most 30 per 15 minutes each.
#[secure(role = "writer", rate = "30/15m", validate)]
async fn create_note(
    State(state): State<AppState>,
    user: AuthUser,
    Json(note): Json<NewNote>,
) -> (StatusCode, Json<Note>) {
    let mut notes = state
        .notes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let note = Note {
        id: notes.len() + 1,
        owner: user.subject().to_owned(),
        text: note.text,
    };
    notes.push(note.clone());
    (StatusCode::CREATED, Json(note))
}

/// Only administrators delete, and only 10 notes a minute between all of them.
#[secure(role = "admin", rate = "10/1m", rate_key = "global")]
async fn delete_note(State(state): State<AppState>, Path(id): Path<usize>) -> StatusCode {
    let mut notes = state
        .notes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let before = notes.len();
    notes.retain(|note| note.id != id);
    match notes.len() < before {
        true => StatusCode::NO_CONTENT,
        false => StatusCode::NOT_FOUND,
    }
}

/// Every route, each with its declared policy; nothing else can be mounted here.
fn routes() -> SecureRouter<AppState> {
    SecureRouter::new()
        .route("/health", get(health))
        .route("/me", get(me))
        .route("/notes", get(list_notes).post(create_note))
        .route("/notes/{id}", delete(delete_note))
}

fn app(security: Security) -> Router {
    routes().with_state(AppState {
        security,
        notes: Arc::default(),
    })
}

/// The configuration from the environment; with no key configured at all, a demo one.
fn security() -> Result<(Security, bool), secure_api::ConfigError> {
    const KEY_VARIABLES: [&str; 3] = [
        "SECURE_API_JWT_SECRET",
        "SECURE_API_JWT_SECRET_FILE",
        "SECURE_API_JWT_PUBLIC_KEY_FILE",
    ];
    if KEY_VARIABLES
        .iter()
        .any(|name| std::env::var_os(name).is_some())
    {
        // Some configuration was given: use it exactly, or refuse to start.
        return Security::from_env().map(|security| (security, false));
    }
    let security = Security::builder()
        .issuer("secure-api-quickstart")
        .audience("secure-api-quickstart")
        .ephemeral_key()
        .build()?;
    Ok((security, true))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--manifest") {
        let manifest = routes().manifest();
        match args.next().as_deref() {
            Some("json") => println!("{}", manifest.to_json()),
            _ => print!("{manifest}"),
        }
        return Ok(());
    }

    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let (security, demo) = match security() {
        Ok(configured) => configured,
        Err(error) => {
            eprintln!("secure-api quickstart cannot start: {error}");
            std::process::exit(1);
        }
    };
    let address: SocketAddr = std::env::var("QUICKSTART_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".into())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(address).await?;
    let base = format!("http://{}", listener.local_addr()?);

    if demo {
        let token = security.mint(
            "demo",
            &["writer"],
            &["notes:read"],
            Duration::from_secs(60 * 60),
        )?;
        println!(
            "\n*** DEMO MODE: no SECURE_API_JWT_* key is configured, so this process made up a \
             random key. ***\n*** Tokens it signs stop working when it exits. Never run it \
             like this in production. ***\n\n\
             A token for the demo user (role writer, scope notes:read), valid for one hour:\n\n  \
             export TOKEN={token}\n\n\
             Try:\n  \
             curl {base}/health\n  \
             curl -H \"Authorization: Bearer $TOKEN\" {base}/me\n  \
             curl -H \"Authorization: Bearer $TOKEN\" -H 'content-type: application/json' \
             -d '{{\"text\":\"hello\"}}' {base}/notes\n  \
             curl -H \"Authorization: Bearer $TOKEN\" '{base}/notes?limit=10'\n  \
             curl -i -X DELETE -H \"Authorization: Bearer $TOKEN\" {base}/notes/1   # 403: not an admin\n"
        );
    }
    tracing::info!("listening on {base}");
    axum::serve(
        listener,
        app(security).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
