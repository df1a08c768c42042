//! A secure-api service that terminates TLS itself, with TLS 1.3 only (D5).
//!
//! ```text
//! TLS_CERT_FILE=cert.pem TLS_KEY_FILE=key.pem cargo run --example tls
//! curl --cacert ca.pem https://localhost:8443/health
//! ```
//!
//! - `TLS_CERT_FILE`: the certificate chain, PEM, the server's own certificate first;
//! - `TLS_KEY_FILE`: its private key, PEM (PKCS#8, PKCS#1 or SEC1);
//! - `TLS_ADDR`: where to listen, `127.0.0.1:8443` by default.
//!
//! A missing or unreadable file stops the process with exit code 1 and a message naming the
//! variable at fault; nothing of the key is ever printed. A client that offers only TLS 1.2
//! or older fails the handshake.
//!
//! Tokens are verified as `Security::from_env` says when a `SECURE_API_JWT_*` key is set;
//! otherwise the process makes up a key of its own, which only it can sign with.

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use secure_api::routing::{SecureRouter, get};
use secure_api::{AuthUser, Security, secure};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

// Every role the API knows, once.
secure_api::roles! { admin > reader }

/// Anyone may ask whether the service is up, 60 times a minute per address.
#[secure(public, rate = "60/1m")]
async fn health() -> &'static str {
    "ok"
}

/// Who the token says the caller is.
#[secure(role = "reader", rate = "120/1m")]
async fn me(user: AuthUser) -> String {
    user.subject().to_owned()
}

fn app(security: Security) -> Router {
    SecureRouter::new()
        .route("/health", get(health))
        .route("/me", get(me))
        .with_state(security)
}

/// Why the process cannot start: already worded for the operator.
struct Refusal(String);

impl<E: std::fmt::Display> From<E> for Refusal {
    fn from(error: E) -> Self {
        Self(error.to_string())
    }
}

/// The file named by the environment variable `name`.
fn file_of(name: &str) -> Result<PathBuf, Refusal> {
    match std::env::var_os(name) {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => Err(Refusal(format!(
            "{name} is not set: it names the PEM file of the {}",
            match name {
                "TLS_KEY_FILE" => "private key",
                _ => "certificate chain",
            }
        ))),
    }
}

/// What went wrong with a PEM file, without anything read from it: a parse error could
/// quote a line of the private key.
fn pem_problem(name: &str, path: &std::path::Path, error: &pem::Error, what: &str) -> Refusal {
    let reason = match error {
        pem::Error::Io(error) => format!("cannot be read ({})", error.kind()),
        pem::Error::NoItemsFound => format!("holds no PEM {what}"),
        _ => format!("is not a valid PEM {what}"),
    };
    Refusal(format!("{name}: {} {reason}", path.display()))
}

/// A rustls configuration that speaks TLS 1.3 and nothing else, on the ring provider.
fn tls_config() -> Result<rustls::ServerConfig, Refusal> {
    let cert_file = file_of("TLS_CERT_FILE")?;
    let key_file = file_of("TLS_KEY_FILE")?;
    let chain = CertificateDer::pem_file_iter(&cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| pem_problem("TLS_CERT_FILE", &cert_file, &error, "certificate"))?;
    if chain.is_empty() {
        return Err(Refusal(format!(
            "TLS_CERT_FILE: {} holds no PEM certificate",
            cert_file.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&key_file)
        .map_err(|error| pem_problem("TLS_KEY_FILE", &key_file, &error, "private key"))?;

    // Explicitly ring: with two providers compiled in (feature unification), rustls would
    // refuse to pick one at run time. A provider the application installed first stays.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let mut config =
        rustls::ServerConfig::builder_with_protocol_versions(&[&rustls::version::TLS13])
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|error| {
                Refusal(format!(
                    "TLS_CERT_FILE and TLS_KEY_FILE cannot be used together: {error}"
                ))
            })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The configuration from the environment; with no key configured at all, one of the
/// process's own.
fn security() -> Result<Security, Refusal> {
    const KEY_VARIABLES: [&str; 3] = [
        "SECURE_API_JWT_SECRET",
        "SECURE_API_JWT_SECRET_FILE",
        "SECURE_API_JWT_PUBLIC_KEY_FILE",
    ];
    if KEY_VARIABLES
        .iter()
        .any(|name| std::env::var_os(name).is_some())
    {
        return Ok(Security::from_env()?);
    }
    Ok(Security::builder()
        .issuer("secure-api-tls")
        .audience("secure-api-tls")
        .ephemeral_key()
        .build()?)
}

async fn run() -> Result<(), Refusal> {
    let config = tls_config()?;
    let security = security()?;
    let address: SocketAddr = std::env::var("TLS_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:8443".into())
        .parse()
        .map_err(|error| Refusal(format!("TLS_ADDR is not a socket address: {error}")))?;
    let listener = std::net::TcpListener::bind(address)
        .map_err(|error| Refusal(format!("cannot listen on {address} (TLS_ADDR): {error}")))?;
    let local = listener.local_addr()?;

    let handle = axum_server::Handle::new();
    let shutdown = handle.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    println!("listening on https://{local} (TLS 1.3 only)");
    axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(Arc::new(config)))?
        .handle(handle)
        // The guard needs the client address for per-IP limits.
        .serve(app(security).into_make_service_with_connect_info::<SocketAddr>())
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Refusal(reason)) => {
            eprintln!("secure-api tls example cannot start: {reason}");
            ExitCode::FAILURE
        }
    }
}
