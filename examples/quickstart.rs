//! The smallest complete secure-api service: roles with a hierarchy, a public route,
//! validated input and a password login. Sign-up, refresh, logout and a second factor are in
//! the demo (`examples/demo`).
//!
//! With no `SECURE_API_*` key configured (`cargo run --example quickstart`), it makes up a
//! key for this process alone and prints a token, and the password of its one account
//! (`demo`), to try it with curl at once. Set `SECURE_API_ISSUER`, `SECURE_API_AUDIENCE` and
//! `SECURE_API_JWT_SECRET_FILE` to verify real tokens. `-- --manifest` (or `--manifest json`)
//! prints every route's policy.

use axum::extract::{FromRef, Path, State};
use axum::{Json, http::StatusCode};
use secure_api::login::{Login, LoginLimits};
use secure_api::routing::{SecureRouter, delete, get, post};
use secure_api::{AuthUser, ClientIp, Principal, Problem, Security, TokenPair, secure};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

// Every role and scope the API knows, once. An admin is granted everything a writer is.
secure_api::roles! { admin > writer }
secure_api::scopes! { "notes:read" }

/// The state; `FromRef` lets the guard find the `Security` in it, and handlers take a part.
#[derive(Clone, FromRef)]
struct App {
    security: Security,
    login: Arc<Login>,
    demo_password_hash: Arc<str>,
    notes: Notes,
}

type Notes = Arc<Mutex<Vec<Value>>>;

fn lock(notes: &Notes) -> std::sync::MutexGuard<'_, Vec<Value>> {
    notes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(serde::Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct Note {
    #[garde(length(chars, min = 1, max = 280))]
    text: String,
}

#[derive(serde::Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct Credentials {
    #[garde(length(chars, min = 1, max = 64))]
    username: String,
    #[garde(length(chars, min = 1, max = 128))]
    password: String,
}

#[secure(public, rate = "60/1m")]
async fn health() -> &'static str {
    "ok"
}

/// Who the verified token says the caller is.
#[secure(rate = "120/1m")]
async fn me(user: AuthUser) -> String {
    user.subject().to_owned()
}

/// The caller's own notes: the verified subject decides which (object-level authorization).
#[secure(scope = "notes:read", rate = "120/1m")]
async fn list_notes(State(notes): State<Notes>, user: AuthUser) -> Json<Vec<Value>> {
    let notes = lock(&notes);
    Json(
        notes
            .iter()
            .filter(|note| note["by"] == user.subject())
            .cloned()
            .collect(),
    )
}

#[secure(role = "writer", rate = "30/15m", validate)]
async fn create_note(
    State(notes): State<Notes>,
    user: AuthUser,
    Json(note): Json<Note>,
) -> StatusCode {
    let mut notes = lock(&notes);
    let id = notes.len() + 1;
    notes.push(json!({ "id": id, "by": user.subject(), "text": note.text }));
    StatusCode::CREATED
}

/// Only administrators delete, and only 10 notes a minute between all of them.
#[secure(role = "admin", rate = "10/1m", rate_key = "global")]
async fn delete_note(State(notes): State<Notes>, Path(id): Path<usize>) -> StatusCode {
    lock(&notes).retain(|note| note["id"] != id);
    StatusCode::NO_CONTENT
}

/// One answer for a wrong password and an unknown user; failures throttled.
#[secure(public, rate = "30/15m", validate)]
async fn login(
    State(app): State<App>,
    ClientIp(client): ClientIp,
    Json(given): Json<Credentials>,
) -> Result<Json<TokenPair>, Problem> {
    let stored = (given.username == "demo").then(|| (app.demo_password_hash.to_string(), ()));
    app.login
        .attempt(&given.username, &given.password, client, stored)
        .await?;
    let demo = Principal::new("demo", &["pwd"]).with_roles(&["writer"]);
    Ok(Json(
        app.security
            .issue(&demo.with_scopes(&["notes:read"]))
            .await?,
    ))
}

fn routes() -> SecureRouter<App> {
    SecureRouter::new()
        .route("/health", get(health))
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/notes", get(list_notes).post(create_note))
        .route("/notes/{id}", delete(delete_note))
}

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--manifest") {
        let manifest = routes().manifest();
        match std::env::args().nth(2).as_deref() {
            Some("json") => println!("{}", manifest.to_json()),
            _ => print!("{manifest}"),
        }
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt().with_env_filter("info").init();
    // Display, not the Debug that `?` out of main prints: a configuration error names the
    // variable to set.
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("secure-api quickstart cannot start: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // Any SECURE_API_* variable: that configuration exactly, or no start at all.
    let demo_mode = !std::env::vars().any(|(name, _)| name.starts_with("SECURE_API_"));
    let security = match demo_mode {
        true => Security::builder()
            .issuer("demo")
            .audience("demo")
            .ephemeral_key()
            .build()?,
        false => Security::from_env()?,
    };
    let login = Login::new(LoginLimits::default());
    let password = format!("{:032x}", rand::random::<u128>()); // printed in demo mode only
    let demo_password_hash = login.passwords().hash(&password)?.into();
    let address = std::env::var("QUICKSTART_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(address).await?;
    let base = format!("http://{}", listener.local_addr()?);
    if demo_mode {
        let hour = std::time::Duration::from_secs(3600);
        let token = security.mint("demo", &["writer"], &["notes:read"], hour)?;
        let auth = "-H \"Authorization: Bearer $TOKEN\"";
        println!(
            "\n*** DEMO MODE: a random key for this process; its tokens die with it. Never in \
             production. ***\nA token for the user `demo` (role writer, scope notes:read), for an \
             hour, and the password of `demo`:\n\n  export TOKEN={token}\n  export \
             PASSWORD={password}\n\nTry:\n  curl {base}/health\n  curl {auth} {base}/me\n  \
             curl {auth} -H 'content-type: application/json' -d '{{\"text\":\"hello\"}}' \
             {base}/notes\n  curl {auth} {base}/notes\n  \
             curl -i -X DELETE {auth} {base}/notes/1   # 403: not an admin\n  \
             curl -H 'content-type: application/json' \
             -d '{{\"username\":\"demo\",\"password\":\"'$PASSWORD'\"}}' {base}/login\n"
        );
    }
    tracing::info!("listening on {base}");
    let (login, notes) = (Arc::new(login), Arc::default());
    let app = App {
        security,
        login,
        demo_password_hash,
        notes,
    };
    let app = routes().with_state(app);
    // Header and idle timeouts, a cap on connections, and the client address for the guard.
    secure_api::serve(listener, app).await?;
    Ok(())
}
