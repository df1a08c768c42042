//! Every problem the guard and the validated extractors answer — status, headers and body —
//! from the router called in process by the test kit; over real HTTP on loopback, what a
//! socket decides: the client address and the forwarding headers of its peer.

use crate::common::{self, Answer, HmacKey, claims, client, serve, sign};
use axum::extract::{DefaultBodyLimit, Path, Query};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::Algorithm;
use secure_api::routing::{self, SecureRouter};
use secure_api::test::{TestClient, principal, security_builder};
use secure_api::{AuthUser, Security, secure};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, Deserialize, garde::Validate)]
struct NewUser {
    #[garde(length(min = 3, max = 32))]
    name: String,
    #[garde(email)]
    email: String,
}

#[derive(Debug, Deserialize, garde::Validate)]
struct Search {
    #[garde(length(min = 1, max = 50))]
    q: String,
    #[garde(range(min = 1, max = 100))]
    limit: u32,
}

#[secure(role = "admin", rate = "100/15m", validate)]
async fn create_user(user: AuthUser, Json(body): Json<NewUser>) -> (StatusCode, Json<Value>) {
    let created = json!({ "name": body.name, "email": body.email, "by": user.subject() });
    (StatusCode::CREATED, Json(created))
}

/// Settings a client may send or leave out; when sent, they are validated like any body.
#[secure(role = "admin", rate = "100/15m", validate)]
async fn preferences(body: Option<Json<Preferences>>) -> String {
    body.map_or_else(
        || "defaults".to_owned(),
        |Json(preferences)| preferences.theme,
    )
}

#[derive(Debug, Deserialize, garde::Validate)]
struct Preferences {
    #[garde(length(min = 1, max = 16))]
    theme: String,
}

#[secure(public, rate = "5/1m")]
async fn health() -> &'static str {
    "ok"
}

#[secure(scope = "reports:read", rate = "1000/1m")]
async fn reports(user: AuthUser) -> String {
    format!("reports for {}", user.subject())
}

#[secure(any_role("admin", "auditor"), rate = "1000/1m")]
async fn audit_log() -> &'static str {
    "log"
}

#[secure(rate = "1000/1m", validate)]
async fn search(Query(search): Query<Search>, Path(page): Path<u32>) -> String {
    format!("{} x{} page {page}", search.q, search.limit)
}

#[secure(rate = "100/15m")]
async fn limited(user: AuthUser) -> String {
    user.subject().to_owned()
}

#[secure(rate = "3/1s")]
async fn quick() -> &'static str {
    "ok"
}

fn routes() -> Router<Security> {
    SecureRouter::new()
        .route("/users", routing::post(create_user))
        .route("/health", routing::get(health))
        .route("/reports", routing::get(reports))
        .route("/audit", routing::get(audit_log))
        .route("/search/{page}", routing::get(search))
        .route("/limited", routing::get(limited))
        .route("/quick", routing::get(quick))
        .route("/preferences", routing::post(preferences))
        .into_router()
        .layer(DefaultBodyLimit::max(4096))
}

struct App {
    security: Security,
    client: TestClient,
}

impl App {
    fn start() -> Self {
        Self::start_with(|builder| builder)
    }

    fn start_with(
        configure: impl FnOnce(secure_api::SecurityBuilder) -> secure_api::SecurityBuilder,
    ) -> Self {
        let security = configure(security_builder())
            .build()
            .expect("configuration");
        Self {
            client: TestClient::new(routes().with_state(security.clone())),
            security,
        }
    }

    fn token(&self, subject: &str, roles: &[&str], scope: &str) -> String {
        let scopes: Vec<&str> = scope.split_whitespace().collect();
        let five_minutes = Duration::from_secs(300);
        (self.security)
            .mint(subject, roles, &scopes, five_minutes)
            .expect("token")
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut request = self.client.get(path);
        if let Some(token) = token {
            request = request.bearer(token);
        }
        Answer::of(request.send().await)
    }

    async fn post_json(&self, path: &str, token: Option<&str>, body: &str) -> Answer {
        let mut request = self
            .client
            .post(path)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(token) = token {
            request = request.bearer(token);
        }
        Answer::of(request.send().await)
    }
}

#[tokio::test]
async fn admin_creates_a_user() {
    let app = App::start();
    let token = app.token("alice", &["admin"], "");
    let answer = app
        .post_json(
            "/users",
            Some(&token),
            r#"{"name":"bob","email":"bob@example.org"}"#,
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["by"], "alice");
}

#[tokio::test]
async fn missing_token_is_401_with_a_plain_bearer_challenge() {
    let app = App::start();
    let answer = app.get("/reports", None).await;
    answer.assert_problem(401);
    assert_eq!(answer.header("www-authenticate"), "Bearer");
    assert_eq!(answer.header("cache-control"), "no-store");
    // Another scheme is no bearer token either.
    let basic = app.client.get("/reports");
    let basic = Answer::of(
        basic
            .header("authorization", "Basic YWxpY2U6cHc=")
            .send()
            .await,
    );
    basic.assert_problem(401);
    assert_eq!(basic.header("www-authenticate"), "Bearer");
}

#[tokio::test]
async fn invalid_tokens_get_one_identical_answer() {
    let app = App::start();
    let alice = principal!("alice", roles = ["admin"], scopes = ["reports:read"]);
    let good = alice.token(&app.security);
    let expired = alice.expired_token(&app.security);
    let mut tampered = good.clone();
    tampered.insert(good.find('.').expect("dot") + 3, 'x');
    let mut answers = Vec::new();
    for token in ["garbage", "a.b.c", expired.as_str(), tampered.as_str()] {
        let answer = app.get("/reports", Some(token)).await;
        answer.assert_problem(401);
        assert_eq!(
            answer.header("www-authenticate"),
            "Bearer error=\"invalid_token\""
        );
        answers.push(answer.body);
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:#?}"
    );
}

#[tokio::test]
async fn missing_role_or_scope_is_403_insufficient_scope() {
    let app = App::start();
    let viewer = app.token("victor", &["viewer"], "reports:write");
    for answer in [
        app.post_json(
            "/users",
            Some(&viewer),
            r#"{"name":"bob","email":"bob@example.org"}"#,
        )
        .await,
        app.get("/reports", Some(&viewer)).await,
        app.get("/audit", Some(&viewer)).await,
    ] {
        answer.assert_problem(403);
        assert_eq!(
            answer.header("www-authenticate"),
            "Bearer error=\"insufficient_scope\""
        );
    }
    let auditor = app.token("ada", &["auditor"], "reports:read reports:write");
    assert_eq!(app.get("/audit", Some(&auditor)).await.status, 200);
    assert_eq!(app.get("/reports", Some(&auditor)).await.status, 200);
}

#[tokio::test]
async fn invalid_fields_are_422_with_one_entry_each() {
    let app = App::start();
    let token = app.token("alice", &["admin"], "");
    let answer = app
        .post_json("/users", Some(&token), r#"{"name":"x","email":"nope"}"#)
        .await;
    answer.assert_problem(422);
    let mut pointers: Vec<&str> = answer.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|error| error["pointer"].as_str().expect("pointer"))
        .collect();
    pointers.sort();
    assert_eq!(pointers, ["#/email", "#/name"]);

    let search = app.get("/search/2?q=&limit=500", Some(&token)).await;
    search.assert_problem(422);
    assert_eq!(search.body["errors"].as_array().expect("errors").len(), 2);
    assert_eq!(
        app.get("/search/2?q=rust&limit=5", Some(&token)).await.body,
        "rust x5 page 2"
    );
}

/// OWASP API3 (mass assignment): a key the type does not declare is refused, not dropped.
#[tokio::test]
async fn undeclared_keys_are_422_pointing_at_each() {
    let app = App::start();
    let token = app.token("alice", &["admin"], "");
    let pointers = |answer: &Answer| -> Vec<String> {
        answer.body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|error| error["pointer"].as_str().expect("pointer").to_owned())
            .collect()
    };
    let body = r#"{"name":"bob","email":"bob@example.org","is_admin":true,"roles":["admin"]}"#;
    let answer = app.post_json("/users", Some(&token), body).await;
    answer.assert_problem(422);
    let mut refused = pointers(&answer);
    refused.sort();
    assert_eq!(refused, ["#/is_admin", "#/roles"]);

    let search = app
        .get("/search/2?q=rust&limit=5&admin=1", Some(&token))
        .await;
    search.assert_problem(422);
    assert_eq!(pointers(&search), ["#/admin"]);
}

#[tokio::test]
async fn an_optional_body_is_validated_when_present() {
    let app = App::start();
    let token = app.token("alice", &["admin"], "");
    let absent = app.client.post("/preferences").bearer(&token).send().await;
    assert_eq!(absent.text(), "defaults");
    let present = app
        .post_json("/preferences", Some(&token), r#"{"theme":"dark"}"#)
        .await;
    assert_eq!(present.status, 200);
    assert_eq!(present.body, "dark");
    let invalid = app
        .post_json("/preferences", Some(&token), r#"{"theme":""}"#)
        .await;
    invalid.assert_problem(422);
    assert_eq!(invalid.body["errors"][0]["pointer"], "#/theme");
    let undeclared = app
        .post_json(
            "/preferences",
            Some(&token),
            r#"{"theme":"dark","admin":true}"#,
        )
        .await;
    undeclared.assert_problem(422);
    assert_eq!(undeclared.body["errors"][0]["pointer"], "#/admin");
}

#[tokio::test]
async fn malformed_input_is_400_wrong_type_415_and_oversized_413() {
    let app = App::start();
    let token = app.token("alice", &["admin"], "");
    app.post_json("/users", Some(&token), r#"{"name": "bob""#)
        .await
        .assert_problem(400);
    // Well-formed JSON of the wrong shape names no server type.
    let shape = app.post_json("/users", Some(&token), "[1, 2]").await;
    shape.assert_problem(422);
    assert!(
        !shape.body.to_string().contains("NewUser"),
        "{}",
        shape.body
    );
    let text = Answer::of(
        app.client
            .post("/users")
            .bearer(&token)
            .header("content-type", "text/plain")
            .body(r#"{"name":"bob","email":"bob@example.org"}"#)
            .send()
            .await,
    );
    text.assert_problem(415);
    let huge = format!(r#"{{"name":"{}","email":"a@b.c"}}"#, "x".repeat(10_000));
    app.post_json("/users", Some(&token), &huge)
        .await
        .assert_problem(413);
    app.get("/search/notanumber?q=a&limit=1", Some(&token))
        .await
        .assert_problem(400);
    app.get("/search/1?q=a&limit=many", Some(&token))
        .await
        .assert_problem(400);
}

#[tokio::test]
async fn authentication_is_decided_before_the_body_is_read() {
    let app = App::start();
    // A bad body without a token: the guard answers first, so 401 rather than 400/422.
    for body in [r#"{"name":"x"}"#, "{not json", ""] {
        app.post_json("/users", None, body)
            .await
            .assert_problem(401);
    }
    let viewer = app.token("victor", &["viewer"], "");
    app.post_json("/users", Some(&viewer), "{not json")
        .await
        .assert_problem(403);
}

#[tokio::test]
async fn throttled_requests_get_429_with_retry_after_and_ratelimit_fields() {
    let app = App::start();
    // Admitted requests carry the fields too (draft-10), so clients can pace themselves.
    for remaining in (0..5).rev() {
        let answer = app.get("/health", None).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("ratelimit-policy"), "\"ip\";q=5;w=60");
        let current = answer.header("ratelimit");
        assert!(
            current.starts_with(&format!("\"ip\";r={remaining};t=")),
            "{current}"
        );
        assert!(!answer.headers.contains_key("retry-after"));
    }
    let answer = app.get("/health", None).await;
    answer.assert_problem(429);
    // 5/1m refills one request every 12 s.
    let retry_after: u64 = answer.header("retry-after").parse().expect("seconds");
    assert!((1..=12).contains(&retry_after), "{retry_after}");
    assert_eq!(answer.header("ratelimit-policy"), "\"ip\";q=5;w=60");
    let current = answer.header("ratelimit");
    assert!(current.starts_with("\"ip\";r=0;t="), "{current}");
}

/// `"3/1s"`: three at once, then one more every 333 ms.
#[tokio::test]
async fn a_rate_is_a_burst_that_refills_continuously() {
    let app = App::start();
    let token = app.token("alice", &[], "");
    for _ in 0..3 {
        assert_eq!(app.get("/quick", Some(&token)).await.status, 200);
    }
    assert_eq!(app.get("/quick", Some(&token)).await.status, 429);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.get("/quick", Some(&token)).await.status, 200);
    assert_eq!(app.get("/quick", Some(&token)).await.status, 429);
    // Another user has a budget of their own.
    let other = app.token("bob", &[], "");
    assert_eq!(app.get("/quick", Some(&other)).await.status, 200);
}

#[tokio::test]
async fn exactly_the_limit_is_admitted_under_concurrency() {
    let app = App::start();
    let token = app.token("alice", &[], "");
    let requests = (0..200).map(|_| {
        let request = app.client.get("/limited").bearer(&token);
        async move { request.send().await.status().as_u16() }
    });
    let statuses = futures_join_all(requests).await;
    let admitted = statuses.iter().filter(|status| **status == 200).count();
    let throttled = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!((admitted, throttled), (100, 100));
}

async fn futures_join_all<F: std::future::Future<Output = u16> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<u16> {
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    results
}

#[tokio::test]
async fn repeated_bad_tokens_are_throttled_but_a_valid_token_from_the_address_passes() {
    let app = App::start_with(|builder| builder.failed_auth_rate(3, Duration::from_secs(60)));
    for _ in 0..3 {
        app.get("/reports", Some("forged.token.here"))
            .await
            .assert_problem(401);
    }
    let throttled = app.get("/reports", Some("forged.token.here")).await;
    throttled.assert_problem(429);
    assert!(
        throttled
            .header("retry-after")
            .parse::<u64>()
            .expect("seconds")
            >= 1
    );
    assert!(throttled.header("ratelimit").starts_with("\"ip\";r=0;t="));
    // A neighbour behind the same address, with a valid token, is not locked out...
    let good = app.token("alice", &[], "reports:read");
    let answer = app.get("/reports", Some(&good)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // ...while the bad tokens keep being answered 429.
    app.get("/reports", Some("forged.token.here"))
        .await
        .assert_problem(429);
}

/// RFC 6750 §3.1: a malformed request is `invalid_request` (400), and it costs budget.
#[tokio::test]
async fn a_malformed_authorization_header_is_400_invalid_request() {
    let app = App::start_with(|builder| builder.failed_auth_rate(2, Duration::from_secs(60)));
    for value in ["Bearer", "Bearer a b"] {
        let request = app.client.get("/reports").header("authorization", value);
        let answer = Answer::of(request.send().await);
        answer.assert_problem(400);
        assert_eq!(
            answer.header("www-authenticate"),
            "Bearer error=\"invalid_request\""
        );
    }
    let request = app
        .client
        .get("/reports")
        .header("authorization", "Bearer ");
    let over_budget = Answer::of(request.send().await);
    over_budget.assert_problem(429);
}

/// The mistake the answer is for: `axum::serve` without `into_make_service_with_connect_info`.
#[tokio::test]
async fn a_router_served_without_connect_info_fails_closed() {
    let router = Router::new()
        .route("/health", get(health))
        .with_state(secure_api::test::security());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    let answer = Answer::from(
        client()
            .get(format!("http://{address}/health"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    answer.assert_problem(500);
    assert_eq!(answer.body["detail"], "server misconfigured");
    assert!(!answer.body.to_string().contains("connect_info"));
}

/// The routes served on loopback with `configure`'s security; the base URL.
async fn served(
    configure: impl FnOnce(secure_api::SecurityBuilder) -> secure_api::SecurityBuilder,
) -> String {
    let security = configure(security_builder())
        .build()
        .expect("configuration");
    format!("http://{}", serve(routes().with_state(security)).await)
}

#[tokio::test]
async fn forwarded_for_counts_only_through_trusted_proxies() {
    let http = client();
    // Without trusted proxies a client cannot escape its budget by inventing addresses.
    let direct = served(|builder| builder).await;
    for n in 0..5 {
        let answer = http
            .get(format!("{direct}/health"))
            .header("x-forwarded-for", format!("203.0.113.{n}"))
            .send()
            .await
            .expect("request");
        assert_eq!(answer.status(), 200);
    }
    let sixth = http
        .get(format!("{direct}/health"))
        .header("x-forwarded-for", "203.0.113.99")
        .send()
        .await
        .expect("request");
    assert_eq!(sixth.status(), 429);

    // Behind a trusted proxy (here: the loopback peer), each forwarded client has its own.
    let proxied = served(|builder| {
        builder.trusted_proxies(secure_api::TrustedProxies::parse("127.0.0.1").expect("list"))
    })
    .await;
    for n in 0..10 {
        let answer = http
            .get(format!("{proxied}/health"))
            .header("x-forwarded-for", format!("6.6.6.6, 203.0.113.{n}"))
            .send()
            .await
            .expect("request");
        assert_eq!(answer.status(), 200, "client {n}");
    }
    for _ in 0..5 {
        http.get(format!("{proxied}/health"))
            .header("x-forwarded-for", "2001:db8::1")
            .send()
            .await
            .expect("request");
    }
    // Another address in the same IPv6 /64 shares that budget.
    let same_network = http
        .get(format!("{proxied}/health"))
        .header("x-forwarded-for", "2001:db8::ffff:2")
        .send()
        .await
        .expect("request");
    assert_eq!(same_network.status(), 429);
}

/// A store that cannot be reached — what a Redis outage looks like to the guard.
struct UnreachableStore;

impl secure_api::limit::RateLimitStore for UnreachableStore {
    fn check<'a>(
        &'a self,
        _: &'a secure_api::limit::Bucket,
        _: &'a secure_api::limit::Subject,
    ) -> secure_api::store::BoxFuture<
        'a,
        Result<secure_api::limit::RateDecision, secure_api::store::StoreUnavailable>,
    > {
        Box::pin(async {
            Err(secure_api::store::StoreUnavailable(
                "connection refused".into(),
            ))
        })
    }
}

#[tokio::test]
async fn an_unreachable_limit_store_fails_closed() {
    let app = App::start_with(|builder| builder.rate_limit_store(UnreachableStore));
    let answer = app.get("/health", None).await;
    answer.assert_problem(503);
    assert!(!answer.body.to_string().contains("connection refused"));
    let token = app.token("alice", &["admin"], "reports:read");
    app.get("/reports", Some(&token)).await.assert_problem(503);
}

#[derive(Deserialize)]
struct TenantClaims {
    tenant: String,
}

#[secure(rate = "100/1m")]
async fn tenant(secure_api::Claims(claims): secure_api::Claims<TenantClaims>) -> String {
    claims.tenant
}

#[tokio::test]
async fn handlers_read_their_own_claims_from_the_verified_token() {
    let key = HmacKey::generate();
    let client = TestClient::new(
        Router::new()
            .route("/tenant", get(tenant))
            .with_state(common::hs256_security(&key)),
    );
    let mut with_tenant = claims("alice", &[], "");
    with_tenant["tenant"] = json!("acme");
    let call = |claims: Value| {
        let token = sign(&claims, Algorithm::HS256, &key.encoding(), None);
        let request = client.get("/tenant").bearer(&token);
        async move { Answer::of(request.send().await) }
    };
    assert_eq!(call(with_tenant).await.body, "acme");
    call(claims("alice", &[], "")).await.assert_problem(401);
}
