//! Serving TLS 1.3 and nothing older (D5), from a certificate chain and key in PEM files:
//!
//! - `TLS_CERT_FILE`: the certificate chain, the server's own certificate first;
//! - `TLS_KEY_FILE`: its private key (PKCS#8, PKCS#1 or SEC1).
//!
//! Neither set: plain HTTP (for a load balancer that terminates TLS, or a laptop). One set
//! without the other, or a file that cannot be used: the demo refuses to start, naming the
//! variable at fault and never quoting the key.
//!
//! TLS is served by axum-server, with the limits of `secure_api::serve` as far as it has
//! them: the TLS handshake (10 s, axum-server's default), then the first request (10 s),
//! then each request head (10 s, which on HTTP/1.1 also ends an idle kept-alive connection:
//! hyper starts that clock when it begins to wait for a head). Over the connection cap a new
//! connection is closed at once: axum-server accepts before it asks, so making it wait would
//! hold a file open for each. What it lacks: an idle limit for HTTP/2 connections after their
//! first request (pings only find dead peers) and a cap on the size of HTTP/1.1 heads other
//! than hyper's buffer limit.

use axum::Router;
use axum_server::accept::Accept;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::future::{Ready, ready};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

const CERT: &str = "TLS_CERT_FILE";
const KEY: &str = "TLS_KEY_FILE";

/// The TLS configuration the environment asks for, if any; `Err` says why it cannot be used.
pub(crate) fn config_from_env() -> Result<Option<rustls::ServerConfig>, String> {
    let cert_file = std::env::var_os(CERT).filter(|path| !path.is_empty());
    let key_file = std::env::var_os(KEY).filter(|path| !path.is_empty());
    match (cert_file, key_file) {
        (None, None) => Ok(None),
        (Some(cert_file), Some(key_file)) => {
            config(&PathBuf::from(cert_file), &PathBuf::from(key_file)).map(Some)
        }
        (None, Some(_)) => Err(format!(
            "{CERT} is not set: it names the PEM file of the certificate chain for {KEY}"
        )),
        (Some(_), None) => Err(format!(
            "{KEY} is not set: it names the PEM file of the private key for {CERT}"
        )),
    }
}

/// A rustls configuration that speaks TLS 1.3 and nothing else, on the ring provider.
fn config(cert_file: &Path, key_file: &Path) -> Result<rustls::ServerConfig, String> {
    let chain = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| pem_problem(CERT, cert_file, &error, "certificate"))?;
    if chain.is_empty() {
        return Err(format!(
            "{CERT}: {} holds no PEM certificate",
            cert_file.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|error| pem_problem(KEY, key_file, &error, "private key"))?;

    // Explicitly ring: with two providers compiled in (feature unification), rustls would
    // refuse to pick one at run time. A provider the application installed first stays.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let mut config =
        rustls::ServerConfig::builder_with_protocol_versions(&[&rustls::version::TLS13])
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|error| format!("{CERT} and {KEY} cannot be used together: {error}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// What went wrong with a PEM file, without anything read from it: a parse error could
/// quote a line of the private key.
fn pem_problem(variable: &str, path: &Path, error: &pem::Error, what: &str) -> String {
    let reason = match error {
        pem::Error::Io(error) => format!("cannot be read ({})", error.kind()),
        pem::Error::NoItemsFound => format!("holds no PEM {what}"),
        _ => format!("is not a valid PEM {what}"),
    };
    format!("{variable}: {} {reason}", path.display())
}

/// Serves `app` over TLS on `listener` until Ctrl-C, then drains for up to 10 s.
pub(crate) async fn serve(
    listener: TcpListener,
    config: rustls::ServerConfig,
    app: Router,
) -> io::Result<()> {
    const TIMEOUT: Duration = Duration::from_secs(10);
    let handle = axum_server::Handle::new();
    let shutdown = handle.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.graceful_shutdown(Some(TIMEOUT));
    });
    let capped = Capped {
        handle: handle.clone(),
        max: 1024,
    };
    let acceptor =
        RustlsAcceptor::new(RustlsConfig::from_config(Arc::new(config))).acceptor(capped);
    let mut server = axum_server::from_tcp(listener.into_std()?)?
        .acceptor(acceptor)
        .handle(handle)
        .first_request_timeout(TIMEOUT)
        .accept_error_handler(|peer, error| {
            tracing::debug!(target: "demo", ?peer, %error, "connection not accepted");
        });
    let http = server.http_builder();
    http.http1()
        .header_read_timeout(TIMEOUT)
        .max_buf_size(32 * 1024);
    http.http2()
        .max_header_list_size(32 * 1024)
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20));
    // The guard needs the client address for per-IP limits.
    server
        .serve(app.into_make_service_with_connect_info::<SocketAddr>())
        .await
}

/// Closes a connection that would exceed `max` open ones, before its TLS handshake.
#[derive(Clone)]
struct Capped {
    handle: axum_server::Handle<SocketAddr>,
    max: usize,
}

impl<S> Accept<TcpStream, S> for Capped {
    type Stream = TcpStream;
    type Service = S;
    type Future = Ready<io::Result<(TcpStream, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        // The count includes this connection.
        ready(if self.handle.connection_count() > self.max {
            Err(io::Error::other("over the connection cap"))
        } else {
            Ok((stream, service))
        })
    }
}
