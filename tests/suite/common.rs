//! What the integration tests share: generated keys, a server on a loopback port, a client,
//! and a way to sign tokens exactly as an attacker or an identity provider would; the
//! examples started as their users start them, and snapshots of what they print.

use axum::Router;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secure_api::jwt::Key;
use secure_api::test::TestResponse;
use secure_api::{Secret, Security};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub(crate) const ISSUER: &str = "https://issuer.test";
pub(crate) const AUDIENCE: &str = "secure-api-tests";

/// An HMAC secret fresh from the generator, handed to `Security` the only way it accepts one:
/// through a secret file. The test keeps the bytes to sign (and forge) tokens with.
pub(crate) struct HmacKey {
    pub(crate) bytes: Vec<u8>,
    file: tempfile::NamedTempFile,
}

impl HmacKey {
    pub(crate) fn generate() -> Self {
        let mut bytes = vec![0u8; 64];
        rand::Fill::fill(&mut bytes[..], &mut rand::rng());
        // A trailing newline would be trimmed by Secret::from_file; keep the bytes honest.
        while bytes.last() == Some(&b'\n') {
            bytes.pop();
            bytes.push(b'x');
        }
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), &bytes).expect("write secret");
        Self { bytes, file }
    }

    pub(crate) fn key(&self) -> Key {
        Key::hmac(
            Algorithm::HS256,
            Secret::from_file(self.file.path()).expect("secret file"),
        )
        .expect("64 bytes suffice for HS256")
    }

    pub(crate) fn encoding(&self) -> EncodingKey {
        EncodingKey::from_secret(&self.bytes)
    }
}

/// A `Security` for HS256 with the test issuer and audience.
pub(crate) fn hs256_security(key: &HmacKey) -> Security {
    Security::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(key.key())
        .build()
        .expect("valid configuration")
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Claims an honest issuer would put in a 5-minute access token.
pub(crate) fn claims(subject: &str, roles: &[&str], scope: &str) -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": now(),
        "nbf": now(),
        "exp": now() + 300,
        "roles": roles,
        "scope": scope,
    })
}

/// Signs an access token (`typ: at+jwt`, RFC 9068).
pub(crate) fn sign(
    claims: &Value,
    algorithm: Algorithm,
    key: &EncodingKey,
    kid: Option<&str>,
) -> String {
    sign_typed(claims, algorithm, key, kid, "at+jwt")
}

pub(crate) fn sign_typed(
    claims: &Value,
    algorithm: Algorithm,
    key: &EncodingKey,
    kid: Option<&str>,
    typ: &str,
) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    header.typ = Some(typ.to_owned());
    jsonwebtoken::encode(&header, claims, key).expect("signing")
}

/// Serves `router` on a free loopback port with the client address available to guards.
pub(crate) async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("server");
    });
    address
}

/// Sends every request at once and counts the answers: (200s, 429s). Any other status fails
/// the test, since a limit under concurrency must answer nothing else.
pub(crate) async fn admitted_and_throttled(
    requests: impl IntoIterator<Item = reqwest::RequestBuilder>,
) -> (usize, usize) {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            tokio::spawn(async move { request.send().await.expect("request").status().as_u16() })
        })
        .collect();
    let (mut admitted, mut throttled) = (0, 0);
    for task in tasks {
        match task.await.expect("task") {
            200 => admitted += 1,
            429 => throttled += 1,
            other => panic!("a limit under concurrency answered {other}"),
        }
    }
    (admitted, throttled)
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client")
}

/// Status, headers and JSON body of a response, over HTTP or in process, for assertions.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
}

impl Answer {
    pub(crate) async fn from(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        Self::read(status, headers, &bytes)
    }

    /// The answer of a router called in process by the test kit.
    pub(crate) fn of(response: TestResponse) -> Self {
        let status = response.status().as_u16();
        Self::read(status, response.headers().clone(), response.bytes())
    }

    fn read(status: u16, headers: reqwest::header::HeaderMap, bytes: &[u8]) -> Self {
        let body = serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()));
        Self {
            status,
            headers,
            body,
        }
    }

    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|value| value.to_str().expect("ascii header"))
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    /// Asserts an RFC 9457 problem with this status.
    pub(crate) fn assert_problem(&self, status: u16) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.header("content-type"), "application/problem+json");
        assert_eq!(self.body["status"], status);
        assert_eq!(self.body["type"], "about:blank");
        assert!(self.body["title"].is_string());
        assert!(self.body["detail"].is_string());
    }
}

/// The demo, started as its users start it (`env` added to its embedded defaults), on a
/// database of its own that lives as long as the process handle.
pub(crate) struct RunningDemo {
    pub(crate) running: Running,
    _folder: tempfile::TempDir,
}

pub(crate) fn start_demo(env: &[(&str, &str)]) -> RunningDemo {
    let folder = tempfile::tempdir().expect("temp dir");
    let db = folder.path().join("demo.db");
    let mut env = env.to_vec();
    env.push(("DEMO_DB", db.to_str().expect("utf-8 path")));
    RunningDemo {
        running: Running::start(example_command("demo", "examples/demo", "DEMO_ADDR", &env)),
        _folder: folder,
    }
}

/// A command for the compiled example `name`, which listens on the address in `address_var`
/// (a free loopback port) and otherwise sees only `env`.
///
/// `cargo test` builds examples next to the test binaries' `deps` folder; a lone
/// `cargo test --test suite` does not rebuild them, so a binary older than its source is
/// refused rather than tested.
pub(crate) fn example_command(
    name: &str,
    source: &str,
    address_var: &str,
    env: &[(&str, &str)],
) -> Command {
    let deps = std::env::current_exe().expect("test binary path");
    let profile = deps
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let binary: PathBuf = profile
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let built = std::fs::metadata(&binary)
        .and_then(|meta| meta.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} was not built: run `cargo test --workspace`",
                binary.display()
            )
        });
    // A multi-file example is a folder: its newest file counts.
    let source_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(source);
    let sources = match std::fs::read_dir(&source_path) {
        Ok(folder) => folder
            .map(|entry| entry.expect("example folder entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
            .collect(),
        Err(_) => vec![source_path],
    };
    let written = sources
        .iter()
        .map(|path| {
            std::fs::metadata(path)
                .and_then(|meta| meta.modified())
                .expect("example source")
        })
        .max()
        .expect("an example source file");
    assert!(
        built >= written,
        "{} is older than {source}: run `cargo test --workspace` (or `cargo build --example {name}`)",
        binary.display()
    );
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env(address_var, "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A running example: what it printed before it listened, and its base URL. Killed on drop.
pub(crate) struct Running {
    child: Child,
    pub(crate) printed: Vec<String>,
    pub(crate) base: String,
}

impl Running {
    /// Starts the command and reads its output until `listening on <url>`; the rest of the
    /// output is drained in the background so that logging never blocks the server.
    pub(crate) fn start(mut command: Command) -> Self {
        let mut child = command.spawn().expect("start example");
        let stdout = child.stdout.take().expect("stdout");
        if let Some(mut stderr) = child.stderr.take() {
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        }
        let mut printed = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            assert!(
                Instant::now() < deadline,
                "no 'listening on' in {printed:#?}"
            );
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("the example exited early: {printed:#?}"))
                .expect("utf-8 output");
            if let Some((_, address)) = line.split_once("listening on ") {
                break address.trim().to_owned();
            }
            printed.push(line);
        };
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            printed,
            base,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Compares `actual` with `tests/snapshots/{file}`, the reviewed version; with
/// `SNAPSHOTS=overwrite` (`SNAPSHOTS=overwrite cargo test --test suite manifest`) writes it
/// instead, for the diff to be reviewed before it is committed.
pub(crate) fn assert_snapshot(file: &str, actual: &str) {
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let path = snapshots.join(file);
    if std::env::var("SNAPSHOTS").is_ok_and(|value| value == "overwrite") {
        std::fs::create_dir_all(&snapshots).expect("snapshot folder");
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual, expected,
        "{file} changed; review the change and run with SNAPSHOTS=overwrite"
    );
}
