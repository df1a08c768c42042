//! Machine clients with API keys, through real HTTP on loopback: what is accepted, every
//! refusal with its problem, the per-address budget for failed keys, and exact per-key limits
//! under concurrency.

use crate::common::{self, Answer, HmacKey, claims, client, serve, sign};
use axum::Router;
use jsonwebtoken::Algorithm;
use secure_api::apikey::{ApiKeyStore, CreatedApiKey, MemoryApiKeyStore, NewApiKey};
use secure_api::routing::{SecureRouter, get};
use secure_api::{AuthUser, Security, secure};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[secure(api_key, scope = "reports:read", rate = "30/1h")]
async fn export(user: AuthUser) -> axum::Json<Value> {
    axum::Json(json!({ "owner": user.subject(), "key": user.api_key_id() }))
}

#[secure(bearer_or_api_key, scope = "reports:read", rate = "1000/1m")]
async fn usage(user: AuthUser) -> String {
    user.api_key_id().map_or("token", |_| "key").to_owned()
}

/// Reads the claims a token would carry; a key caller gets them from its key.
#[secure(bearer_or_api_key, rate = "1000/1m")]
async fn claims_of(secure_api::Claims(claims): secure_api::Claims<Value>) -> axum::Json<Value> {
    axum::Json(claims)
}

#[secure(api_key, role = "admin", rate = "1000/1m")]
async fn purge() -> &'static str {
    "purged"
}

struct Api {
    address: SocketAddr,
    security: Security,
    key: HmacKey,
    http: reqwest::Client,
}

impl Api {
    async fn start(
        configure: impl FnOnce(secure_api::SecurityBuilder) -> secure_api::SecurityBuilder,
    ) -> Self {
        let key = HmacKey::generate();
        let builder = Security::builder()
            .issuer(common::ISSUER)
            .audience(common::AUDIENCE)
            .key(key.key());
        let security = configure(builder).build().expect("configuration");
        let router: Router = SecureRouter::new()
            .route("/export", get(export))
            .route("/usage", get(usage))
            .route("/purge", get(purge))
            .route("/claims", get(claims_of))
            .with_state(security.clone());
        Self {
            address: serve(router).await,
            security,
            key,
            http: client(),
        }
    }

    async fn reports_key(&self) -> CreatedApiKey {
        self.security
            .api_keys()
            .create(NewApiKey::new("svc-reports", "nightly export").with_scopes(&["reports:read"]))
            .await
            .expect("created")
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("http://{}{path}", self.address))
    }

    async fn with_key(&self, path: &str, key: &str) -> Answer {
        Answer::from(
            self.get(path)
                .header("x-api-key", key)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    fn token(&self, scope: &str) -> String {
        sign(
            &claims("alice", &[], scope),
            Algorithm::HS256,
            &self.key.encoding(),
            None,
        )
    }
}

#[tokio::test]
async fn a_key_is_accepted_and_names_its_owner_and_id() {
    let api = Api::start(|builder| builder).await;
    let created = api.reports_key().await;
    let answer = api.with_key("/export", created.key.expose()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({ "owner": "svc-reports", "key": created.info.id })
    );
    assert_eq!(answer.header("ratelimit-policy"), "\"key\";q=30;w=3600");
    let used = api
        .security
        .api_keys()
        .get(&created.info.id)
        .await
        .expect("store");
    assert!(
        used.expect("key").last_used_at.is_some(),
        "last use recorded"
    );
}

#[tokio::test]
async fn a_key_caller_has_the_claims_a_token_would_carry() {
    let api = Api::start(|builder| builder).await;
    let created = api.reports_key().await;
    let answer = api.with_key("/claims", created.key.expose()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({
            "sub": "svc-reports",
            "roles": [],
            "scope": "reports:read",
            "api_key": created.info.id,
        })
    );
}

#[tokio::test]
async fn every_refusal_has_its_problem() {
    let api = Api::start(|builder| builder).await;
    let created = api.reports_key().await;
    let key = created.key.expose();

    let missing = Answer::from(api.get("/export").send().await.expect("request")).await;
    missing.assert_problem(401);
    assert_eq!(
        missing.header("www-authenticate"),
        "ApiKey header=\"X-API-Key\""
    );

    // A token is not a key on a route for keys only.
    let token = api.token("reports:read");
    let bearer = Answer::from(
        api.get("/export")
            .bearer_auth(&token)
            .send()
            .await
            .expect("request"),
    )
    .await;
    bearer.assert_problem(401);
    assert_eq!(
        bearer.header("www-authenticate"),
        "ApiKey header=\"X-API-Key\""
    );

    let mut typo = key.to_owned();
    typo.replace_range(12..13, if &key[12..13] == "Q" { "R" } else { "Q" });
    for wrong in [typo.as_str(), "sapi_nothing", "not-a-key"] {
        let answer = api.with_key("/export", wrong).await;
        answer.assert_problem(401);
        assert_eq!(
            answer.body["detail"],
            "The API key is not valid for this API."
        );
        assert_eq!(
            answer.header("www-authenticate"),
            "ApiKey header=\"X-API-Key\", error=\"invalid_key\""
        );
    }

    // The key's scope does not include what /purge needs (a role): 403, no bearer challenge.
    let forbidden = api.with_key("/purge", key).await;
    forbidden.assert_problem(403);
    assert!(forbidden.headers.get("www-authenticate").is_none());

    // Keys in the URL are refused even when valid: URLs are logged.
    for path in [
        format!("/export?api_key={key}"),
        format!("/export?q={key}"),
        "/export?API-Key=anything".to_owned(),
    ] {
        let answer = Answer::from(
            api.get(&path)
                .header("x-api-key", key)
                .send()
                .await
                .expect("request"),
        )
        .await;
        answer.assert_problem(400);
        assert!(
            answer.body["detail"]
                .as_str()
                .expect("detail")
                .contains("X-API-Key")
        );
    }

    // Two keys, or a key and a token, are not one credential.
    let twice = Answer::from(
        api.get("/export")
            .header("x-api-key", key)
            .header("x-api-key", key)
            .send()
            .await
            .expect("request"),
    )
    .await;
    twice.assert_problem(400);
    let both = Answer::from(
        api.get("/usage")
            .header("x-api-key", key)
            .bearer_auth(&token)
            .send()
            .await
            .expect("request"),
    )
    .await;
    both.assert_problem(400);

    let expired = api
        .security
        .api_keys()
        .create(
            NewApiKey::new("svc-reports", "short")
                .with_scopes(&["reports:read"])
                .expires_in(Duration::ZERO),
        )
        .await
        .expect("created");
    let answer = api.with_key("/export", expired.key.expose()).await;
    answer.assert_problem(401);
    assert_eq!(answer.body["detail"], "The API key has expired.");

    assert!(
        api.security
            .api_keys()
            .revoke(&created.info.id)
            .await
            .expect("store")
    );
    let revoked = api.with_key("/export", key).await;
    revoked.assert_problem(401);
    assert_eq!(revoked.body["detail"], "The API key has been revoked.");
}

#[tokio::test]
async fn a_route_for_either_takes_a_token_or_a_key() {
    let api = Api::start(|builder| builder).await;
    let created = api.reports_key().await;
    let by_key = api.with_key("/usage", created.key.expose()).await;
    assert_eq!((by_key.status, by_key.body.clone()), (200, json!("key")));
    let token = api.token("reports:read");
    let by_token = Answer::from(
        api.get("/usage")
            .bearer_auth(&token)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(
        (by_token.status, by_token.body.clone()),
        (200, json!("token"))
    );

    let missing = Answer::from(api.get("/usage").send().await.expect("request")).await;
    missing.assert_problem(401);
    let challenges: Vec<_> = missing
        .headers
        .get_all("www-authenticate")
        .iter()
        .map(|value| value.to_str().expect("ascii"))
        .collect();
    assert_eq!(challenges, ["Bearer", "ApiKey header=\"X-API-Key\""]);
}

#[tokio::test]
async fn failed_keys_are_throttled_per_address_and_a_valid_key_still_passes() {
    let api = Api::start(|builder| builder.failed_auth_rate(3, Duration::from_secs(60))).await;
    let created = api.reports_key().await;
    let (_, other) = {
        let other = api.reports_key().await;
        api.security
            .api_keys()
            .revoke(&other.info.id)
            .await
            .expect("store");
        ((), other)
    };
    for _ in 0..3 {
        api.with_key("/export", other.key.expose())
            .await
            .assert_problem(401);
    }
    let throttled = api.with_key("/export", other.key.expose()).await;
    throttled.assert_problem(429);
    assert!(throttled.headers.get("retry-after").is_some());
    let valid = api.with_key("/export", created.key.expose()).await;
    assert_eq!(
        valid.status, 200,
        "a valid key from the throttled address: {}",
        valid.body
    );
}

#[tokio::test]
async fn each_key_has_an_exact_budget_under_concurrency() {
    let api = Api::start(|builder| builder).await;
    let first = api.reports_key().await;
    let second = api.reports_key().await;
    let requests = (0..100).map(|_| api.get("/export").header("x-api-key", first.key.expose()));
    assert_eq!(common::admitted_and_throttled(requests).await, (30, 70));
    // The owner's other key has a budget of its own.
    assert_eq!(
        api.with_key("/export", second.key.expose()).await.status,
        200
    );
}

#[tokio::test]
async fn the_store_keeps_a_hash_not_the_key() {
    let store = Arc::new(MemoryApiKeyStore::new());
    let kept = store.clone();
    let api = Api::start(move |builder| builder.api_key_store(kept)).await;
    let created = api.reports_key().await;
    let record = store
        .find_key(&created.info.id)
        .await
        .expect("store")
        .expect("record");
    let key = created.key.expose();
    let secret = &key[key.len() - 46..];
    assert_ne!(record.hash.as_slice(), key.as_bytes());
    assert!(!format!("{record:?}").contains(secret));
    assert!(
        !serde_json::to_string(&record.info)
            .expect("json")
            .contains(secret)
    );
}
