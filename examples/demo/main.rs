//! The demo API: what a small, real service on secure-api looks like.
//!
//! ```text
//! cargo run --example demo
//! ```
//!
//! Users with roles (`admin > user`), notes that belong to their owner and to nobody else
//! (object-level checks, OWASP API1), admin routes, public health and signup — every route on
//! the guarded router, every query parameterized, every request type closed to unknown fields,
//! the e-mail address sealed at rest, and the hardening layers around it all.
//!
//! Runs on embedded defaults: a SQLite file `demo.db` (`DEMO_DB` to move it), an in-memory
//! limiter, and — unless `SECURE_API_*` keys and `DEMO_SEAL_KEY_FILE` are configured — keys
//! made up for this process, an empty database each run, and an `admin` account whose
//! password is printed at start. With configured keys the database persists, and
//! `DEMO_ADMIN_PASSWORD_FILE` creates the `admin` account on the first start.
//!
//! `TLS_CERT_FILE` and `TLS_KEY_FILE` (PEM) make it serve TLS 1.3 only, with HSTS:
//!
//! ```text
//! TLS_CERT_FILE=chain.pem TLS_KEY_FILE=key.pem cargo run --example demo
//! ```

use axum::Json;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum_server::tls_rustls::RustlsConfig;
use secure_api::login::{Login, LoginLimits};
use secure_api::routing::{SecureRouter, get, post};
use secure_api::seal::Sealer;
use secure_api::{
    AuthUser, ClientIp, Hardening, Principal, Problem, Secret, Security, TokenPair, secure,
};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

mod tls;

secure_api::roles! { admin > user }

#[derive(Clone)]
struct Demo {
    security: Security,
    db: SqlitePool,
    login: Arc<Login>,
    sealer: Arc<Sealer>,
}

impl FromRef<Demo> for Security {
    fn from_ref(demo: &Demo) -> Security {
        demo.security.clone()
    }
}

/// Any database failure: logged, answered as a bare 500.
fn db_error(error: sqlx::Error) -> Problem {
    tracing::error!(target: "demo", %error, "database error");
    Problem::internal()
}

#[derive(Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct Signup {
    #[garde(length(chars, min = 3, max = 32), pattern(r"^[a-z0-9_.-]+$"))]
    username: String,
    #[garde(length(chars, min = 12, max = 128))]
    password: String,
    #[garde(email, length(max = 254))]
    email: String,
}

#[derive(Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct Credentials {
    #[garde(length(chars, min = 3, max = 32))]
    username: String,
    #[garde(length(chars, min = 1, max = 128))]
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
struct NoteInput {
    #[garde(length(chars, min = 1, max = 120))]
    title: String,
    #[garde(length(chars, max = 10_000))]
    body: String,
}

#[derive(Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct Page {
    #[garde(range(min = 1, max = 100))]
    #[serde(default = "Page::default_limit")]
    limit: u32,
    #[garde(range(max = 1_000_000))]
    #[serde(default)]
    offset: u32,
}

impl Page {
    fn default_limit() -> u32 {
        20
    }
}

#[derive(Serialize, sqlx::FromRow)]
struct Note {
    id: i64,
    title: String,
    body: String,
}

#[derive(Serialize)]
struct Profile {
    id: i64,
    username: String,
    email: String,
    roles: Vec<String>,
}

/// Anyone may check that the service is up.
#[secure(public, rate = "60/1m")]
async fn health() -> &'static str {
    "ok"
}

/// New accounts are plain users; the e-mail address is sealed before it is stored.
#[secure(public, rate = "10/1h", validate)]
async fn signup(
    State(demo): State<Demo>,
    Json(signup): Json<Signup>,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    let hash = demo
        .login
        .passwords()
        .hash(&signup.password)
        .map_err(|_| Problem::internal())?;
    let id = create_user(&demo, &signup.username, &hash, "user", &signup.email).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

async fn create_user(
    demo: &Demo,
    username: &str,
    password_hash: &str,
    roles: &str,
    email: &str,
) -> Result<i64, Problem> {
    // The username is the associated data: a sealed address copied to another row won't open.
    let sealed = demo
        .sealer
        .seal(email.as_bytes(), username.as_bytes())
        .map_err(|_| Problem::internal())?;
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO users (username, password_hash, roles, email_sealed) VALUES (?, ?, ?, ?) \
         RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(roles)
    .bind(sealed)
    .fetch_one(&demo.db)
    .await;
    match inserted {
        Ok(id) => Ok(id),
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Err(Problem::new(
            StatusCode::CONFLICT,
            "This username is taken.",
        )),
        Err(error) => Err(db_error(error)),
    }
}

/// Password login; one answer for every failure, failures throttled.
#[secure(public, rate = "30/15m", validate)]
async fn login(
    State(demo): State<Demo>,
    ClientIp(client): ClientIp,
    Json(credentials): Json<Credentials>,
) -> Result<Json<TokenPair>, Problem> {
    let stored: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, password_hash, roles FROM users WHERE username = ?")
            .bind(&credentials.username)
            .fetch_optional(&demo.db)
            .await
            .map_err(db_error)?;
    let logged_in = demo.login.attempt(
        &credentials.username,
        &credentials.password,
        client,
        stored
            .as_ref()
            .map(|(id, hash, roles)| (hash.as_str(), (*id, roles.as_str()))),
    )?;
    let (id, roles) = logged_in.account;
    if let Some(rehashed) = &logged_in.rehashed {
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(rehashed)
            .bind(id)
            .execute(&demo.db)
            .await
            .map_err(db_error)?;
    }
    let roles: Vec<&str> = roles.split_whitespace().collect();
    let principal = Principal::new(id.to_string(), &["pwd"]).with_roles(&roles);
    Ok(Json(demo.security.issue(&principal).await?))
}

#[secure(public, rate = "60/15m", validate)]
async fn refresh(
    State(demo): State<Demo>,
    Json(request): Json<RefreshRequest>,
) -> Result<Json<TokenPair>, Problem> {
    Ok(Json(demo.security.refresh(&request.refresh_token).await?))
}

#[secure(rate = "30/1m")]
async fn logout(State(demo): State<Demo>, user: AuthUser) -> Result<StatusCode, Problem> {
    demo.security.logout(&user, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller, with the e-mail address unsealed.
#[secure(role = "user", rate = "120/1m")]
async fn me(State(demo): State<Demo>, user: AuthUser) -> Result<Json<Profile>, Problem> {
    let id = user_id(&user)?;
    let (username, sealed, roles): (String, String, String) =
        sqlx::query_as("SELECT username, email_sealed, roles FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&demo.db)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, "The account no longer exists."))?;
    let email = demo
        .sealer
        .open(&sealed, username.as_bytes())
        .ok()
        .and_then(|email| String::from_utf8(email).ok())
        .ok_or_else(Problem::internal)?;
    Ok(Json(Profile {
        id,
        username,
        email,
        roles: roles.split_whitespace().map(str::to_owned).collect(),
    }))
}

/// The subject of the demo's tokens is the user id.
fn user_id(user: &AuthUser) -> Result<i64, Problem> {
    user.subject().parse().map_err(|_| Problem::invalid_token())
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
    .map_err(db_error)?;
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
    .map_err(db_error)?;
    Ok((StatusCode::CREATED, Json(note)))
}

/// Another user's note answers exactly like a note that does not exist.
fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "No such note.")
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
        .map_err(db_error)?
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
    .map_err(db_error)?
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
        .map_err(db_error)?;
    match deleted.rows_affected() {
        0 => Err(not_found()),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

#[derive(Serialize, sqlx::FromRow)]
struct UserRow {
    id: i64,
    username: String,
    roles: String,
}

/// Administrators see the accounts (not their secrets).
#[secure(role = "admin", rate = "60/1m", validate)]
async fn list_users(
    State(demo): State<Demo>,
    Query(page): Query<Page>,
) -> Result<Json<Vec<UserRow>>, Problem> {
    let users = sqlx::query_as::<_, UserRow>(
        "SELECT id, username, roles FROM users ORDER BY id LIMIT ? OFFSET ?",
    )
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(&demo.db)
    .await
    .map_err(db_error)?;
    Ok(Json(users))
}

/// Allow, deny and throttle counts per handler and reason, to spot an attack in progress.
#[secure(role = "admin", rate = "60/1m")]
async fn counters(State(demo): State<Demo>) -> Json<Vec<secure_api::Counter>> {
    Json(demo.security.counters())
}

fn routes() -> SecureRouter<Demo> {
    SecureRouter::new()
        .route("/health", get(health))
        .route("/signup", post(signup))
        .route("/login", post(login))
        .route("/refresh", post(refresh))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/notes", get(list_notes).post(create_note))
        .route(
            "/notes/{id}",
            get(read_note).put(update_note).delete(delete_note),
        )
        .route("/admin/users", get(list_users))
        .route("/admin/counters", get(counters))
}

/// Creates the `admin` account unless it exists; says whether it did.
async fn create_admin(demo: &Demo, password: &str) -> Result<bool, Box<dyn std::error::Error>> {
    let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = 'admin'")
        .fetch_optional(&demo.db)
        .await?;
    if existing.is_some() {
        return Ok(false);
    }
    let hash = demo.login.passwords().hash(password)?;
    create_user(demo, "admin", &hash, "admin", "admin@demo.invalid")
        .await
        .map_err(|problem| problem.to_string())?;
    Ok(true)
}

/// Keys from the environment, or made up for this process (and said so).
fn configuration() -> Result<(Security, Sealer, bool), Box<dyn std::error::Error>> {
    let configured = std::env::var_os("SECURE_API_ISSUER").is_some();
    let security = if configured {
        Security::from_env()?
    } else {
        Security::builder()
            .issuer("secure-api-demo")
            .audience("secure-api-demo")
            .ephemeral_key()
            .build()?
    };
    let seal_key = match std::env::var_os("DEMO_SEAL_KEY_FILE") {
        Some(path) => Secret::from_file(path)?,
        None if configured => return Err("DEMO_SEAL_KEY_FILE is not set".into()),
        None => Secret::generate(32),
    };
    let sealer = Sealer::new().key("demo-1", seal_key)?;
    Ok((security, sealer, !configured))
}

/// Opens (and migrates) the database. With keys made up for this process it starts empty:
/// addresses sealed under an earlier run's key could never be opened again.
async fn database(fresh: bool) -> Result<SqlitePool, Box<dyn std::error::Error>> {
    let path = std::env::var("DEMO_DB").unwrap_or_else(|_| "demo.db".into());
    if fresh {
        for file in [path.clone(), format!("{path}-wal"), format!("{path}-shm")] {
            match std::fs::remove_file(&file) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    return Err(error.into());
                }
                _ => {}
            }
        }
    }
    let options = SqliteConnectOptions::from_str(&path)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true);
    let pool = SqlitePool::connect_with(options).await?;
    sqlx::migrate!("examples/demo/migrations")
        .run(&pool)
        .await?;
    Ok(pool)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if std::env::args().nth(1).as_deref() == Some("--manifest") {
        print!("{}", routes().manifest());
        return ExitCode::SUCCESS;
    }
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("secure-api demo cannot start: {reason}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let tls = tls::config_from_env()?;
    let (security, sealer, demo_keys) = configuration()?;
    let demo = Demo {
        security,
        db: database(demo_keys).await?,
        login: Arc::new(Login::new(LoginLimits::default())),
        sealer: Arc::new(sealer),
    };

    let address: SocketAddr = std::env::var("DEMO_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".into())
        .parse()
        .map_err(|error| format!("DEMO_ADDR is not a socket address: {error}"))?;
    let listener = std::net::TcpListener::bind(address)
        .map_err(|error| format!("cannot listen on {address} (DEMO_ADDR): {error}"))?;
    listener.set_nonblocking(true)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = format!("{scheme}://{}", listener.local_addr()?);
    if demo_keys {
        // A fresh administrator for this run; the keys die with the process anyway.
        let password = format!("{:032x}", rand::random::<u128>());
        create_admin(&demo, &password).await?;
        println!(
            "\n*** DEMO MODE: keys made up for this process; tokens die with it, and the database \
             starts empty each run. Configure SECURE_API_* and DEMO_SEAL_KEY_FILE to keep them. ***\n\
             Administrator for this run: admin / {password}\n\n\
             Try:\n  curl {base}/health\n  \
             curl -H 'content-type: application/json' -d \
             '{{\"username\":\"alice\",\"password\":\"correct horse battery\",\"email\":\"alice@example.org\"}}' \
             {base}/signup\n"
        );
    } else if let Some(path) = std::env::var_os("DEMO_ADMIN_PASSWORD_FILE") {
        let password = std::fs::read_to_string(path).map_err(|error| {
            format!("DEMO_ADMIN_PASSWORD_FILE cannot be read ({})", error.kind())
        })?;
        if create_admin(&demo, password.trim_end()).await? {
            tracing::info!(target: "demo", "created the administrator account `admin`");
        }
    }

    let cors = std::env::var("DEMO_CORS_ORIGINS").unwrap_or_default();
    let mut hardening =
        Hardening::new().cors_origins(cors.split(',').filter(|origin| !origin.is_empty()))?;
    if tls.is_some() {
        hardening = hardening.hsts();
    }
    // The guard needs the client address for per-IP limits.
    let app = hardening
        .apply(routes().into_router())
        .with_state(demo)
        .into_make_service_with_connect_info::<SocketAddr>();
    println!("listening on {base}");
    match tls {
        Some(config) => {
            let handle = axum_server::Handle::new();
            let shutdown = handle.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                shutdown.graceful_shutdown(Some(Duration::from_secs(10)));
            });
            axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(Arc::new(config)))?
                .handle(handle)
                .serve(app)
                .await?;
        }
        None => {
            axum::serve(tokio::net::TcpListener::from_std(listener)?, app)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
        }
    }
    Ok(())
}
