//! A real OpenID provider for the end-to-end tests of discovery and JWKS: `oidc-provider`
//! (tests/oidc/provider.mjs, written by nobody here), started with node on a free loopback
//! port, issuing RFC 9068 JWT access tokens by the client credentials grant, signed with keys
//! the test generates and controls. Restarting it with other keys on the same port is a key
//! rotation; stopping it is an outage.
//!
//! The smoke tests below assert what the provider really serves, independently of
//! secure-api's verifier. Without node or the installed fixture (`npm ci --prefix tests/oidc`)
//! they say so loudly and pass, unless `TESTS_REQUIRE_OIDC=1` (as CI sets), which makes
//! a missing provider a failure.

use crate::common::{client, now};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The resource indicator (RFC 8707) of the API the tokens are for: their `aud`.
pub(crate) const RESOURCE: &str = "urn:secure-api:test";
/// The one client, allowed the client credentials grant (its secret is fresh per provider).
pub(crate) const CLIENT_ID: &str = "secure-api-tests";
/// The scopes the resource server knows: a token carries those of the requested ones it
/// knows and silently drops the others, as oidc-provider does.
pub(crate) const SCOPES: &str = "notes:read notes:write reports:read";
/// The `roles` claim of every access token.
pub(crate) const ROLES: &[&str] = &["editor"];

/// One private signing key as a JWK, with its `kid` and `alg`.
#[derive(Clone)]
pub(crate) struct ProviderKey {
    private: Value,
}

impl ProviderKey {
    /// A fresh P-256 key for ES256.
    pub(crate) fn es256(kid: &str) -> Self {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let secret = p256::SecretKey::random(&mut rand08::thread_rng());
        let point = secret.public_key().to_encoded_point(false);
        let b64 = |bytes: &[u8]| BASE64URL.encode(bytes);
        Self {
            private: json!({
                "kty": "EC",
                "crv": "P-256",
                "kid": kid,
                "alg": "ES256",
                "use": "sig",
                "x": b64(point.x().expect("uncompressed point")),
                "y": b64(point.y().expect("uncompressed point")),
                "d": b64(&secret.to_bytes()),
            }),
        }
    }

    /// A fresh 2048-bit RSA key for RS256, with the CRT parameters a JWK carries.
    pub(crate) fn rs256(kid: &str) -> Self {
        use rsa::traits::{PrivateKeyParts, PublicKeyParts};
        let key = rsa::RsaPrivateKey::new(&mut rand08::thread_rng(), 2048).expect("rsa key");
        let b64 = |number: &rsa::BigUint| BASE64URL.encode(number.to_bytes_be());
        let [p, q] = key.primes() else {
            panic!("a two-prime RSA key")
        };
        Self {
            private: json!({
                "kty": "RSA",
                "kid": kid,
                "alg": "RS256",
                "use": "sig",
                "n": b64(key.n()),
                "e": b64(key.e()),
                "d": b64(key.d()),
                "p": b64(p),
                "q": b64(q),
                "dp": b64(key.dp().expect("precomputed")),
                "dq": b64(key.dq().expect("precomputed")),
                "qi": b64(&key.crt_coefficient().expect("precomputed")),
            }),
        }
    }

    pub(crate) fn kid(&self) -> &str {
        self.private["kid"].as_str().expect("kid")
    }

    /// The JWK without its private members: what a JWKS may publish.
    pub(crate) fn public(&self) -> Value {
        let mut public = self.private.clone();
        let members = public.as_object_mut().expect("a JWK is an object");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            members.remove(private);
        }
        public
    }
}

/// The key set given to the provider: the first key signs, the others are only published
/// (the overlap of a rotation).
pub(crate) struct ProviderKeys {
    keys: Vec<ProviderKey>,
}

impl ProviderKeys {
    pub(crate) fn new(keys: Vec<ProviderKey>) -> Self {
        assert!(!keys.is_empty(), "a provider needs a signing key");
        Self { keys }
    }

    /// The `kid` of the key that signs.
    pub(crate) fn signing_kid(&self) -> &str {
        self.keys[0].kid()
    }

    /// The JWKS the provider should serve, in order.
    pub(crate) fn public_jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(ProviderKey::public).collect::<Vec<_>>() })
    }

    fn private_jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(|key| key.private.clone()).collect::<Vec<_>>() })
    }
}

/// A running `oidc-provider` (node), killed on drop.
pub(crate) struct OidcProvider {
    child: Option<Child>,
    port: u16,
    secret: String,
    /// The private JWKS the running process was given; replaced on restart.
    _jwks: tempfile::NamedTempFile,
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Installs the fixture from its lock file the first time a test needs it, so that
/// `cargo test --workspace` alone runs these tests on a machine with node and npm (as
/// `.ci/run` does beforehand). Once per test process; a failure is reported by `start`.
fn install_fixture() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        if fixture()
            .join("node_modules/oidc-provider/package.json")
            .exists()
        {
            return;
        }
        eprintln!("installing the OpenID provider fixture: npm ci --prefix tests/oidc");
        let installed = Command::new("npm")
            .args([
                "ci",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(fixture())
            .status();
        if !matches!(installed, Ok(status) if status.success()) {
            eprintln!("npm ci --prefix tests/oidc failed: {installed:?}");
        }
    });
}

impl OidcProvider {
    /// Starts one with `keys`, or says why not (`None`) when node or the fixture is missing
    /// and not required.
    pub(crate) fn start(keys: &ProviderKeys) -> Option<Self> {
        install_fixture();
        let installed = fixture().join("node_modules/oidc-provider/package.json");
        let node = Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let missing = match node {
            Err(error) => Some(format!("node cannot start ({error})")),
            Ok(_) if !installed.exists() => Some(format!("{} is missing", installed.display())),
            Ok(_) => None,
        };
        if let Some(why) = missing {
            if std::env::var("TESTS_REQUIRE_OIDC").is_ok_and(|v| v == "1") {
                panic!("TESTS_REQUIRE_OIDC=1 but the OpenID provider cannot start: {why}")
            }
            eprintln!(
                "\n*** SKIPPED: the OpenID provider cannot start: {why}; the OIDC tests did NOT \
                 run. Install node (20.12 or later) and run `npm ci --prefix tests/oidc`, or run \
                 .ci/run. ***\n"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut bytes = [0u8; 32];
        rand::Fill::fill(&mut bytes[..], &mut rand::rng());
        let secret = BASE64URL.encode(bytes);
        let (child, jwks) = spawn(port, &secret, keys);
        Some(Self {
            child: Some(child),
            port,
            secret,
            _jwks: jwks,
        })
    }

    /// Stops the provider and starts it again on the same port with `keys`: a key rotation
    /// (or the end of an outage after `stop`). Tokens issued before stay valid JWTs; the
    /// provider forgets everything else (its store is in memory).
    pub(crate) fn restart_with(&mut self, keys: &ProviderKeys) {
        self.stop();
        let (child, jwks) = spawn(self.port, &self.secret, keys);
        self.child = Some(child);
        self._jwks = jwks;
    }

    /// Stops the provider: nothing answers on its port until `restart_with`.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `http://127.0.0.1:<port>`, the `iss` of its tokens; the same across restarts.
    pub(crate) fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
    }

    /// Where it publishes its JWKS (oidc-provider's default route, as discovery says).
    pub(crate) fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer())
    }

    fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer())
    }

    /// An access token by the client credentials grant for `RESOURCE`, with the `scope`
    /// requested (space separated; the provider keeps those in `SCOPES`).
    pub(crate) async fn access_token(&self, scope: &str) -> String {
        let response = client()
            .post(self.token_endpoint())
            .basic_auth(CLIENT_ID, Some(&self.secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&resource={}&scope={}",
                form_encode(RESOURCE),
                form_encode(scope)
            ))
            .send()
            .await
            .expect("token request");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON token response");
        assert_eq!(status, 200, "token response: {body}");
        assert_eq!(body["token_type"], "Bearer", "token response: {body}");
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {body}"))
            .to_owned()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts node on `port` with the private JWKS in a temp file, and waits until discovery
/// answers (its output, kept in a temp file, is shown if it never does).
fn spawn(port: u16, secret: &str, keys: &ProviderKeys) -> (Child, tempfile::NamedTempFile) {
    let jwks = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(jwks.path(), keys.private_jwks().to_string()).expect("write the JWKS");
    let log = tempfile::tempfile().expect("temp file");
    let mut child = Command::new("node")
        .arg(fixture().join("provider.mjs"))
        .env("OIDC_PORT", port.to_string())
        .env("OIDC_JWKS_FILE", jwks.path())
        .env("OIDC_CLIENT_ID", CLIENT_ID)
        .env("OIDC_CLIENT_SECRET", secret)
        .env("OIDC_RESOURCE", RESOURCE)
        .env("OIDC_SCOPES", SCOPES)
        .env("OIDC_ROLES", json!(ROLES).to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log.try_clone().expect("log file"))
        .spawn()
        .expect("start node");
    let output = |mut log: &std::fs::File| {
        let mut printed = String::new();
        let _ = std::io::Seek::rewind(&mut log);
        let _ = log.read_to_string(&mut printed);
        printed
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while discovery_status(port) != Some(200) {
        if let Some(status) = child.try_wait().expect("child status") {
            panic!("the OpenID provider exited ({status}):\n{}", output(&log));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the OpenID provider did not answer on {port} in 20 s:\n{}",
                output(&log)
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    (child, jwks)
}

/// The status of `GET /.well-known/openid-configuration`, over a plain blocking socket (the
/// harness is synchronous, as redis.rs's is), or `None` when nothing answers yet.
fn discovery_status(port: u16) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET /.well-known/openid-configuration HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// `application/x-www-form-urlencoded` for one value: unreserved characters as they are.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

async fn get_json(url: &str) -> Value {
    let response = client().get(url).send().await.expect("request");
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().await.expect("JSON")
}

/// The header and claims of a compact JWS, decoded without verifying anything.
fn parts(token: &str) -> (Value, Value) {
    let segments: Vec<&str> = token.split('.').collect();
    assert_eq!(segments.len(), 3, "a compact JWS: {token}");
    let decode = |segment: &str| -> Value {
        serde_json::from_slice(&BASE64URL.decode(segment).expect("base64url")).expect("JSON")
    };
    (decode(segments[0]), decode(segments[1]))
}

/// Verifies `token` with the provider's JWKS as served, for its issuer and `RESOURCE`.
async fn verify(provider: &OidcProvider, token: &str) -> Value {
    let jwks: JwkSet = serde_json::from_value(get_json(&provider.jwks_uri()).await).expect("JWKS");
    let header = jsonwebtoken::decode_header(token).expect("header");
    let kid = header.kid.expect("kid");
    let jwk = jwks.find(&kid).expect("the signing key is published");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[provider.issuer()]);
    validation.set_audience(&[RESOURCE]);
    jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_jwk(jwk).expect("key"),
        &validation,
    )
    .expect("the provider signs with the key we gave it")
    .claims
}

#[tokio::test]
async fn discovery_names_the_issuer_its_jwks_and_the_client_credentials_grant() {
    let keys = ProviderKeys::new(vec![ProviderKey::es256("es-1")]);
    let Some(provider) = OidcProvider::start(&keys) else {
        return;
    };
    let discovery = get_json(&provider.discovery_url()).await;
    assert_eq!(discovery["issuer"], provider.issuer());
    assert_eq!(discovery["jwks_uri"], provider.jwks_uri());
    assert_eq!(discovery["token_endpoint"], provider.token_endpoint());
    let grants = discovery["grant_types_supported"]
        .as_array()
        .expect("grants");
    assert!(grants.contains(&json!("client_credentials")), "{discovery}");
}

#[tokio::test]
async fn the_jwks_holds_exactly_the_public_halves_of_the_given_keys() {
    let keys = ProviderKeys::new(vec![ProviderKey::es256("es-1"), ProviderKey::rs256("rs-1")]);
    let Some(provider) = OidcProvider::start(&keys) else {
        return;
    };
    let served = get_json(&provider.jwks_uri()).await;
    // Same keys, same order, same members: kid, kty, alg, use and the public parameters.
    assert_eq!(served, keys.public_jwks());
    for key in served["keys"].as_array().expect("keys") {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "{private} published in {key}");
        }
    }
}

#[tokio::test]
async fn a_client_credentials_token_is_a_jwt_access_token_signed_by_the_first_key() {
    let keys = ProviderKeys::new(vec![ProviderKey::es256("es-1"), ProviderKey::rs256("rs-1")]);
    let Some(provider) = OidcProvider::start(&keys) else {
        return;
    };
    let token = provider
        .access_token("notes:read reports:read unknown:scope")
        .await;
    let (header, claims) = parts(&token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], "es-1");
    assert_eq!(claims["iss"], provider.issuer());
    assert_eq!(claims["aud"], RESOURCE);
    assert_eq!(claims["client_id"], CLIENT_ID);
    assert_eq!(
        claims["sub"], CLIENT_ID,
        "a client's token is about the client"
    );
    assert_eq!(claims["roles"], json!(ROLES));
    // The resource server does not know `unknown:scope`: the provider drops it silently.
    assert_eq!(claims["scope"], "notes:read reports:read");
    let exp = claims["exp"].as_i64().expect("exp");
    let iat = claims["iat"].as_i64().expect("iat");
    assert_eq!(exp - iat, 300);
    assert!((iat - now()).abs() < 60, "iat {iat} is now");
    assert!(claims["jti"].is_string());

    assert_eq!(verify(&provider, &token).await, claims);
}

#[tokio::test]
async fn an_rsa_signing_key_signs_rs256() {
    let keys = ProviderKeys::new(vec![ProviderKey::rs256("rs-1")]);
    let Some(provider) = OidcProvider::start(&keys) else {
        return;
    };
    let token = provider.access_token("notes:write").await;
    let (header, claims) = parts(&token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], "rs-1");
    assert_eq!(claims["scope"], "notes:write");
    assert_eq!(verify(&provider, &token).await, claims);
}

#[tokio::test]
async fn restarting_with_new_keys_rotates_the_jwks_and_the_signing_key() {
    let old = || ProviderKey::es256("2026-old");
    let first = ProviderKeys::new(vec![old()]);
    let Some(mut provider) = OidcProvider::start(&first) else {
        return;
    };
    let issuer = provider.issuer();
    let before = provider.access_token("notes:read").await;
    assert_eq!(parts(&before).0["kid"], "2026-old");

    // The overlap: the new key signs, the old one is still published.
    let overlap = ProviderKeys::new(vec![ProviderKey::rs256("2026-new"), old()]);
    provider.restart_with(&overlap);
    assert_eq!(provider.issuer(), issuer, "the same port");
    assert_eq!(get_json(&provider.jwks_uri()).await, overlap.public_jwks());
    let during = provider.access_token("notes:read").await;
    assert_eq!(parts(&during).0["kid"], overlap.signing_kid());
    verify(&provider, &during).await;

    // The old key retired: a token it signed no longer finds its key in the JWKS.
    let last = ProviderKeys::new(vec![ProviderKey::es256("2026-last")]);
    provider.restart_with(&last);
    assert_eq!(get_json(&provider.jwks_uri()).await, last.public_jwks());
    let after = provider.access_token("notes:read").await;
    assert_eq!(parts(&after).0["kid"], "2026-last");
    verify(&provider, &after).await;
    let served: JwkSet =
        serde_json::from_value(get_json(&provider.jwks_uri()).await).expect("JWKS");
    assert!(served.find("2026-old").is_none());
    assert!(served.find("2026-new").is_none());
}

#[tokio::test]
async fn a_stopped_provider_no_longer_answers_until_restarted() {
    let keys = ProviderKeys::new(vec![ProviderKey::es256("es-1")]);
    let Some(mut provider) = OidcProvider::start(&keys) else {
        return;
    };
    assert_eq!(
        get_json(&provider.discovery_url()).await["issuer"],
        provider.issuer()
    );
    provider.stop();
    let down = client().get(provider.discovery_url()).send().await;
    assert!(down.is_err(), "still answering: {down:?}");
    provider.restart_with(&keys);
    assert_eq!(
        get_json(&provider.discovery_url()).await["issuer"],
        provider.issuer()
    );
}
