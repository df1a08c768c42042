//! The quickstart as a newcomer runs it: the real example binary, configured only through
//! its environment, driven over HTTP with the commands it prints.

mod common;

use common::{Answer, HmacKey, Running, client};
use jsonwebtoken::Algorithm;
use std::path::PathBuf;
use std::process::Command;

fn command(env: &[(&str, &str)]) -> Command {
    common::example_command(
        "quickstart",
        "examples/quickstart.rs",
        "QUICKSTART_ADDR",
        env,
    )
}

fn start(env: &[(&str, &str)]) -> Running {
    Running::start(command(env))
}

#[tokio::test]
async fn demo_mode_prints_a_token_and_the_printed_tour_works() {
    let quickstart = start(&[]);
    let text = quickstart.printed.join("\n");
    assert!(text.contains("DEMO MODE"), "{text}");
    let token = text
        .split("export TOKEN=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a printed token")
        .to_owned();
    let http = client();
    let url = |path: &str| format!("{}{path}", quickstart.base);

    let health = http.get(url("/health")).send().await.expect("request");
    assert_eq!(health.text().await.expect("body"), "ok");
    let me = Answer::from(
        http.get(url("/me"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(me.body["subject"], "demo");
    let created = http
        .post(url("/notes"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "text": "hello" }))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), 201);
    let listed = Answer::from(
        http.get(url("/notes?limit=10"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(listed.body[0]["text"], "hello");
    let deleted = Answer::from(
        http.delete(url("/notes/1"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request"),
    )
    .await;
    deleted.assert_problem(403);
    let anonymous = Answer::from(http.get(url("/me")).send().await.expect("request")).await;
    anonymous.assert_problem(401);
}

#[tokio::test]
async fn configured_mode_verifies_tokens_from_the_configured_key() {
    let key = HmacKey::generate();
    let secret_file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(secret_file.path(), &key.bytes).expect("write secret");
    let path = secret_file.path().to_str().expect("utf-8 path");
    let quickstart = start(&[
        ("SECURE_API_ISSUER", common::ISSUER),
        ("SECURE_API_AUDIENCE", common::AUDIENCE),
        ("SECURE_API_JWT_SECRET_FILE", path),
    ]);
    assert!(!quickstart.printed.join("\n").contains("DEMO MODE"));
    let token = common::sign(
        &common::claims("carol", &["writer"], "notes:read"),
        Algorithm::HS256,
        &key.encoding(),
        None,
    );
    let me = Answer::from(
        client()
            .get(format!("{}/me", quickstart.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(me.body["subject"], "carol");
}

#[test]
fn a_weak_or_incomplete_configuration_refuses_to_start() {
    let weak = tempfile::NamedTempFile::new().expect("temp file");
    let weak_secret = "only-sixteen-b!!";
    std::fs::write(weak.path(), weak_secret).expect("write secret");
    let path = weak.path().to_str().expect("utf-8 path");
    for (env, says) in [
        (
            vec![
                ("SECURE_API_ISSUER", "i"),
                ("SECURE_API_AUDIENCE", "a"),
                ("SECURE_API_JWT_SECRET_FILE", path),
            ],
            "requires at least 32",
        ),
        (
            vec![("SECURE_API_JWT_SECRET_FILE", path)],
            "SECURE_API_ISSUER is not set",
        ),
        (
            vec![
                ("SECURE_API_ISSUER", "i"),
                ("SECURE_API_AUDIENCE", "a"),
                ("SECURE_API_JWT_SECRET", weak_secret),
            ],
            "requires at least 32",
        ),
    ] {
        let output = command(&env).output().expect("run quickstart");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(!stderr.contains(weak_secret) && !stdout.contains(weak_secret));
    }
}

/// The quickstart's security manifest, as reviewed. A change that weakens a route — a role
/// dropped, a limit raised, validation turned off — fails here until the snapshot is
/// regenerated (`SNAPSHOTS=overwrite cargo test --test quickstart`) and the diff reviewed.
#[test]
fn the_manifest_matches_its_reviewed_snapshot() {
    let snapshots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let overwrite = std::env::var("SNAPSHOTS").is_ok_and(|value| value == "overwrite");
    for (args, file) in [
        (&["--manifest"][..], "quickstart-manifest.txt"),
        (&["--manifest", "json"], "quickstart-manifest.json"),
    ] {
        let output = command(&[]).args(args).output().expect("run quickstart");
        assert!(output.status.success(), "{output:?}");
        let actual = String::from_utf8(output.stdout).expect("utf-8");
        let path = snapshots.join(file);
        if overwrite {
            std::fs::create_dir_all(&snapshots).expect("snapshot folder");
            std::fs::write(&path, &actual).expect("write snapshot");
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            actual, expected,
            "the manifest changed; review it and run with SNAPSHOTS=overwrite"
        );
    }
}

/// The token lifecycle through the quickstart's auth endpoints, as the README walks it.
async fn token_lifecycle(env: &[(&str, &str)]) {
    let quickstart = start(env);
    let http = client();
    let url = |path: &str| format!("{}{path}", quickstart.base);
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
    assert_eq!(
        post("/auth/signup", None, credentials.clone()).await.status,
        201
    );

    // Wrong password and unknown user: one answer.
    let wrong = post(
        "/auth/login",
        None,
        serde_json::json!({ "username": "alice", "password": "wrong horse battery" }),
    )
    .await;
    let unknown = post(
        "/auth/login",
        None,
        serde_json::json!({ "username": "nobody", "password": "wrong horse battery" }),
    )
    .await;
    wrong.assert_problem(401);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));

    // login → call → refresh
    let first = post("/auth/login", None, credentials.clone()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["token_type"], "Bearer");
    assert_eq!(first.body["expires_in"], 900);
    let access = first.body["access_token"].as_str().expect("access token");
    let refresh1 = first.body["refresh_token"].as_str().expect("refresh token");
    assert_eq!(get("/me", access).await.body["subject"], "alice");
    let second = post(
        "/auth/refresh",
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
        "/auth/refresh",
        None,
        serde_json::json!({ "refresh_token": refresh1 }),
    )
    .await
    .assert_problem(401);
    post(
        "/auth/refresh",
        None,
        serde_json::json!({ "refresh_token": refresh2 }),
    )
    .await
    .assert_problem(401);

    // logout → the access token is revoked, and the refresh family with it.
    let third = post("/auth/login", None, credentials.clone()).await;
    let access3 = third.body["access_token"].as_str().expect("access token");
    let refresh3 = third.body["refresh_token"].as_str().expect("refresh token");
    assert_eq!(get("/me", access3).await.status, 200);
    let logout = post(
        "/auth/logout",
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
        "/auth/refresh",
        None,
        serde_json::json!({ "refresh_token": refresh3 }),
    )
    .await
    .assert_problem(401);

    // Step-up: a route with #[secure(mfa = "15m")] wants a second factor.
    let session = post("/auth/login", None, credentials.clone()).await;
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
    let enrolment = post("/auth/mfa/enrol", Some(access), serde_json::json!({})).await;
    assert_eq!(enrolment.status, 200, "{}", enrolment.body);
    let secret = enrolment.body["secret"].as_str().expect("secret");
    let code = secure_api::mfa::code_at(secret, common::now() as u64).expect("code");
    let stepped_up = post(
        "/auth/mfa/verify",
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
        "/auth/mfa/verify",
        Some(access),
        serde_json::json!({ "code": code }),
    )
    .await
    .assert_problem(401);

    // Five failures lock the account, even for the right password.
    let bob = serde_json::json!({ "username": "bob", "password": "bobs own password" });
    assert_eq!(post("/auth/signup", None, bob.clone()).await.status, 201);
    for _ in 0..5 {
        let wrong = serde_json::json!({ "username": "bob", "password": "not bobs password" });
        post("/auth/login", None, wrong).await.assert_problem(401);
    }
    let locked = post("/auth/login", None, bob).await;
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
    token_lifecycle(&[("QUICKSTART_TOKEN_DB", db.to_str().expect("utf-8 path"))]).await;
    assert!(db.exists(), "the SQLite file holds the token state");
}
