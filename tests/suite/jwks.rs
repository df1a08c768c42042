//! Keys fetched from a provider, over real HTTP on loopback: a small key server stands in
//! for the provider's JWKS endpoint here (the real OpenID provider runs in `oidc.rs`), so
//! that each test can make it rotate, fail, lie or be flooded at will.

use crate::common::{self, Answer, claims, client, serve, sign};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use secure_api::routing::SecureRouter;
use secure_api::{AuthUser, Security, secure};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An ES256 key of the provider: signs tokens, publishes its public half.
struct ProviderKey {
    kid: String,
    encoding: EncodingKey,
    public: Value,
}

impl ProviderKey {
    fn generate(kid: &str) -> Self {
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        let secret = p256::SecretKey::random(&mut rand08::thread_rng());
        let pem = secret.to_pkcs8_pem(LineEnding::LF).expect("pem");
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).expect("key");
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).expect("jwk");
        jwk.common.key_id = Some(kid.to_owned());
        Self {
            kid: kid.to_owned(),
            encoding,
            public: serde_json::to_value(&jwk).expect("json"),
        }
    }

    fn token(&self, subject: &str) -> String {
        sign(
            &claims(subject, &["viewer"], ""),
            Algorithm::ES256,
            &self.encoding,
            Some(&self.kid),
        )
    }
}

/// What the key server answers, changed by the tests as they go.
struct Served {
    keys: Vec<Value>,
    status: StatusCode,
    max_age: Option<u64>,
    /// The issuer its discovery document names.
    issuer: String,
}

#[derive(Clone)]
struct KeyServer {
    served: Arc<Mutex<Served>>,
    fetches: Arc<AtomicUsize>,
    address: SocketAddr,
}

impl KeyServer {
    async fn start(keys: &[&ProviderKey]) -> Self {
        let served = Arc::new(Mutex::new(Served {
            keys: keys.iter().map(|key| key.public.clone()).collect(),
            status: StatusCode::OK,
            max_age: None,
            issuer: common::ISSUER.to_owned(),
        }));
        let fetches = Arc::new(AtomicUsize::new(0));
        let state = (Arc::clone(&served), Arc::clone(&fetches));
        let router = Router::new()
            .route("/jwks", get(jwks))
            .route("/.well-known/openid-configuration", get(discovery))
            .route(
                "/elsewhere",
                get(|| async { Redirect::temporary("http://127.0.0.2:9/jwks") }),
            )
            .route(
                "/huge",
                get(|| async { Json(json!({ "keys": [], "pad": "x".repeat(300 * 1024) })) }),
            )
            .with_state(state);
        let address = serve(router).await;
        Self {
            served,
            fetches,
            address,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn serve_keys(&self, keys: &[&ProviderKey]) {
        self.served.lock().expect("lock").keys =
            keys.iter().map(|key| key.public.clone()).collect();
    }

    fn fail_with(&self, status: StatusCode) {
        self.served.lock().expect("lock").status = status;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

type ServerState = (Arc<Mutex<Served>>, Arc<AtomicUsize>);

async fn jwks(State((served, fetches)): State<ServerState>) -> Response {
    fetches.fetch_add(1, Ordering::SeqCst);
    let served = served.lock().expect("lock");
    if served.status != StatusCode::OK {
        return served.status.into_response();
    }
    let mut headers = HeaderMap::new();
    if let Some(age) = served.max_age {
        let value = HeaderValue::from_str(&format!("public, max-age={age}")).expect("header");
        headers.insert(header::CACHE_CONTROL, value);
    }
    (headers, Json(json!({ "keys": served.keys }))).into_response()
}

async fn discovery(State((served, _)): State<ServerState>, headers: HeaderMap) -> Json<Value> {
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    let issuer = served.lock().expect("lock").issuer.clone();
    Json(json!({ "issuer": issuer, "jwks_uri": format!("http://{host}/jwks") }))
}

#[secure(role = "viewer", rate = "10000/1m")]
async fn whoami(user: AuthUser) -> String {
    user.subject().to_owned()
}

/// An API whose keys come from `configure`'s source, with short intervals for the tests.
async fn api(
    configure: impl FnOnce(secure_api::SecurityBuilder) -> secure_api::SecurityBuilder,
) -> String {
    let security = configure(
        Security::builder()
            .issuer(common::ISSUER)
            .audience(common::AUDIENCE)
            .key_algorithms([Algorithm::ES256])
            .key_refetch_interval(Duration::from_millis(500))
            .failed_auth_rate(100_000, Duration::from_secs(60)),
    )
    .build()
    .expect("configuration");
    let app = SecureRouter::new()
        .route("/whoami", secure_api::routing::get(whoami))
        .with_state(security);
    format!("http://{}/whoami", serve(app).await)
}

async fn call(url: &str, token: &str) -> Answer {
    Answer::from(
        client()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("request"),
    )
    .await
}

#[tokio::test]
async fn fetched_keys_verify_and_a_rotation_is_picked_up_without_a_restart() {
    let (first, second) = (
        ProviderKey::generate("2026-11"),
        ProviderKey::generate("2026-12"),
    );
    let server = KeyServer::start(&[&first]).await;
    let url = api(|builder| builder.jwks_url(server.url("/jwks"))).await;

    let answer = call(&url, &first.token("alice")).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, Some("alice")));

    // The provider rotates: a token signed with the new key names a kid the set lacks, and
    // one fetch brings it in (once the set is older than the refetch interval).
    server.serve_keys(&[&first, &second]);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let answer = call(&url, &second.token("bob")).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, Some("bob")));
    assert_eq!(call(&url, &first.token("alice")).await.status, 200);
}

#[tokio::test]
async fn a_removed_key_is_refused_after_the_refresh() {
    let (old, new) = (ProviderKey::generate("old"), ProviderKey::generate("new"));
    let server = KeyServer::start(&[&old, &new]).await;
    let url = api(|builder| {
        builder
            .jwks_url(server.url("/jwks"))
            .key_refresh(Duration::from_millis(300), Duration::from_millis(300))
    })
    .await;
    let token = old.token("alice");
    assert_eq!(call(&url, &token).await.status, 200);
    server.serve_keys(&[&new]);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // The same token, verified and cached before, dies with its key.
    call(&url, &token).await.assert_problem(401);
    assert_eq!(call(&url, &new.token("bob")).await.status, 200);
}

/// A provider may replace a key under its old `kid`: the refresh voids what the old key
/// verified all the same.
#[tokio::test]
async fn a_key_replaced_under_the_same_kid_is_refused_after_the_refresh() {
    let (old, new) = (ProviderKey::generate("k1"), ProviderKey::generate("k1"));
    let server = KeyServer::start(&[&old]).await;
    let url = api(|builder| {
        builder
            .jwks_url(server.url("/jwks"))
            .key_refresh(Duration::from_millis(300), Duration::from_millis(300))
    })
    .await;
    let token = old.token("alice");
    assert_eq!(call(&url, &token).await.status, 200);
    server.serve_keys(&[&new]);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    call(&url, &token).await.assert_problem(401);
    assert_eq!(call(&url, &new.token("bob")).await.status, 200);
}

#[tokio::test]
async fn a_provider_outage_keeps_fetched_keys_and_never_admits_what_it_cannot_verify() {
    let key = ProviderKey::generate("k1");
    let stranger = ProviderKey::generate("k2");
    let server = KeyServer::start(&[&key]).await;
    let url = api(|builder| {
        builder
            .jwks_url(server.url("/jwks"))
            .key_refresh(Duration::from_millis(200), Duration::from_millis(200))
    })
    .await;
    assert_eq!(call(&url, &key.token("alice")).await.status, 200);
    server.fail_with(StatusCode::SERVICE_UNAVAILABLE);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(server.fetches() >= 2, "the refresh kept trying");
    assert_eq!(call(&url, &key.token("bob")).await.status, 200);
    call(&url, &stranger.token("mallory"))
        .await
        .assert_problem(401);
}

#[tokio::test]
async fn without_a_key_set_the_answer_is_503_never_an_accept() {
    let key = ProviderKey::generate("k1");
    let server = KeyServer::start(&[&key]).await;
    server.fail_with(StatusCode::INTERNAL_SERVER_ERROR);
    let url = api(|builder| builder.jwks_url(server.url("/jwks"))).await;
    let answer = call(&url, &key.token("alice")).await;
    answer.assert_problem(503);
    // Keys that went stale are dropped the same way.
    let server = KeyServer::start(&[&key]).await;
    let url = api(|builder| {
        builder
            .jwks_url(server.url("/jwks"))
            .key_refresh(Duration::from_millis(100), Duration::from_millis(100))
            .key_max_stale(Duration::from_millis(400))
    })
    .await;
    assert_eq!(call(&url, &key.token("alice")).await.status, 200);
    server.fail_with(StatusCode::INTERNAL_SERVER_ERROR);
    tokio::time::sleep(Duration::from_millis(900)).await;
    call(&url, &key.token("alice")).await.assert_problem(503);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_a_bounded_number_of_fetches() {
    let key = ProviderKey::generate("k1");
    let server = KeyServer::start(&[&key]).await;
    let url = api(|builder| builder.jwks_url(server.url("/jwks"))).await;
    assert_eq!(call(&url, &key.token("alice")).await.status, 200);
    let before = server.fetches();
    let started = std::time::Instant::now();
    // The signature is never looked at for a kid the set lacks: one signed token, its
    // header rewritten with a fresh kid each time (signing 200 in a debug build is slow).
    let signed = ProviderKey::generate("forged").token("mallory");
    let (_, rest) = signed.split_once('.').expect("a JWS");
    let floods = (0..200).map(|n| {
        use base64::Engine as _;
        let url = url.clone();
        let header = json!({ "alg": "ES256", "typ": "at+jwt", "kid": format!("random-{n}") });
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header.to_string());
        let token = format!("{header}.{rest}");
        tokio::spawn(async move { call(&url, &token).await.status })
    });
    for flood in floods {
        assert_eq!(flood.await.expect("task"), 401);
    }
    // One fetch per 500 ms interval at most, whatever the number of requests.
    let intervals = started.elapsed().as_millis() / 500 + 1;
    let fetched = server.fetches() - before;
    assert!(
        fetched as u128 <= intervals,
        "{fetched} fetches in {intervals} intervals"
    );
}

#[tokio::test]
async fn discovery_finds_the_key_set_and_must_name_our_issuer() {
    let key = ProviderKey::generate("k1");
    let server = KeyServer::start(&[&key]).await;
    let issuer = server.url("");
    server.served.lock().expect("lock").issuer = issuer.clone();
    let url = api(|builder| builder.oidc_issuer(&issuer).issuer(common::ISSUER)).await;
    assert_eq!(call(&url, &key.token("alice")).await.status, 200);

    // A discovery document that names another issuer is not believed.
    let lying = KeyServer::start(&[&key]).await;
    let url = api(|builder| builder.oidc_issuer(lying.url("")).issuer(common::ISSUER)).await;
    call(&url, &key.token("alice")).await.assert_problem(503);
    assert_eq!(lying.fetches(), 0, "the key set it names was not fetched");
}

#[tokio::test]
async fn documents_too_large_or_redirected_elsewhere_are_not_read() {
    let key = ProviderKey::generate("k1");
    let server = KeyServer::start(&[&key]).await;
    for path in ["/huge", "/elsewhere"] {
        let url = api(|builder| builder.jwks_url(server.url(path))).await;
        call(&url, &key.token("alice")).await.assert_problem(503);
    }
}

#[test]
fn key_sources_must_be_https_except_on_loopback() {
    let error = Security::builder()
        .audience(common::AUDIENCE)
        .jwks_url("http://idp.example/jwks")
        .build()
        .expect_err("plain http to another host");
    assert!(error.to_string().contains("must use https"), "{error}");
    assert!(
        Security::builder()
            .audience(common::AUDIENCE)
            .oidc_issuer("https://idp.example")
            .build()
            .is_ok(),
        "the OpenID issuer is also the required `iss`"
    );
}

/// TLS verification is never turned off: a key server whose certificate no trusted
/// authority signed is not believed, so there are no keys and the answer is 503.
#[tokio::test]
async fn an_untrusted_certificate_is_never_accepted() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let key = ProviderKey::generate("k1");
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("certificate");
    let config = axum_server::tls_rustls::RustlsConfig::from_pem(
        certified.cert.pem().into_bytes(),
        certified.signing_key.serialize_pem().into_bytes(),
    )
    .await
    .expect("TLS configuration");
    let public = key.public.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let keys = Router::new().route(
        "/jwks",
        get(move || async move { Json(json!({ "keys": [public] })) }),
    );
    tokio::spawn(async move {
        axum_server::from_tcp_rustls(listener, config)
            .expect("TLS listener")
            .serve(keys.into_make_service())
            .await
    });
    let url = api(|builder| builder.jwks_url(format!("https://{address}/jwks"))).await;
    call(&url, &key.token("alice")).await.assert_problem(503);
}
