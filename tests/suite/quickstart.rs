//! The quickstart as a newcomer runs it: the real example binary, configured only through
//! its environment, driven over HTTP with the commands it prints.

use crate::common::{self, Answer, HmacKey, Running, client};
use jsonwebtoken::Algorithm;
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
    assert_eq!(me.body, "demo");
    let created = http
        .post(url("/notes"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "text": "hello" }))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), 201);
    let listed = Answer::from(
        http.get(url("/notes"))
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

    // The one account logs in with the printed password, and with nothing else.
    let password = text
        .split("export PASSWORD=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a printed password");
    let login = |password: &str| {
        let request = http
            .post(url("/login"))
            .json(&serde_json::json!({ "username": "demo", "password": password }));
        async move { Answer::from(request.send().await.expect("request")).await }
    };
    login("not the password").await.assert_problem(401);
    let session = login(password).await;
    assert_eq!(session.status, 200, "{}", session.body);
    let access = session.body["access_token"].as_str().expect("access token");
    let me = Answer::from(
        http.get(url("/me"))
            .bearer_auth(access)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(me.body, "demo");
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
    assert_eq!(me.body, "carol");
}

#[test]
fn a_weak_or_incomplete_configuration_refuses_to_start() {
    let weak = tempfile::NamedTempFile::new().expect("temp file");
    let weak_secret = "only-sixteen-b!!";
    std::fs::write(weak.path(), weak_secret).expect("write secret");
    let path = weak.path().to_str().expect("utf-8 path");
    let strong_secret = &"s".repeat(32);
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
        (
            vec![
                ("SECURE_API_ISSUER", "i"),
                ("SECURE_API_JWT_SECRET", strong_secret),
            ],
            "SECURE_API_AUDIENCE",
        ),
        (
            vec![
                ("SECURE_API_ISSUER", "i"),
                ("SECURE_API_AUDIENCE", "a"),
                ("SECURE_API_JWT_SECRET", strong_secret),
                ("SECURE_API_CLAIMS_PROFILE", "azure"),
            ],
            "use one of standard, keycloak, auth0, cognito, okta, entra",
        ),
        (
            vec![
                ("SECURE_API_ISSUER", "i"),
                ("SECURE_API_JWT_SECRET", strong_secret),
                ("SECURE_API_CLAIMS_PROFILE", "cognito"),
            ],
            "SECURE_API_CLIENT_IDS",
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
/// regenerated (`SNAPSHOTS=overwrite cargo test --test suite manifest`) and the diff reviewed.
#[test]
fn the_manifest_matches_its_reviewed_snapshot() {
    for (args, file) in [
        (&["--manifest"][..], "quickstart-manifest.txt"),
        (&["--manifest", "json"], "quickstart-manifest.json"),
    ] {
        let output = command(&[]).args(args).output().expect("run quickstart");
        assert!(output.status.success(), "{output:?}");
        common::assert_snapshot(file, &String::from_utf8(output.stdout).expect("utf-8"));
    }
}
