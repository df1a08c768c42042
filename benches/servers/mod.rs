//! The servers of the throughput comparison (BENCHMARKS.md §2) and of the fleet comparison
//! (§7), shared by `throughput_server.rs`, which serves them, and `per_request.rs`, which
//! counts what one request through each costs in process. The bench crate that includes this
//! module declares the roles (`secure_api::roles! { admin }`) at its root.

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
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tower_governor::GovernorLayer;
use tower_governor::errors::GovernorError;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;

const ISSUER: &str = "https://issuer.bench";
const AUDIENCE: &str = "secure-api-bench";
pub(crate) const SECRET_FILE: &str = "SECURE_API_JWT_SECRET_FILE";

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

pub(crate) fn bare() -> Router {
    Router::new().route("/notes", axum::routing::post(bare_create))
}

// ---- (b) #[secure] ---------------------------------------------------------------------

#[secure(role = "admin", rate = "1000000000/1s", validate)]
async fn secure_create(Json(note): Json<NewNote>) -> (StatusCode, Json<Created>) {
    create(note)
}

pub(crate) fn secured(secret: Secret, verified_token_cache: usize) -> Router {
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

pub(crate) fn fleet(secret: Secret, redis: Option<secure_api::store::RedisStore>) -> Router {
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

/// The token of `Authorization: Bearer <token>`, read as the servers without the library
/// read it.
fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
}

// ---- the fleet comparison's floor: one round trip per admitted request, nothing else ----

/// The same route with no library at all: a request whose token was refused before is
/// answered 429 at once; any other costs one Redis `INCR` on its token (or a count in
/// memory), and is refused once the token's count passes the fleet's limit. No GCRA, no
/// window, no verification: the least any store with one exact round trip per admitted
/// request can do, against the same store in memory.
#[derive(Clone)]
pub(crate) struct Floor {
    redis: Option<redis::aio::MultiplexedConnection>,
    counts: Arc<dashmap::DashMap<u64, u64>>,
    refused: Arc<dashmap::DashSet<u64>>,
    hasher: std::hash::RandomState,
}

const FLOOR_LIMIT: u64 = 600;

async fn floor_create(
    State(floor): State<Floor>,
    headers: axum::http::HeaderMap,
    Json(note): Json<NewNote>,
) -> Response {
    let Some(token) = bearer(&headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let key = std::hash::BuildHasher::hash_one(&floor.hasher, token);
    if floor.refused.contains(&key) {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    let count = match floor.redis {
        Some(mut redis) => {
            let count: redis::RedisResult<u64> = redis::cmd("INCR")
                .arg(format!("floor:{key:x}"))
                .query_async(&mut redis)
                .await;
            match count {
                Ok(count) => count,
                Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
            }
        }
        None => {
            let mut count = floor.counts.entry(key).or_insert(0);
            *count += 1;
            *count
        }
    };
    if count > FLOOR_LIMIT {
        floor.refused.insert(key);
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    create(note).into_response()
}

/// The floor's route, its counts in memory or in the Redis at `redis_url`.
pub(crate) async fn floor(redis_url: Option<&str>) -> Router {
    let redis = match redis_url {
        Some(url) => Some(
            redis::Client::open(url)
                .expect("a Redis URL")
                .get_multiplexed_async_connection()
                .await
                .expect("Redis reachable"),
        ),
        None => None,
    };
    Router::new()
        .route("/notes", axum::routing::post(floor_create))
        .with_state(Floor {
            redis,
            counts: Arc::default(),
            refused: Arc::default(),
            hasher: std::hash::RandomState::new(),
        })
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
    let Some(token) = bearer(request.headers()) else {
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

pub(crate) fn handwired(secret: &[u8]) -> Router {
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

// ---- tokens ---------------------------------------------------------------------------

/// An admin's access token, valid for an hour, as the identity provider would sign it.
pub(crate) fn token(secret: &[u8]) -> String {
    token_for(secret, "user-4242")
}

pub(crate) fn token_for(secret: &[u8], subject: &str) -> String {
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
