//! The demo API end to end, as a newcomer (or an attacker) meets it over HTTP: hardening
//! headers, CORS, limits, object-level authorization, closed request types, and a sweep of
//! malformed input that must never produce a 5xx.

use crate::common::{self, Answer, RunningDemo, client, start_demo};
use axum::Router;
use reqwest::Method;
use secure_api::routing::{SecureRouter, get};
use secure_api::{Hardening, secure};
use serde_json::{Value, json};
use std::time::Duration;

struct Demo {
    process: RunningDemo,
    http: reqwest::Client,
}

impl Demo {
    fn start() -> Self {
        Self {
            process: start_demo(&[("DEMO_CORS_ORIGINS", "https://app.test")]),
            http: client(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.process.running.base)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Answer::from(request.send().await.expect("request")).await
    }

    /// Signs up and logs in; returns the access token.
    async fn user(&self, name: &str) -> String {
        let password = "correct horse battery staple";
        let signup = self
            .call(
                Method::POST,
                "/signup",
                None,
                Some(json!({ "username": name, "password": password, "email": format!("{name}@example.org") })),
            )
            .await;
        assert_eq!(signup.status, 201, "{}", signup.body);
        self.login(name, password).await
    }

    async fn login(&self, name: &str, password: &str) -> String {
        let login = self
            .call(
                Method::POST,
                "/login",
                None,
                Some(json!({ "username": name, "password": password })),
            )
            .await;
        assert_eq!(login.status, 200, "{}", login.body);
        login.body["access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// The administrator the demo printed for this run.
    async fn admin(&self) -> String {
        let line = self
            .process
            .running
            .printed
            .iter()
            .find_map(|line| line.strip_prefix("Administrator for this run: "))
            .expect("printed administrator");
        let (name, password) = line.split_once(" / ").expect("name / password");
        self.login(name, password).await
    }
}

/// The demo's security manifest, as reviewed (see `quickstart::the_manifest_matches_its_reviewed_snapshot`).
#[test]
fn the_manifest_matches_its_reviewed_snapshot() {
    for (args, file) in [
        (&["--manifest"][..], "demo-manifest.txt"),
        (&["--manifest", "json"], "demo-manifest.json"),
    ] {
        let output = common::example_command("demo", "examples/demo", "DEMO_ADDR", &[])
            .args(args)
            .output()
            .expect("run the demo");
        assert!(output.status.success(), "{output:?}");
        common::assert_snapshot(file, &String::from_utf8(output.stdout).expect("utf-8"));
    }
}

#[tokio::test]
async fn responses_carry_the_hardening_headers() {
    let demo = Demo::start();
    let health = demo.call(Method::GET, "/health", None, None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.header("x-content-type-options"), "nosniff");
    assert_eq!(health.header("x-frame-options"), "DENY");
    assert_eq!(health.header("referrer-policy"), "no-referrer");
    assert!(
        health
            .header("content-security-policy")
            .contains("default-src 'none'")
    );
    assert_eq!(health.header("x-request-id").len(), 32);
    assert!(!health.headers.contains_key("server"));
    let token = demo.user("alice").await;
    let me = demo.call(Method::GET, "/me", Some(&token), None).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(
        me.body["email"], "alice@example.org",
        "sealed at rest, opened for its owner"
    );
    assert_eq!(me.header("cache-control"), "no-store");
    let denied = demo.call(Method::GET, "/me", None, None).await;
    denied.assert_problem(401);
    assert_eq!(denied.header("cache-control"), "no-store");
    // A short client request id is kept and echoed; a long or odd one is replaced.
    let echoed = demo
        .http
        .get(demo.url("/health"))
        .header("x-request-id", "trace-42")
        .send()
        .await
        .expect("request");
    assert_eq!(echoed.headers()["x-request-id"], "trace-42");
}

#[tokio::test]
async fn cors_admits_only_listed_origins_and_preflight_stops_at_the_layer() {
    let demo = Demo::start();
    let preflight = |origin: &'static str| {
        demo.http
            .request(Method::OPTIONS, demo.url("/notes"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://app.test").await.expect("request");
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.test"
    );
    assert_ne!(allowed.headers()["access-control-allow-origin"], "*");
    let refused = preflight("https://evil.test").await.expect("request");
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
    // Preflights are answered by the layer: the guard never saw them (no audit, no limit).
    let admin = demo.admin().await;
    let counters = demo
        .call(Method::GET, "/admin/counters", Some(&admin), None)
        .await;
    assert!(
        !counters.body.to_string().contains("create_note"),
        "{}",
        counters.body
    );
}

#[tokio::test]
async fn notes_belong_to_their_owner() {
    let demo = Demo::start();
    let alice = demo.user("alice").await;
    let bob = demo.user("bob").await;
    let created = demo
        .call(
            Method::POST,
            "/notes",
            Some(&alice),
            Some(json!({ "title": "alice's", "body": "private" })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let path = format!("/notes/{}", created.body["id"]);
    assert_eq!(
        demo.call(Method::GET, &path, Some(&alice), None).await.body["body"],
        "private"
    );
    // Bob can neither read, change nor delete it, nor learn that it exists.
    let missing = demo
        .call(Method::GET, "/notes/999999", Some(&bob), None)
        .await;
    for answer in [
        demo.call(Method::GET, &path, Some(&bob), None).await,
        demo.call(
            Method::PUT,
            &path,
            Some(&bob),
            Some(json!({ "title": "mine", "body": "now" })),
        )
        .await,
        demo.call(Method::DELETE, &path, Some(&bob), None).await,
    ] {
        answer.assert_problem(404);
        assert_eq!(answer.body, missing.body);
    }
    let bobs = demo
        .call(Method::GET, "/notes?limit=10", Some(&bob), None)
        .await;
    assert_eq!(bobs.body, json!([]));
    assert_eq!(
        demo.call(Method::GET, &path, Some(&alice), None).await.body["title"],
        "alice's"
    );
    // Admin routes are for admins.
    demo.call(Method::GET, "/admin/users?limit=10", Some(&alice), None)
        .await
        .assert_problem(403);
    let admin = demo.admin().await;
    let users = demo
        .call(Method::GET, "/admin/users?limit=10", Some(&admin), None)
        .await;
    assert_eq!(users.status, 200);
    assert!(
        !users.body.to_string().contains("argon2"),
        "no hashes leave the database"
    );
    let counters = demo
        .call(Method::GET, "/admin/counters", Some(&admin), None)
        .await;
    let denied_admin = counters
        .body
        .as_array()
        .expect("counters")
        .iter()
        .any(|counter| {
            counter["handler"] == "list_users"
                && counter["reason"] == "missing_role"
                && counter["count"] == 1
        });
    assert!(denied_admin, "{}", counters.body);
}

#[tokio::test]
async fn request_types_are_closed_and_bodies_bounded() {
    let demo = Demo::start();
    let alice = demo.user("alice").await;
    // Mass assignment: a field the type does not declare is refused, not ignored.
    demo.call(
        Method::POST,
        "/notes",
        Some(&alice),
        Some(json!({ "title": "t", "body": "b", "owner_id": 1 })),
    )
    .await
    .assert_problem(422);
    demo.call(
        Method::POST,
        "/signup",
        None,
        Some(json!({ "username": "eve", "password": "correct horse battery", "email": "e@example.org", "roles": "admin" })),
    )
    .await
    .assert_problem(422);
    let huge = json!({ "title": "t", "body": "x".repeat(100 * 1024) });
    demo.call(Method::POST, "/notes", Some(&alice), Some(huge))
        .await
        .assert_problem(413);
}

#[tokio::test]
async fn malformed_input_never_yields_a_server_error() {
    let demo = Demo::start();
    let alice = demo.user("alice").await;
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", br#"{"title": "trunc"#.to_vec()),
        ("text/plain", br#"{"title":"t","body":"b"}"#.to_vec()),
        ("application/json", deep.into_bytes()),
        (
            "application/json",
            br#"{"title":"t","body":"b","n":1e999999}"#.to_vec(),
        ),
        (
            "application/json",
            br#"{"title":123456789012345678901234567890,"body":"b"}"#.to_vec(),
        ),
        (
            "application/json",
            b"{\"title\":\"\xff\xfe\",\"body\":\"b\"}".to_vec(),
        ),
        (
            "application/json",
            b"{\"title\":\"a\x00b\",\"body\":\"\x00\"}".to_vec(),
        ),
        ("application/json", b"\x00\x00\x00".to_vec()),
        ("application/json", Vec::new()),
        (
            "application/x-www-form-urlencoded",
            b"title=t&body=b".to_vec(),
        ),
    ];
    for (content_type, body) in bodies {
        for path in ["/notes", "/signup", "/login"] {
            let response = demo
                .http
                .post(demo.url(path))
                .bearer_auth(&alice)
                .header("content-type", content_type)
                .body(body.clone())
                .send()
                .await
                .expect("request");
            let status = response.status();
            assert!(status.is_client_error(), "{path} {content_type}: {status}");
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json",
                "{path} {content_type}"
            );
        }
    }
    for query in [
        "/notes?limit=-1",
        "/notes?limit=abc",
        "/notes?limit=1&limit=2",
        "/notes?%ff=1",
    ] {
        let answer = demo.call(Method::GET, query, Some(&alice), None).await;
        assert!(
            (400..500).contains(&answer.status),
            "{query}: {}",
            answer.status
        );
    }
    for path in ["/notes/abc", "/notes/99999999999999999999999", "/notes/%00"] {
        let answer = demo.call(Method::GET, path, Some(&alice), None).await;
        assert!(
            (400..500).contains(&answer.status),
            "{path}: {}",
            answer.status
        );
    }
    // Still serving.
    assert_eq!(
        demo.call(Method::GET, "/health", None, None).await.status,
        200
    );
}

#[secure(public, rate = "100/1m")]
async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "late"
}

#[secure(public, rate = "100/1m")]
async fn broken() -> &'static str {
    panic!("a bug with secret details: hunter2")
}

/// The demo has no slow or panicking route; the same layers on a small router show 408/500.
#[tokio::test]
async fn timeouts_and_panics_become_bare_problems() {
    let key = common::HmacKey::generate();
    let router: Router = Hardening::new()
        .timeout(Duration::from_millis(200))
        .apply(
            SecureRouter::new()
                .route("/slow", get(slow))
                .route("/broken", get(broken))
                .into_router(),
        )
        .with_state(common::hs256_security(&key));
    let address = common::serve(router).await;
    let http = client();
    let slow = Answer::from(
        http.get(format!("http://{address}/slow"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    slow.assert_problem(408);
    let broken = Answer::from(
        http.get(format!("http://{address}/broken"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    broken.assert_problem(500);
    assert!(!broken.body.to_string().contains("hunter2"));
    let unknown = Answer::from(
        http.get(format!("http://{address}/nowhere"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    unknown.assert_problem(404);
}
