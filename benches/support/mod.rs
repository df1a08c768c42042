//! What the benches need to make and sign tokens — an HMAC key whose bytes they keep, the
//! issuer and audience, and a signer — and to run a guard alone: a request's parts with a
//! client address, and a poll of a future that never waits. (The integration tests have their own helpers in
//! `tests/suite/common.rs`; a bench does not depend on them.)

use criterion::Criterion;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secure_api::Secret;
use secure_api::jwt::Key;
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) const ISSUER: &str = "https://issuer.test";
pub(crate) const AUDIENCE: &str = "secure-api-bench";

/// Criterion's settings for the micro-benchmarks: short enough for a shared 2-core machine;
/// criterion still reports its confidence interval, which BENCHMARKS.md quotes.
pub(crate) fn criterion_config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(50)
}

/// An HMAC secret fresh from the generator, handed to `Security` the only way it accepts one:
/// through a secret file. The bench keeps the bytes to sign tokens with.
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

/// Seconds since the epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Signs an access token (`typ: at+jwt`, RFC 9068).
pub(crate) fn sign(claims: &Value, algorithm: Algorithm, key: &EncodingKey) -> String {
    let mut header = Header::new(algorithm);
    header.typ = Some("at+jwt".to_owned());
    jsonwebtoken::encode(&header, claims, key).expect("signing")
}

/// The parts of `GET {path}` with one header and the client address the guard reads.
pub(crate) fn request_parts(
    path: &str,
    name: axum::http::HeaderName,
    value: String,
) -> axum::http::request::Parts {
    let mut parts = axum::http::Request::get(path)
        .header(name, value)
        .body(())
        .expect("request")
        .into_parts()
        .0;
    parts
        .extensions
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            40000,
        ))));
    parts
}

/// Polls a future that never waits (a guard over in-memory stores) once.
pub(crate) fn now_or_never<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("waited on an in-memory store"),
    }
}
