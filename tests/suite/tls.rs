//! The demo serving TLS as an operator runs it (D5): the real example binary, given a
//! certificate of a test CA through `TLS_CERT_FILE`/`TLS_KEY_FILE`, reached over loopback by
//! rustls clients that verify the server against that CA.

use crate::common::{self, Running};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{AlertDescription, ClientConfig, ProtocolVersion, RootCertStore};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Every wait of this file ends by then.
const WAIT: Duration = Duration::from_secs(20);

/// A test CA, and a server certificate it signed for `localhost` and `127.0.0.1`, written as
/// PEM files the way an operator would hand them to the server.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertificateDer<'static>,
    cert_file: PathBuf,
    key_file: PathBuf,
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "secure-api test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server parameters");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().expect("server key");
    let cert = params.signed_by(&key, &issuer).expect("server certificate");

    let dir = tempfile::tempdir().expect("tempdir");
    let cert_file = dir.path().join("chain.pem");
    let key_file = dir.path().join("key.pem");
    // The chain: the server's certificate first, then the CA's.
    std::fs::write(&cert_file, cert.pem() + &ca_cert.pem()).expect("write chain");
    std::fs::write(&key_file, key.serialize_pem()).expect("write key");
    Pki {
        dir,
        ca: ca_cert.der().clone(),
        cert_file,
        key_file,
    }
}

/// The demo's command with `env` and a database of its own in the test's folder.
fn command(pki: &Pki, env: &[(&str, &Path)]) -> Command {
    let db = pki.dir.path().join("demo.db");
    let mut env: Vec<(&str, &str)> = env
        .iter()
        .map(|(name, path)| (*name, path.to_str().expect("utf-8 path")))
        .collect();
    env.push(("DEMO_DB", db.to_str().expect("utf-8 path")));
    common::example_command("demo", "examples/demo", "DEMO_ADDR", &env)
}

/// The demo serving TLS with the test CA's certificate, and the address it listens on.
fn start(pki: &Pki) -> (Running, SocketAddr) {
    let running = Running::start(command(
        pki,
        &[
            ("TLS_CERT_FILE", &pki.cert_file),
            ("TLS_KEY_FILE", &pki.key_file),
        ],
    ));
    let address = running
        .base
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("an https address: {}", running.base))
        .parse()
        .expect("a socket address");
    (running, address)
}

/// Runs the demo to its end, at most [`WAIT`]: its exit status and what it printed on stderr.
fn run_to_exit(pki: &Pki, env: &[(&str, &Path)]) -> (ExitStatus, String) {
    let mut child = command(pki, env).spawn().expect("start the demo");
    let deadline = Instant::now() + WAIT;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the demo did not exit within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A client that trusts `ca` alone and speaks only `version`; verification stays on.
fn client(
    ca: &CertificateDer<'static>,
    version: &'static rustls::SupportedProtocolVersion,
) -> TlsConnector {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).expect("the test CA as a root");
    let config = ClientConfig::builder_with_protocol_versions(&[version])
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn handshake(
    connector: &TlsConnector,
    address: SocketAddr,
    name: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    let server_name = ServerName::try_from(name.to_owned()).expect("a server name");
    let tcp = tokio::time::timeout(WAIT, TcpStream::connect(address))
        .await
        .expect("connect within the timeout")?;
    tokio::time::timeout(WAIT, connector.connect(server_name, tcp))
        .await
        .expect("handshake within the timeout")
}

/// A minimal HTTP/1.1 GET over the TLS stream: the head (status line and headers) and the body.
async fn get(stream: &mut TlsStream<TcpStream>, path: &str) -> (String, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some((head, body)) = split_response(&response) {
            let length = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())
                        .flatten()
                })
                .expect("a content-length");
            if body.len() >= length {
                return (
                    head.clone(),
                    String::from_utf8_lossy(&body[..length]).into_owned(),
                );
            }
        }
        let read = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .expect("the response within the timeout")
            .expect("read the response");
        assert!(read > 0, "connection closed mid-response: {response:?}");
        response.extend_from_slice(&chunk[..read]);
    }
}

fn split_response(response: &[u8]) -> Option<(String, &[u8])> {
    let end = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    Some((head, &response[end + 4..]))
}

/// The rustls error under an I/O error from tokio-rustls.
fn tls_error(error: &std::io::Error) -> Option<&rustls::Error> {
    error.get_ref()?.downcast_ref::<rustls::Error>()
}

#[tokio::test]
async fn tls13_client_gets_health() {
    let pki = pki();
    let (_server, address) = start(&pki);
    let connector = client(&pki.ca, &rustls::version::TLS13);

    for name in ["localhost", "127.0.0.1"] {
        let mut stream = handshake(&connector, address, name)
            .await
            .unwrap_or_else(|error| panic!("TLS 1.3 handshake for {name}: {error}"));
        assert_eq!(
            stream.get_ref().1.protocol_version(),
            Some(ProtocolVersion::TLSv1_3)
        );
        let (head, body) = get(&mut stream, "/health").await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, "ok");
        // Served over TLS, the demo tells browsers never to come back without it.
        assert!(
            head.to_ascii_lowercase()
                .contains("strict-transport-security: max-age=63072000"),
            "{head}"
        );
    }

    // The guard still guards: no token, no answer.
    let mut stream = handshake(&connector, address, "localhost")
        .await
        .expect("TLS 1.3 handshake");
    let (head, _) = get(&mut stream, "/me").await;
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
}

#[tokio::test]
async fn tls12_client_fails_the_handshake() {
    let pki = pki();
    let (_server, address) = start(&pki);
    let connector = client(&pki.ca, &rustls::version::TLS12);
    let error = handshake(&connector, address, "localhost")
        .await
        .expect_err("a TLS 1.2-only client must not get through");
    // Refused for its version, not for anything else: the server answers a ClientHello that
    // offers no TLS 1.3 with a protocol_version alert (RFC 8446 §4.2.1).
    assert!(
        matches!(
            tls_error(&error),
            Some(rustls::Error::AlertReceived(
                AlertDescription::ProtocolVersion
            ))
        ),
        "{error:?}"
    );

    // The same server, the same CA: TLS 1.3 gets through.
    let tls13 = client(&pki.ca, &rustls::version::TLS13);
    handshake(&tls13, address, "localhost")
        .await
        .expect("TLS 1.3 handshake");
}

#[tokio::test]
async fn client_that_does_not_trust_the_ca_fails() {
    let pki = pki();
    let (_server, address) = start(&pki);
    let other = self::pki();
    let connector = client(&other.ca, &rustls::version::TLS13);
    let error = handshake(&connector, address, "localhost")
        .await
        .expect_err("an unknown issuer must be refused");
    assert!(
        matches!(
            tls_error(&error),
            Some(rustls::Error::InvalidCertificate(_))
        ),
        "{error:?}"
    );
}

#[test]
fn missing_or_unreadable_files_stop_with_exit_1_naming_the_variable() {
    let pki = pki();
    let nowhere = pki.dir.path().join("nowhere.pem");

    let (status, stderr) = run_to_exit(&pki, &[("TLS_KEY_FILE", &pki.key_file)]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TLS_CERT_FILE is not set"), "{stderr}");

    let (status, stderr) = run_to_exit(&pki, &[("TLS_CERT_FILE", &pki.cert_file)]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TLS_KEY_FILE is not set"), "{stderr}");

    let (status, stderr) = run_to_exit(
        &pki,
        &[
            ("TLS_CERT_FILE", &pki.cert_file),
            ("TLS_KEY_FILE", &nowhere),
        ],
    );
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TLS_KEY_FILE"), "{stderr}");
    assert!(stderr.contains("cannot be read"), "{stderr}");

    let (status, stderr) = run_to_exit(
        &pki,
        &[("TLS_CERT_FILE", &nowhere), ("TLS_KEY_FILE", &pki.key_file)],
    );
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TLS_CERT_FILE"), "{stderr}");

    // A key file that is not a key: refused, and none of its content printed.
    let broken = pki.dir.path().join("broken.pem");
    let marker = "c2VjcmV0LWtleS1tYXRlcmlhbA";
    std::fs::write(
        &broken,
        format!("-----BEGIN PRIVATE KEY-----\n{marker}\n-----END RSA PRIVATE KEY-----\n"),
    )
    .expect("write");
    let (status, stderr) = run_to_exit(
        &pki,
        &[("TLS_CERT_FILE", &pki.cert_file), ("TLS_KEY_FILE", &broken)],
    );
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TLS_KEY_FILE"), "{stderr}");
    assert!(!stderr.contains(marker), "{stderr}");

    // The key of another certificate.
    let other = self::pki();
    let (status, stderr) = run_to_exit(
        &pki,
        &[
            ("TLS_CERT_FILE", &pki.cert_file),
            ("TLS_KEY_FILE", &other.key_file),
        ],
    );
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TLS_KEY_FILE"), "{stderr}");
    let key_pem = std::fs::read_to_string(&other.key_file).expect("key");
    let key_body = key_pem.lines().nth(1).expect("a base64 line");
    assert!(!stderr.contains(key_body), "{stderr}");
}
