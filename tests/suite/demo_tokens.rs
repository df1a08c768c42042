//! The token lifecycle through the demo's endpoints, as a client lives it: sign-up, one
//! answer for every failed login, refresh-token rotation with reuse detection, logout that
//! revokes at once, step-up to a second factor (TOTP), and an account locked after five
//! failures — with the token state in memory and in a SQLite file (`DEMO_TOKEN_DB`).

use crate::common::{self, Answer, client, start_demo};

/// The token lifecycle through the demo's auth endpoints, as the README walks it.
async fn token_lifecycle(env: &[(&str, &str)]) {
    let demo = start_demo(env);
    let http = client();
    let url = |path: &str| format!("{}{path}", demo.running.base);
    let post = |path: &str, token: Option<&str>, body: serde_json::Value| {
        let mut request = http.post(url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { Answer::from(request.send().await.expect("request")).await }
    };
    let get = |path: &str, token: &str| {
        let request = http.get(url(path)).bearer_auth(token);
        async move { Answer::from(request.send().await.expect("request")).await }
    };
    let credentials =
        serde_json::json!({ "username": "alice", "password": "correct horse battery" });
    let signup = post(
        "/signup",
        None,
        serde_json::json!({
            "username": "alice",
            "password": "correct horse battery",
            "email": "alice@example.org",
        }),
    )
    .await;
    assert_eq!(signup.status, 201);
    // The demo's tokens name the user id; its profile names the user.
    let alice = &signup.body["id"];

    // Wrong password and unknown user: one answer.
    let wrong = post(
        "/login",
        None,
        serde_json::json!({ "username": "alice", "password": "wrong horse battery" }),
    )
    .await;
    let unknown = post(
        "/login",
        None,
        serde_json::json!({ "username": "nobody", "password": "wrong horse battery" }),
    )
    .await;
    wrong.assert_problem(401);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));

    // login → call → refresh
    let first = post("/login", None, credentials.clone()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["token_type"], "Bearer");
    assert_eq!(first.body["expires_in"], 900);
    let access = first.body["access_token"].as_str().expect("access token");
    let refresh1 = first.body["refresh_token"].as_str().expect("refresh token");
    let me = get("/me", access).await;
    assert_eq!(&me.body["id"], alice, "{}", me.body);
    assert_eq!(me.body["username"], "alice");
    let second = post(
        "/refresh",
        None,
        serde_json::json!({ "refresh_token": refresh1 }),
    )
    .await;
    assert_eq!(second.status, 200, "{}", second.body);
    let refresh2 = second.body["refresh_token"]
        .as_str()
        .expect("refresh token");
    assert_ne!(refresh1, refresh2);

    // Reusing the spent token revokes the family: the fresh one dies with it.
    post(
        "/refresh",
        None,
        serde_json::json!({ "refresh_token": refresh1 }),
    )
    .await
    .assert_problem(401);
    post(
        "/refresh",
        None,
        serde_json::json!({ "refresh_token": refresh2 }),
    )
    .await
    .assert_problem(401);

    // logout → the access token is revoked, and the refresh family with it.
    let third = post("/login", None, credentials.clone()).await;
    let access3 = third.body["access_token"].as_str().expect("access token");
    let refresh3 = third.body["refresh_token"].as_str().expect("refresh token");
    assert_eq!(get("/me", access3).await.status, 200);
    let logout = post(
        "/logout",
        Some(access3),
        serde_json::json!({ "refresh_token": refresh3 }),
    )
    .await;
    assert_eq!(logout.status, 204, "{}", logout.body);
    let revoked = get("/me", access3).await;
    revoked.assert_problem(401);
    assert_eq!(
        revoked.header("www-authenticate"),
        "Bearer error=\"invalid_token\""
    );
    post(
        "/refresh",
        None,
        serde_json::json!({ "refresh_token": refresh3 }),
    )
    .await
    .assert_problem(401);

    // Step-up: a route with #[secure(mfa = "15m")] wants a second factor.
    let session = post("/login", None, credentials.clone()).await;
    let access = session.body["access_token"].as_str().expect("access token");
    let needs_step_up = get("/me/security", access).await;
    needs_step_up.assert_problem(401);
    assert!(
        needs_step_up
            .header("www-authenticate")
            .starts_with("Bearer error=\"insufficient_user_authentication\""),
        "{:?}",
        needs_step_up.headers
    );
    let enrolment = post("/mfa/enrol", Some(access), serde_json::json!({})).await;
    assert_eq!(enrolment.status, 200, "{}", enrolment.body);
    let secret = enrolment.body["secret"].as_str().expect("secret");
    let code = secure_api::mfa::code_at(secret, common::now() as u64).expect("code");
    let stepped_up = post(
        "/mfa/verify",
        Some(access),
        serde_json::json!({ "code": code }),
    )
    .await;
    assert_eq!(stepped_up.status, 200, "{}", stepped_up.body);
    let strong = stepped_up.body["access_token"]
        .as_str()
        .expect("access token");
    assert_eq!(get("/me/security", strong).await.status, 200);
    // The same code a second time is a replay.
    post(
        "/mfa/verify",
        Some(access),
        serde_json::json!({ "code": code }),
    )
    .await
    .assert_problem(401);

    // Five failures lock the account, even for the right password.
    let bob = serde_json::json!({ "username": "bob", "password": "bobs own password" });
    let bob_signup = serde_json::json!({
        "username": "bob",
        "password": "bobs own password",
        "email": "bob@example.org",
    });
    assert_eq!(post("/signup", None, bob_signup).await.status, 201);
    for _ in 0..5 {
        let wrong = serde_json::json!({ "username": "bob", "password": "not bobs password" });
        post("/login", None, wrong).await.assert_problem(401);
    }
    let locked = post("/login", None, bob).await;
    locked.assert_problem(429);
    assert!(
        locked
            .header("retry-after")
            .parse::<u64>()
            .expect("seconds")
            > 0
    );
}

#[tokio::test]
async fn token_lifecycle_with_the_memory_store() {
    token_lifecycle(&[]).await;
}

#[tokio::test]
async fn token_lifecycle_with_the_sqlite_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("tokens.db");
    token_lifecycle(&[("DEMO_TOKEN_DB", db.to_str().expect("utf-8 path"))]).await;
    assert!(db.exists(), "the SQLite file holds the token state");
}
