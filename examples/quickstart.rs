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
//!
//! Accounts live in memory: sign up, log in, refresh, log out, and enrol a TOTP
//! authenticator for the routes that want a second factor (see the README's walk-through).

use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use secure_api::login::{Login, LoginLimits};
use secure_api::mfa::Totp;
use secure_api::routing::{SecureRouter, delete, get, post};
use secure_api::{AuthUser, ClientIp, Principal, Problem, Security, TokenPair, secure};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
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
    accounts: Arc<Mutex<HashMap<String, Account>>>,
    login: Arc<Login>,
    totp: Arc<Totp>,
}

struct Account {
    password_hash: String,
    roles: Vec<String>,
    totp_secret: Option<String>,
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
    let notes = lock(&state.notes);
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
    let mut notes = lock(&state.notes);
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
    let mut notes = lock(&state.notes);
    let before = notes.len();
    notes.retain(|note| note.id != id);
    match notes.len() < before {
        true => StatusCode::NO_CONTENT,
        false => StatusCode::NOT_FOUND,
    }
}

#[derive(Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct Credentials {
    #[garde(length(chars, min = 3, max = 64), pattern(r"^[A-Za-z0-9_.@-]+$"))]
    username: String,
    // An upper bound keeps a megabyte "password" from costing a megabyte of hashing.
    #[garde(length(chars, min = 12, max = 128))]
    password: String,
}

#[derive(Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    #[garde(length(min = 43, max = 64))]
    refresh_token: String,
}

#[derive(Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct LogoutRequest {
    #[garde(inner(length(min = 43, max = 64)))]
    refresh_token: Option<String>,
}

#[derive(Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct OneTimeCode {
    #[garde(length(min = 6, max = 6), pattern(r"^[0-9]{6}$"))]
    code: String,
}

/// New accounts get the writer role.
#[secure(public, rate = "10/1h", validate)]
async fn signup(
    State(state): State<AppState>,
    Json(credentials): Json<Credentials>,
) -> Result<StatusCode, Problem> {
    let password_hash = state
        .login
        .passwords()
        .hash(&credentials.password)
        .map_err(|_| Problem::internal())?;
    let mut accounts = lock(&state.accounts);
    if accounts.contains_key(&credentials.username) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "This username is taken.",
        ));
    }
    accounts.insert(
        credentials.username,
        Account {
            password_hash,
            roles: vec!["writer".into()],
            totp_secret: None,
        },
    );
    Ok(StatusCode::CREATED)
}

/// A password login: the same answer for an unknown user as for a wrong password, and
/// failures throttled per account and per address.
#[secure(public, rate = "30/15m", validate)]
async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    Json(credentials): Json<Credentials>,
) -> Result<Json<TokenPair>, Problem> {
    let stored = lock(&state.accounts)
        .get(&credentials.username)
        .map(|account| (account.password_hash.clone(), account.roles.clone()));
    let logged_in = state.login.attempt(
        &credentials.username,
        &credentials.password,
        client,
        stored.as_ref().map(|(hash, roles)| (hash.as_str(), roles)),
    )?;
    let roles: Vec<&str> = logged_in.account.iter().map(String::as_str).collect();
    let principal = Principal::new(credentials.username, &["pwd"])
        .with_roles(&roles)
        .with_scopes(&["notes:read"]);
    Ok(Json(state.security.issue(&principal).await?))
}

/// Spends a refresh token for a new pair; a spent one revokes the whole family.
#[secure(public, rate = "60/15m", validate)]
async fn refresh(
    State(state): State<AppState>,
    Json(request): Json<RefreshRequest>,
) -> Result<Json<TokenPair>, Problem> {
    Ok(Json(state.security.refresh(&request.refresh_token).await?))
}

/// Revokes this access token and, if given, the refresh family.
#[secure(rate = "30/1m", validate)]
async fn logout(
    State(state): State<AppState>,
    user: AuthUser,
    Json(request): Json<LogoutRequest>,
) -> Result<StatusCode, Problem> {
    state
        .security
        .logout(&user, request.refresh_token.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new TOTP secret for the caller's authenticator app.
#[secure(rate = "5/1h")]
async fn mfa_enrol(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<secure_api::mfa::TotpEnrolment>, Problem> {
    let enrolment = state
        .totp
        .enrol(user.subject())
        .map_err(|_| Problem::internal())?;
    let mut accounts = lock(&state.accounts);
    let account = accounts
        .get_mut(user.subject())
        .ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, "No such account."))?;
    account.totp_secret = Some(enrolment.secret.clone());
    Ok(Json(enrolment))
}

/// Step-up: a valid code earns tokens that carry the second factor (`amr: ["pwd", "otp"]`).
#[secure(rate = "10/15m", validate)]
async fn mfa_verify(
    State(state): State<AppState>,
    user: AuthUser,
    Json(request): Json<OneTimeCode>,
) -> Result<Json<TokenPair>, Problem> {
    let secret = lock(&state.accounts)
        .get(user.subject())
        .and_then(|account| account.totp_secret.clone());
    let valid =
        secret.is_some_and(|secret| state.totp.verify(user.subject(), &secret, &request.code));
    if !valid {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "The one-time code is not valid.",
        ));
    }
    let roles: Vec<&str> = user.roles().iter().map(String::as_str).collect();
    let scopes: Vec<&str> = user.scopes().iter().map(String::as_str).collect();
    let principal = Principal::new(user.subject(), &["pwd", "otp"])
        .with_roles(&roles)
        .with_scopes(&scopes);
    Ok(Json(state.security.issue(&principal).await?))
}

/// Needs a second factor used within the last 15 minutes.
#[secure(mfa = "15m", rate = "10/1m")]
async fn security_settings(user: AuthUser) -> String {
    format!("security settings of {}", user.subject())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Every route, each with its declared policy; nothing else can be mounted here.
fn routes() -> SecureRouter<AppState> {
    SecureRouter::new()
        .route("/health", get(health))
        .route("/me", get(me))
        .route("/me/security", get(security_settings))
        .route("/notes", get(list_notes).post(create_note))
        .route("/notes/{id}", delete(delete_note))
        .route("/auth/signup", post(signup))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/mfa/enrol", post(mfa_enrol))
        .route("/auth/mfa/verify", post(mfa_verify))
}

fn app(security: Security) -> Router {
    routes().with_state(AppState {
        security,
        notes: Arc::default(),
        accounts: Arc::default(),
        login: Arc::new(Login::new(LoginLimits::default())),
        totp: Arc::new(Totp::new("secure-api quickstart")),
    })
}

/// The configuration from the environment; with no key configured at all, a demo one.
/// `QUICKSTART_TOKEN_DB=tokens.db` keeps refresh families and revocations in a SQLite file
/// instead of memory.
async fn security() -> Result<(Security, bool), Box<dyn std::error::Error>> {
    const KEY_VARIABLES: [&str; 3] = [
        "SECURE_API_JWT_SECRET",
        "SECURE_API_JWT_SECRET_FILE",
        "SECURE_API_JWT_PUBLIC_KEY_FILE",
    ];
    let configured = KEY_VARIABLES
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    let mut builder = if configured {
        // Some configuration was given: use it exactly, or refuse to start.
        Security::builder().from_env()?
    } else {
        Security::builder()
            .issuer("secure-api-quickstart")
            .audience("secure-api-quickstart")
            .ephemeral_key()
    };
    if let Some(path) = std::env::var_os("QUICKSTART_TOKEN_DB") {
        let path = path.to_str().ok_or("QUICKSTART_TOKEN_DB is not UTF-8")?;
        builder = builder.token_store(secure_api::SqliteTokenStore::open(path).await?);
    }
    Ok((builder.build()?, !configured))
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

    let (security, demo) = match security().await {
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
