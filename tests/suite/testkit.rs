//! The test kit (`secure_api::test`) on guarded handlers: each outcome of the guard in one
//! line, budgets that stay with their client and their test, axum's `MockConnectInfo`, and
//! the answer of a server that hands the guard no client address.

// the README's example: `readme::the_testing_example_is_this_test` keeps the two identical.
use secure_api::routing::{SecureRouter, get};
use secure_api::test::{TestClient, principal, security};
use secure_api::{AuthUser, secure};

#[secure(role = "editor", rate = "100/1m")]
async fn drafts(user: AuthUser) -> String {
    format!("the drafts of {}", user.subject())
}

#[tokio::test]
async fn editors_read_drafts_and_nobody_else_does() {
    let security = security();
    let app = SecureRouter::new().route("/drafts", get(drafts));
    let client = TestClient::new(app.with_state(security.clone()));
    // A misspelt role, `roles = ["editr"]`, would not compile.
    let eve = principal!("eve", roles = ["editor"]).token(&security);
    let victor = principal!("victor", roles = ["viewer"]).token(&security);

    let answer = client.get("/drafts").bearer(&eve).send().await;
    assert_eq!(answer.text(), "the drafts of eve");
    assert_eq!(
        client.get("/drafts").bearer(&victor).send().await.status(),
        403
    );
    assert_eq!(client.get("/drafts").send().await.problem()["status"], 401);
}
// The end of the README's example.

use axum::Router;
use axum::extract::connect_info::MockConnectInfo;
use secure_api::jwt::TokenRejection;
use secure_api::test::security_builder;
use secure_api::{ClientIp, Security};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

#[secure(mfa, rate = "100/1m")]
async fn settings(user: AuthUser) -> String {
    format!("the settings of {}", user.subject())
}

#[secure(public, rate = "2/1m")]
async fn whoami(ClientIp(address): ClientIp) -> String {
    address.to_string()
}

fn app(security: &Security) -> TestClient {
    let routes = SecureRouter::new()
        .route("/drafts", get(drafts))
        .route("/settings", get(settings))
        .route("/whoami", get(whoami));
    TestClient::new(routes.with_state(security.clone()))
}

#[tokio::test]
async fn each_outcome_of_the_guard_in_one_line() {
    let security = security();
    let client = app(&security);
    let admin = principal!("ada", roles = ["admin"]).token(&security);
    let viewer = principal!("vic", roles = ["viewer"]).token(&security);
    let with_otp = principal!("ada", scopes = ["notes:read"], roles = ["admin"])
        .with_amr(&["pwd", "otp"])
        .token(&security);

    assert_eq!(
        client.get("/drafts").bearer(&admin).send().await.status(),
        200
    );
    assert_eq!(
        client.get("/drafts").bearer(&viewer).send().await.status(),
        403
    );
    let step_up = client.get("/settings").bearer(&admin).send().await;
    assert_eq!(step_up.problem()["status"], 401);
    let challenge = step_up.header("www-authenticate").expect("a challenge");
    assert!(
        challenge.contains("insufficient_user_authentication"),
        "{challenge}"
    );
    let answer = client.get("/settings").bearer(&with_otp).send().await;
    assert_eq!(answer.text(), "the settings of ada");
}

#[tokio::test]
async fn each_refused_token_is_401_invalid_token_for_its_reason() {
    let security = security();
    let client = app(&security);
    let alice = principal!("alice", roles = ["admin"]);
    let refused = [
        (alice.expired_token(&security), TokenRejection::Expired),
        (
            alice.wrong_audience_token(&security),
            TokenRejection::WrongAudience,
        ),
        (
            alice.wrong_issuer_token(&security),
            TokenRejection::WrongIssuer,
        ),
        (
            alice.wrong_key_token(&security),
            TokenRejection::BadSignature,
        ),
        (
            alice.tampered_token(&security),
            TokenRejection::BadSignature,
        ),
        (alice.none_alg_token(&security), TokenRejection::Malformed),
    ];
    for (token, reason) in refused {
        assert_eq!(security.verify(&token).err(), Some(reason), "{token}");
        let answer = client.get("/drafts").bearer(&token).send().await;
        assert_eq!(answer.problem()["status"], 401, "{reason:?}");
        assert_eq!(
            answer.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
    }
}

#[tokio::test]
async fn a_rate_limit_is_per_client_even_on_one_security() {
    let security = security();
    let (client, neighbour) = (app(&security), app(&security));
    for _ in 0..2 {
        assert_eq!(client.get("/whoami").send().await.status(), 200);
    }
    let throttled = client.get("/whoami").send().await;
    assert_eq!(throttled.problem()["status"], 429);
    let retry_after: u64 = throttled
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    let answer = neighbour.get("/whoami").send().await;
    assert_eq!(
        answer.text(),
        neighbour.address().expect("an address").to_string()
    );
}

/// Spends a budget of two failed credentials from one fixed address, then sees 429.
async fn spend_the_failed_credential_budget(security: &Security) {
    let attacker = app(security).from(Ipv4Addr::new(203, 0, 113, 7));
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let answer = attacker.get("/drafts").bearer("forged").send().await;
        statuses.push(answer.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429]);
}

fn two_failures_a_minute() -> Security {
    security_builder()
        .failed_auth_rate(2, Duration::from_secs(60))
        .build()
        .expect("configuration")
}

#[tokio::test]
async fn the_failed_credential_budget_is_the_sender_s_alone() {
    let security = two_failures_a_minute();
    spend_the_failed_credential_budget(&security).await;
    let neighbour = app(&security);
    assert_eq!(
        neighbour
            .get("/drafts")
            .bearer("forged")
            .send()
            .await
            .status(),
        401
    );
}

/// The same address as the test above, on a `Security` of its own: nothing carries over.
#[tokio::test]
async fn the_failed_credential_budget_stays_in_its_test() {
    spend_the_failed_credential_budget(&two_failures_a_minute()).await;
}

#[tokio::test]
async fn axum_s_mock_connect_info_gives_the_guard_its_address() {
    let mocked = SocketAddr::from(([192, 0, 2, 44], 4000));
    let routes = SecureRouter::new()
        .route("/whoami", get(whoami))
        .into_router();
    let router: Router = routes.layer(MockConnectInfo(mocked)).with_state(security());
    let client = TestClient::new(router).without_client_address();
    assert_eq!(client.get("/whoami").send().await.text(), "192.0.2.44");
}

#[tokio::test]
async fn without_a_client_address_the_answer_is_server_misconfigured_and_nothing_else() {
    let client = app(&security()).without_client_address();
    let answer = client.get("/whoami").send().await;
    assert_eq!(answer.status(), 500);
    assert_eq!(
        answer.problem(),
        serde_json::json!({
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "server misconfigured",
        })
    );
}

#[secure(api_key, scope = "reports:read", rate = "100/1m")]
async fn nightly_report(user: AuthUser) -> String {
    format!("the report for {}", user.subject())
}

/// A key for a test in one line, its scopes checked like a token's: accepted, refused without
/// the scope, refused once revoked.
#[tokio::test]
async fn api_keys_for_tests_carry_checked_scopes() {
    let security = security();
    let client = TestClient::new(
        SecureRouter::new()
            .route("/report", get(nightly_report))
            .with_state(security.clone()),
    );
    let key = principal!("svc-reports", scopes = ["reports:read"])
        .api_key(&security)
        .await;
    let answer = client.get("/report").api_key(&key).send().await;
    assert_eq!(answer.text(), "the report for svc-reports");

    let unscoped = principal!("svc-other").api_key(&security).await;
    let refused = client.get("/report").api_key(&unscoped).send().await;
    assert_eq!(refused.problem()["status"], 403);

    let id = key.split('_').nth(1).expect("the key id");
    assert!(security.api_keys().revoke(id).await.expect("store"));
    let revoked = client.get("/report").api_key(&key).send().await;
    assert_eq!(revoked.problem()["detail"], "The API key has been revoked.");
}
