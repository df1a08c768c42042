//! The three servers of the throughput comparison (BENCHMARKS.md §2), one per mode, all with
//! the same handler: `POST /notes` with a JSON body `{"text": …}`, answered with JSON.
//!
//! - `bare`: the handler on a plain axum router, no protection at all;
//! - `secure`: `#[secure(role = "admin", rate = …, validate)]` on a `SecureRouter`;
//! - `secure-uncached`: the same with the cache of verified tokens turned off, so that every
//!   request verifies its token (the cost of the first request with a new token);
//! - `handwired`: what a user writes today for the same protections: a JWT-verifying
//!   middleware on jsonwebtoken (issuer, audience, `exp`/`nbf`, leeway, the role),
//!   `tower_governor` keyed by the token's subject, and `axum_valid::Garde<Json<_>>`.
//!
//! Rates are set far above what the load can reach, so that no request is refused and the
//! limiters are measured, not their 429s.
//!
//! Two more modes serve the fleet comparison (BENCHMARKS.md §7, `benches/fleet.sh`): the same
//! handler limited to 600 requests a minute per user, its budgets in memory (`fleet-memory`)
//! or in the Redis of `SECURE_API_REDIS_URL` (`fleet-redis`), under a load where some users
//! stay within their limit and others are throttled.
//!
//! ```text
//! throughput_server token                 # prints an access token for the load tool
//! throughput_server tokens N              # prints N tokens, for users user-0 … user-N-1
//! throughput_server bare|secure|secure-uncached|handwired|fleet-memory|fleet-redis 127.0.0.1:PORT
//! ```
//!
//! The HS256 secret comes from `SECURE_API_JWT_SECRET_FILE`, as for `Security::from_env`.
//! `benches/throughput.sh` builds and drives it; run without a mode (as `cargo bench` does)
//! it prints how to use it and exits.

#![allow(missing_docs)]

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secure_api::jwt::Key;
use secure_api::routing::SecureRouter;
use secure_api::{Secret, Security, secure};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tower_governor::GovernorLayer;
use tower_governor::errors::GovernorError;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;

secure_api::roles! { admin }

const ISSUER: &str = "https://issuer.bench";
const AUDIENCE: &str = "secure-api-bench";
const SECRET_FILE: &str = "SECURE_API_JWT_SECRET_FILE";

#[derive(Deserialize, garde::Validate)]
struct NewNote {
    #[garde(length(chars, min = 1, max = 280))]
    text: String,
}

#[derive(Serialize)]
struct Created {
    id: u64,
    length: usize,
}

/// The handler's body, shared by the three servers.
fn create(note: NewNote) -> (StatusCode, Json<Created>) {
    let created = Created {
        id: 1,
        length: note.text.chars().count(),
    };
    (StatusCode::CREATED, Json(created))
}

// ---- (a) unprotected ------------------------------------------------------------------

async fn bare_create(Json(note): Json<NewNote>) -> (StatusCode, Json<Created>) {
    create(note)
}

fn bare() -> Router {
    Router::new().route("/notes", axum::routing::post(bare_create))
}

// ---- (b) #[secure] ---------------------------------------------------------------------

#[secure(role = "admin", rate = "1000000000/1s", validate)]
async fn secure_create(Json(note): Json<NewNote>) -> (StatusCode, Json<Created>) {
    create(note)
}

fn secured(secret: Secret, verified_token_cache: usize) -> Router {
    let security = Security::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(Key::hmac(Algorithm::HS256, secret).expect("HS256 secret"))
        .verified_token_cache(verified_token_cache)
        .build()
        .expect("configuration");
    SecureRouter::new()
        .route("/notes", secure_api::routing::post(secure_create))
        .with_state(security)
}

// ---- the fleet comparison: a limit that some users reach ---------------------------------

#[secure(role = "admin", rate = "600/1m", validate)]
async fn limited_create(Json(note): Json<NewNote>) -> (StatusCode, Json<Created>) {
    create(note)
}

fn fleet(secret: Secret, redis: Option<secure_api::store::RedisStore>) -> Router {
    let mut builder = Security::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(Key::hmac(Algorithm::HS256, secret).expect("HS256 secret"));
    if let Some(store) = redis {
        builder = builder.redis(store);
    }
    SecureRouter::new()
        .route("/notes", secure_api::routing::post(limited_create))
        .with_state(builder.build().expect("configuration"))
}

// ---- (c) hand-wired: jsonwebtoken middleware + tower_governor + axum-valid -------------

#[derive(Debug, Clone, Deserialize)]
#[allow(dead_code)]
struct Claims {
    sub: String,
    exp: u64,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    scope: String,
}

struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

/// Verifies the bearer token, requires the `admin` role and hands the claims on.
async fn authenticate(
    State(verifier): State<Arc<Verifier>>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(token) = token else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let claims = match jsonwebtoken::decode::<Claims>(token, &verifier.key, &verifier.validation) {
        Ok(data) => data.claims,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    if !claims.roles.iter().any(|role| role == "admin") {
        return StatusCode::FORBIDDEN.into_response();
    }
    request.extensions_mut().insert(claims);
    next.run(request).await
}

/// tower_governor keyed by the authenticated subject, as `#[secure]` keys by default.
#[derive(Clone)]
struct SubjectKey;

impl KeyExtractor for SubjectKey {
    type Key = String;

    fn extract<T>(&self, request: &axum::http::Request<T>) -> Result<String, GovernorError> {
        request
            .extensions()
            .get::<Claims>()
            .map(|claims| claims.sub.clone())
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

async fn handwired_create(
    axum_valid::Garde(Json(note)): axum_valid::Garde<Json<NewNote>>,
) -> (StatusCode, Json<Created>) {
    create(note)
}

fn handwired(secret: &[u8]) -> Router {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 10;
    validation.validate_nbf = true;
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let verifier = Arc::new(Verifier {
        key: DecodingKey::from_secret(secret),
        validation,
    });
    let governor = GovernorConfigBuilder::default()
        .per_nanosecond(1)
        .burst_size(1_000_000_000)
        .key_extractor(SubjectKey)
        .finish()
        .expect("governor configuration");
    Router::new()
        .route("/notes", axum::routing::post(handwired_create))
        // Layers run outside in: authentication first, then the limiter keyed by its subject.
        .layer(GovernorLayer::new(governor))
        .layer(middleware::from_fn_with_state(verifier, authenticate))
}

// ---- driver ----------------------------------------------------------------------------

fn secret_bytes() -> Vec<u8> {
    let path = std::env::var(SECRET_FILE).unwrap_or_else(|_| {
        eprintln!("set {SECRET_FILE} to a file holding at least 32 random bytes");
        std::process::exit(2)
    });
    std::fs::read(path).expect("read the secret file")
}

/// An admin's access token, valid for an hour, as the identity provider would sign it.
fn token(secret: &[u8]) -> String {
    token_for(secret, "user-4242")
}

fn token_for(secret: &[u8], subject: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let claims = json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "roles": ["admin"],
        "scope": "notes:write",
    });
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret)).expect("sign")
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| arg != "--bench")
        .collect();
    let (mode, address) = match args.as_slice() {
        [mode] if mode == "token" => {
            println!("{}", token(&secret_bytes()));
            return;
        }
        [mode, count] if mode == "tokens" => {
            let secret = secret_bytes();
            let count: usize = count.parse().expect("a number of tokens");
            for user in 0..count {
                println!("{}", token_for(&secret, &format!("user-{user}")));
            }
            return;
        }
        [mode, address] => (mode.as_str(), address.as_str()),
        _ => {
            println!(
                "throughput_server is driven by benches/throughput.sh (see BENCHMARKS.md); \
                 nothing to do without a mode"
            );
            return;
        }
    };
    let address: SocketAddr = address.parse().expect("a socket address");
    assert!(
        address.ip().is_loopback(),
        "the benchmark serves on loopback only"
    );
    let router = match mode {
        "bare" => bare(),
        "secure" | "secure-uncached" => {
            secret_bytes(); // the same checks and message as the other modes
            let path = std::env::var(SECRET_FILE).unwrap_or_default();
            let cache = if mode == "secure" { 4096 } else { 0 };
            secured(Secret::from_file(path).expect("secret file"), cache)
        }
        "handwired" => handwired(&secret_bytes()),
        "fleet-memory" | "fleet-redis" => {
            secret_bytes();
            let path = std::env::var(SECRET_FILE).unwrap_or_default();
            let redis = (mode == "fleet-redis").then(|| {
                let url = std::env::var("SECURE_API_REDIS_URL").expect("SECURE_API_REDIS_URL");
                secure_api::store::RedisStore::from_urls(&url).expect("a Redis URL")
            });
            fleet(Secret::from_file(path).expect("secret file"), redis)
        }
        other => panic!(
            "unknown mode `{other}`: bare, secure, secure-uncached, handwired, fleet-memory or \
             fleet-redis"
        ),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address).await.expect("bind");
        eprintln!("{mode} listening on {address}");
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        );
        // Stops by itself: the script kills it, and it never outlives ten minutes.
        let _ = tokio::time::timeout(Duration::from_secs(600), server).await;
    });
}
