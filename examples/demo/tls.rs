//! Serving TLS 1.3 and nothing older (D5), from a certificate chain and key in PEM files:
//!
//! - `TLS_CERT_FILE`: the certificate chain, the server's own certificate first;
//! - `TLS_KEY_FILE`: its private key (PKCS#8, PKCS#1 or SEC1).
//!
//! Neither set: plain HTTP (for a load balancer that terminates TLS, or a laptop). One set
//! without the other, or a file that cannot be used: the demo refuses to start, naming the
//! variable at fault and never quoting the key.

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};

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
