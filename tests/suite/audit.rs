//! Every allow, deny and throttle is an audit event with who, what and why, and no event
//! ever carries a token or a secret.

use crate::common::{self, HmacKey, claims, sign};
use axum::Router;
use axum::routing::get;
use jsonwebtoken::Algorithm;
use secure_api::test::{TestClient, security, security_builder};
use secure_api::{AuthUser, TrustedProxies, secure};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

type Event = BTreeMap<String, String>;

/// Records each event's target and fields as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Event>>>);

struct Fields<'a>(&'a mut Event);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Event::new();
        fields.insert("target".into(), event.metadata().target().to_owned());
        fields.insert("level".into(), event.metadata().level().to_string());
        event.record(&mut Fields(&mut fields));
        self.0.lock().expect("capture lock").push(fields);
    }
}

/// Captures what is logged on this thread until the guard is dropped.
fn capture() -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    // While one dispatcher is alive, tracing-core 0.1.36 asks only the calling thread's
    // default whether an event is wanted: an event that another test's thread logs first,
    // with no subscriber, is then silenced everywhere for good, here too. A second one that
    // lives as long as the process makes it ask every live dispatcher.
    static SECOND_DISPATCHER: OnceLock<tracing::Dispatch> = OnceLock::new();
    SECOND_DISPATCHER.get_or_init(|| tracing::Dispatch::new(tracing_subscriber::registry()));
    let guard = tracing::subscriber::set_default(subscriber);
    (capture, guard)
}

#[secure(role = "admin", rate = "2/1m")]
async fn admin_only(user: AuthUser) -> String {
    user.subject().to_owned()
}

#[secure(public, rate = "100/1m")]
async fn open() -> &'static str {
    "ok"
}

#[tokio::test]
async fn audit_events_name_the_decision_and_never_the_token() {
    // A subscriber for this thread only: the router runs in this test's task, here, and the
    // tests around it, each on a thread of its own, neither reach it nor are reached by it.
    let (capture, _capturing) = capture();

    let key = HmacKey::generate();
    let security = common::hs256_security(&key);
    let client = TestClient::new(
        Router::new()
            .route("/admin", get(admin_only))
            .route("/open", get(open))
            .with_state(security.clone()),
    );
    let admin = sign(
        &claims("alice", &["admin"], ""),
        Algorithm::HS256,
        &key.encoding(),
        None,
    );
    let viewer = sign(
        &claims("victor", &["viewer"], ""),
        Algorithm::HS256,
        &key.encoding(),
        None,
    );
    let mut forged = admin.clone();
    forged.push('x');

    // A client's request id is named in the events when it is a short token, never when
    // it is anything else.
    let odd_request_id = format!("{} injected", "x".repeat(100));
    let mut statuses = Vec::new();
    for (path, token, request_id) in [
        ("/open", None, Some("trace-7")),
        ("/admin", Some(&admin), None),
        ("/admin", None, Some(odd_request_id.as_str())),
        ("/admin", Some(&forged), None),
        ("/admin", Some(&viewer), None),
        ("/admin", Some(&admin), None),
        ("/admin", Some(&admin), None),
    ] {
        let mut request = client.get(path);
        if let Some(token) = token {
            request = request.bearer(token);
        }
        if let Some(request_id) = request_id {
            request = request.header("x-request-id", request_id);
        }
        statuses.push(request.send().await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 401, 401, 403, 200, 429]);

    let events: Vec<Event> = capture
        .0
        .lock()
        .expect("capture lock")
        .iter()
        .filter(|event| event["target"] == "secure_api::audit")
        .cloned()
        .collect();
    let summary: Vec<(&str, &str, &str, &str)> = events
        .iter()
        .map(|event| {
            (
                event["outcome"].as_str(),
                event.get("reason").map_or("", String::as_str),
                event["handler"].as_str(),
                event["subject"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("allow", "", "open", "-"),
            ("allow", "", "admin_only", "alice"),
            ("deny", "missing_token", "admin_only", "-"),
            ("deny", "bad_signature", "admin_only", "-"),
            ("deny", "missing_role", "admin_only", "victor"),
            ("allow", "", "admin_only", "alice"),
            ("throttle", "rate_limit", "admin_only", "alice"),
        ]
    );
    let request_ids: Vec<&str> = events
        .iter()
        .map(|event| event["request_id"].as_str())
        .collect();
    assert_eq!(request_ids, ["trace-7", "-", "-", "-", "-", "-", "-"]);
    for event in &events {
        assert_eq!(event["method"], "GET");
        assert!(
            event["route"] == "/admin" || event["route"] == "/open",
            "{event:?}"
        );
        let client_ip = client.address().expect("an address").to_string();
        assert_eq!(event["client_ip"], client_ip);
    }

    // Nothing logged anywhere — audit or not — holds a token, a signature or the secret.
    let everything = format!("{:?} {security:?}", capture.0.lock().expect("capture lock"));
    let secret_text = String::from_utf8_lossy(&key.bytes).into_owned();
    for token in [&admin, &viewer, &forged] {
        let signature = token.rsplit('.').next().expect("signature");
        assert!(!everything.contains(token.as_str()));
        assert!(!everything.contains(signature));
    }
    assert!(!everything.contains(&secret_text));
    assert!(!everything.contains(&format!("{:?}", key.bytes)));
}

/// A forwarding header from a peer that no trusted proxy vouches for is ignored; the operator
/// hears of it once per configuration and per case, and the header's text never reaches the
/// log (it is the client's to write).
#[tokio::test]
async fn an_ignored_forwarding_header_is_noted_once_and_never_quoted() {
    let (capture, _capturing) = capture();
    // The test's client is 127.0.0.1: first no proxy is trusted, then one it is not.
    for proxies in ["", "10.0.0.0/8"] {
        let security = security_builder()
            .trusted_proxies(TrustedProxies::parse(proxies).expect("proxies"))
            .build()
            .expect("valid configuration");
        let router = Router::new().route("/open", get(open)).with_state(security);
        let client = TestClient::new(router).from(Ipv4Addr::LOCALHOST);
        for (header, value) in [
            ("x-forwarded-for", "203.0.113.71"),
            ("forwarded", "for=203.0.113.72"),
            ("x-forwarded-for", "203.0.113.73:443, [2001:db8::74]"),
            ("x-request-id", "none-forwarded"),
        ] {
            let response = client.get("/open").header(header, value).send().await;
            assert_eq!(response.status(), 200);
        }
    }
    let events = capture.0.lock().expect("capture lock").clone();
    let warnings: Vec<&str> = events
        .iter()
        .filter(|event| event["target"] == "secure_api::config")
        .filter_map(|event| event.get("message"))
        .map(String::as_str)
        .filter(|message| message.contains("carried"))
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings[0].starts_with(
            "a request carried X-Forwarded-For, which is ignored because no proxy is trusted"
        ) && warnings[0].contains("SECURE_API_TRUSTED_PROXIES"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1].starts_with(
            "a request from 127.0.0.1, which is not a trusted proxy, carried X-Forwarded-For"
        ) && warnings[1].contains("SECURE_API_TRUSTED_PROXIES"),
        "{}",
        warnings[1]
    );
    let everything = format!("{events:?}");
    for value in ["203.0.113.7", "2001:db8::74"] {
        assert!(!everything.contains(value), "{value} was logged");
    }
}

#[secure_api::secure(api_key, rate = "100/1m")]
async fn machine(user: AuthUser) -> String {
    user.subject().to_owned()
}

/// Events about API keys name the key by its id — made, used, refused, revoked — and never
/// hold the key.
#[tokio::test]
async fn api_key_events_name_the_key_id_and_never_the_key() {
    use secure_api::apikey::NewApiKey;
    let (capture, _capturing) = capture();

    let security = security();
    let client = TestClient::new(
        Router::new()
            .route("/machine", get(machine))
            .with_state(security.clone()),
    );
    let created = security
        .api_keys()
        .create(NewApiKey::new("svc-export", "export"))
        .await
        .expect("created");
    let key = created.key.expose();
    let id = created.info.id.as_str();
    let call = |key: String| {
        let request = client.get("/machine").api_key(&key);
        async move { request.send().await.status().as_u16() }
    };
    assert_eq!(call(key.to_owned()).await, 200);
    // A mistyped key fails its checksum: refused without a lookup, and no id is vouched for.
    let mut wrong = key.to_owned();
    let secret_start = wrong.len() - 46;
    wrong.replace_range(secret_start..secret_start + 1, "0");
    assert_eq!(call(wrong).await, 401);
    security.api_keys().revoke(id).await.expect("store");
    assert_eq!(call(key.to_owned()).await, 401);

    let events = capture.0.lock().expect("capture lock").clone();
    let decisions: Vec<(&str, &str, &str)> = events
        .iter()
        .filter(|event| event.contains_key("outcome"))
        .map(|event| {
            (
                event["outcome"].as_str(),
                event.get("reason").map_or("", String::as_str),
                event["api_key"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("allow", "", id),
            ("deny", "api_key_malformed", "-"),
            ("deny", "api_key_revoked", id),
        ]
    );
    let made_and_revoked = events
        .iter()
        .filter(|event| event.get("api_key").map(String::as_str) == Some(id))
        .count();
    assert_eq!(
        made_and_revoked, 4,
        "created, allowed, refused, revoked: {events:?}"
    );
    let everything = format!("{events:?}");
    assert!(!everything.contains(key));
    assert!(!everything.contains(&key[secret_start..]));
}

/// A server that hands the guard no client address answers every request 500 "server
/// misconfigured", and tells its operator how to fix that at error level once per
/// configuration; the requests after the first are noted at debug level only.
#[tokio::test]
async fn a_server_without_client_addresses_is_told_the_fix_once() {
    let (capture, _capturing) = capture();
    for _ in 0..2 {
        let router = Router::new()
            .route("/open", get(open))
            .with_state(security());
        let client = TestClient::new(router).without_client_address();
        for _ in 0..3 {
            let answer = client.get("/open").send().await;
            assert_eq!(answer.problem()["detail"], "server misconfigured");
        }
    }
    let events = capture.0.lock().expect("capture lock").clone();
    let noted: Vec<&Event> = events
        .iter()
        .filter(|event| {
            event
                .get("reason")
                .is_some_and(|reason| reason == "no_client_address")
        })
        .collect();
    let levels: Vec<&str> = noted.iter().map(|event| event["level"].as_str()).collect();
    assert_eq!(
        levels,
        ["ERROR", "DEBUG", "DEBUG", "ERROR", "DEBUG", "DEBUG"]
    );
    let fix = &noted[0];
    assert_eq!(
        (fix["target"].as_str(), fix["handler"].as_str()),
        ("secure_api::audit", "open")
    );
    for way in [
        "secure_api::serve",
        "into_make_service_with_connect_info::<SocketAddr>()",
        "secure_api::test::TestClient",
        "MockConnectInfo",
    ] {
        assert!(fix["message"].contains(way), "{way} in {}", fix["message"]);
    }
}
