//! schemathesis, an outside API fuzzer from PyPI, against the demo over loopback: it reads the
//! demo's OpenAPI document and attacks every operation with valid and invalid data, with no,
//! wrong and valid credentials, and fails on any answer the document does not promise — a
//! server error, an undocumented status, content type or header, a problem that breaks the
//! `Problem` schema, invalid data accepted, valid data refused, authentication ignored. Its
//! settings, and the hooks that make it a crowd of clients, are in `tests/openapi/`.

use crate::common::{self, Answer, client, start_demo};
use secure_api::mfa::code_at;
use serde_json::json;
use std::process::{Command, Output};

const ADMIN_PASSWORD: &str = "the administrator of the fuzz run";

/// Whether schemathesis is on PATH; without it the test fails under
/// `TESTS_REQUIRE_OPENAPI=1` (`.ci/run`) and is skipped, saying so, elsewhere.
fn schemathesis_installed() -> bool {
    let installed = Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        assert!(
            std::env::var_os("TESTS_REQUIRE_OPENAPI").is_none(),
            "schemathesis is not installed (pip install -r tests/openapi/requirements.txt)"
        );
        eprintln!("SKIPPED: schemathesis is not installed; the demo was not fuzzed");
    }
    installed
}

/// One schemathesis run over the operations `filter` selects, with the credentials given;
/// fails with its report unless every selected operation was tested and none failed.
fn fuzz(document: &str, bearer: &str, api_key: &str, filter: [&str; 2]) {
    let Output { status, stdout, .. } = Command::new("schemathesis")
        .args([
            "--no-color",
            "--config-file",
            "tests/openapi/schemathesis.toml",
        ])
        .args(["run", document])
        .args(filter)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SCHEMATHESIS_BEARER", bearer)
        .env("SCHEMATHESIS_API_KEY", api_key)
        .output()
        .expect("run schemathesis");
    // A reproducing command can hold a body of megabytes: lines are cut for the test's output.
    let report: String = String::from_utf8_lossy(&stdout)
        .lines()
        .map(|line| match line.char_indices().nth(300) {
            Some((cut, _)) => format!("{} …\n", &line[..cut]),
            None => format!("{line}\n"),
        })
        .collect();
    assert!(status.success(), "schemathesis found failures:\n{report}");
    let figure = |label: &str| {
        report
            .lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .and_then(|rest| rest.split('/').next())
            .and_then(|count| count.trim().parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no `{label}` in the report:\n{report}"))
    };
    let selected = figure("Selected:");
    assert!(selected > 0, "no operation selected:\n{report}");
    assert_eq!(
        figure("Tested:"),
        selected,
        "an operation went untested:\n{report}"
    );
    eprintln!("{report}");
}

/// The whole demo, with an administrator's token that shows a second factor (so that
/// `mfa = "15m"` routes are reached too) and an API key for the key routes. Logout is fuzzed
/// last, on its own: the first one it gets right revokes the token the others need.
#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_wrong_with_the_demo() {
    if !schemathesis_installed() {
        return;
    }
    let folder = tempfile::tempdir().expect("temp dir");
    let file = |name: &str, content: &[u8]| {
        let path = folder.path().join(name);
        std::fs::write(&path, content).expect("write a secret file");
        path.to_str().expect("utf-8 path").to_owned()
    };
    let jwt_secret = file("jwt.secret", &rand::random::<[u8; 32]>());
    let seal_key = file("seal.key", &rand::random::<[u8; 32]>());
    let admin_password = file("admin.password", ADMIN_PASSWORD.as_bytes());
    let demo = start_demo(&[
        ("SECURE_API_ISSUER", common::ISSUER),
        ("SECURE_API_AUDIENCE", common::AUDIENCE),
        ("SECURE_API_JWT_SECRET_FILE", &jwt_secret),
        ("DEMO_SEAL_KEY_FILE", &seal_key),
        ("DEMO_ADMIN_PASSWORD_FILE", &admin_password),
        // The fuzzer names a client address of its own in each request (hooks.py).
        ("SECURE_API_TRUSTED_PROXIES", "127.0.0.1/32"),
    ]);
    let base = &demo.running.base;
    let http = client();
    let call = |request: reqwest::RequestBuilder| async move {
        Answer::from(request.send().await.expect("the demo answers")).await
    };

    let login = call(
        http.post(format!("{base}/login"))
            .json(&json!({ "username": "admin", "password": ADMIN_PASSWORD })),
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let password_only = login.body["access_token"].as_str().expect("access token");
    let enrolment = call(
        http.post(format!("{base}/mfa/enrol"))
            .bearer_auth(password_only),
    )
    .await;
    assert_eq!(enrolment.status, 200, "{}", enrolment.body);
    let secret = enrolment.body["secret"].as_str().expect("TOTP secret");
    let code = code_at(secret, common::now().try_into().expect("after 1970")).expect("a code");
    let step_up = call(
        http.post(format!("{base}/mfa/verify"))
            .bearer_auth(password_only)
            .json(&json!({ "code": code })),
    )
    .await;
    assert_eq!(step_up.status, 200, "{}", step_up.body);
    let bearer = step_up.body["access_token"].as_str().expect("access token");
    let key = call(
        http.post(format!("{base}/admin/service-accounts/fuzzer/keys"))
            .bearer_auth(bearer)
            .json(&json!({ "name": "fuzz", "scopes": ["reports:read"], "expires_in_days": 1 })),
    )
    .await;
    assert_eq!(key.status, 201, "{}", key.body);
    let api_key = key.body["key"].as_str().expect("API key");

    let document = format!("{base}/openapi.json");
    fuzz(
        &document,
        bearer,
        api_key,
        ["--exclude-operation-id", "logout"],
    );
    fuzz(
        &document,
        bearer,
        api_key,
        ["--include-operation-id", "logout"],
    );
}
