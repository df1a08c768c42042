//! The demo API: what a small, real service on secure-api looks like.
//!
//! ```text
//! cargo run --example demo
//! ```
//!
//! Users with roles (`admin > user`), notes that belong to their owner and to nobody else
//! (object-level checks, OWASP API1), admin routes, public health and signup, password login
//! with refresh-token rotation and logout, a TOTP second factor and a route that requires it
//! — every route on the guarded router, every query parameterized, every request type closed
//! to unknown fields, e-mail addresses and TOTP secrets sealed at rest, and the hardening
//! layers around it all.
//!
//! One file per concern: `config.rs` (every setting, from the environment), `state.rs` (what
//! the handlers share), `db.rs` (SQLite), `auth.rs` (accounts, sessions, the second factor),
//! `notes.rs`, `admin.rs`, `keys.rs` (API keys for machine clients), `tls.rs`; this file
//! starts the service.
//!
//! Runs on embedded defaults: a SQLite file `demo.db` (`DEMO_DB` to move it), an in-memory
//! limiter and token store, and — unless `SECURE_API_*` keys and `DEMO_SEAL_KEY_FILE` are
//! configured — keys made up for this process, an empty database each run, and an `admin`
//! account whose password is printed at start. With configured keys the database persists,
//! and `DEMO_ADMIN_PASSWORD_FILE` creates the `admin` account on the first start. It refuses
//! to start on settings it would ignore (a `SECURE_API_*` variable without
//! `SECURE_API_ISSUER`) or could not serve (a key that cannot sign the tokens it issues).
//!
//! With `SECURE_API_JWT_ALGORITHM` (ES256, EdDSA, RS256…) and `SECURE_API_JWT_PRIVATE_KEY_FILE`,
//! it signs its tokens with that private key and publishes the public half at
//! `/.well-known/jwks.json`, for other services to verify them.
//!
//! Refresh families and revoked access tokens live in memory unless `DEMO_TOKEN_DB` names a
//! SQLite file for them (kept apart from `DEMO_DB`, as `SqliteTokenStore` asks), so that
//! sessions survive a restart, or `SECURE_API_REDIS_URL` puts them (and the rate limits) in
//! a Redis shared by several instances.
//!
//! `TLS_CERT_FILE` and `TLS_KEY_FILE` (PEM) make it serve TLS 1.3 only, with HSTS:
//!
//! ```text
//! TLS_CERT_FILE=chain.pem TLS_KEY_FILE=key.pem cargo run --example demo
//! ```
//!
//! `cargo run --example demo -- --manifest` prints every route's policy and exits
//! (`--manifest json` for JSON); `-- --openapi` prints the OpenAPI document, which the demo
//! also serves at `/openapi.json`.

use config::Config;
use secure_api::login::{Login, LoginLimits};
use secure_api::mfa::Totp;
use secure_api::routing::{SecureRouter, get};
use secure_api::{Hardening, secure};
use state::Demo;
use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use tokio::net::{TcpListener, TcpSocket};

// Every role the API knows, once, at the crate root: an admin is granted what a user is.
secure_api::roles! { admin > user }
// The scopes API keys can be given (`keys.rs`).
secure_api::scopes! { "reports:read" }

mod admin;
mod auth;
mod config;
mod db;
mod keys;
mod notes;
mod state;
mod tls;

/// Anyone may check that the service is up.
#[secure(public, rate = "60/1m")]
async fn health() -> &'static str {
    "ok"
}

/// The OpenAPI document of every route, derived from their policies: made once, served as is.
#[secure(public, rate = "60/1m")]
async fn openapi() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let document = DOCUMENT.get_or_init(openapi_document);
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        document,
    )
}

fn openapi_document() -> String {
    let document = routes().openapi("secure-api demo", env!("CARGO_PKG_VERSION"));
    serde_json::to_string_pretty(&document).unwrap_or_default()
}

/// Every route, each with its declared policy; nothing else can be mounted here.
fn routes() -> SecureRouter<Demo> {
    SecureRouter::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .merge(auth::routes())
        .merge(notes::routes())
        .merge(admin::routes())
        .merge(keys::routes())
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let first = args.next();
    if first.as_deref() == Some("--openapi") {
        println!("{}", openapi_document());
        return ExitCode::SUCCESS;
    }
    if first.as_deref() == Some("--manifest") {
        let manifest = routes().manifest();
        match args.next().as_deref() {
            Some("json") => println!("{}", manifest.to_json()),
            _ => print!("{manifest}"),
        }
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("secure-api demo cannot start: {reason}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let config = Config::from_env().await?;
    // Lock-outs and spent one-time codes live where the rate limits do: with
    // SECURE_API_REDIS_URL, in Redis, for every instance.
    let budgets = config.security.limit_store();
    let demo = Demo {
        security: config.security,
        db: db::open(&config.db, config.ephemeral).await?,
        login: Arc::new(Login::new(LoginLimits::default()).with_store(Arc::clone(&budgets))),
        sealer: Arc::new(config.sealer),
        totp: Arc::new(Totp::new("secure-api demo").with_store(budgets)),
    };

    let address = config.address;
    let listener = listen(address)
        .map_err(|error| format!("cannot listen on {address} (DEMO_ADDR): {error}"))?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let base = format!("{scheme}://{}", listener.local_addr()?);
    if config.ephemeral {
        // A fresh administrator for this run; the keys die with the process anyway.
        let password = format!("{:032x}", rand::random::<u128>());
        db::create_admin(&demo, &password).await?;
        println!(
            "\n*** DEMO MODE: keys made up for this process; tokens die with it, and the database \
             starts empty each run. Configure SECURE_API_* and DEMO_SEAL_KEY_FILE to keep them. ***\n\
             Administrator for this run: admin / {password}\n\n\
             Try:\n  curl {base}/health\n  \
             curl -H 'content-type: application/json' -d \
             '{{\"username\":\"alice\",\"password\":\"correct horse battery\",\"email\":\"alice@example.org\"}}' \
             {base}/signup\n"
        );
    } else if let Some(path) = config.admin_password_file {
        let password = std::fs::read_to_string(path).map_err(|error| {
            format!("DEMO_ADMIN_PASSWORD_FILE cannot be read ({})", error.kind())
        })?;
        if db::create_admin(&demo, password.trim_end()).await? {
            tracing::info!(target: "demo", "created the administrator account `admin`");
        }
    }

    let mut hardening =
        Hardening::new().cors_origins(config.cors_origins.iter().map(String::as_str))?;
    if config.tls.is_some() {
        hardening = hardening.hsts();
    }
    let app = hardening.apply(routes().into_router()).with_state(demo);
    println!("listening on {base}");
    match config.tls {
        Some(tls) => tls::serve(listener, tls, app).await?,
        // Header and idle timeouts, a connection cap, and the client address for the guard.
        None => {
            secure_api::Server::new(listener, app)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?
        }
    }
    Ok(())
}

/// A listener whose backlog holds a burst of 1024 connections (`TcpListener::bind` gives 128):
/// over the connection cap, that is where new clients wait.
fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(1024)
}
