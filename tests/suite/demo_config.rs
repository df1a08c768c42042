//! The demo refuses to start, naming the variable at fault, on settings it would ignore or
//! could not serve: `SECURE_API_*` variables beside its made-up keys, a key that cannot sign
//! its tokens, and whatever `Security::from_env` refuses.

use crate::common;
use std::io::Read;
use std::time::{Duration, Instant};

/// What the demo wrote to stderr when it refused `env`; it must exit with status 1 before it
/// listens.
fn refusal(env: &[(&str, &str)]) -> String {
    let folder = tempfile::tempdir().expect("temp dir");
    let db = folder.path().join("demo.db");
    let mut env = env.to_vec();
    env.push(("DEMO_DB", db.to_str().expect("utf-8 path")));
    let mut child = common::example_command("demo", "examples/demo", "DEMO_ADDR", &env)
        .spawn()
        .expect("start the demo");
    // A demo that starts after all never exits by itself.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the demo") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the demo started with {env:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("utf-8 stderr");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("secure-api demo cannot start: "),
        "{stderr}"
    );
    stderr
}

#[test]
fn without_an_issuer_every_secure_api_variable_is_refused() {
    for (name, value) in [
        ("SECURE_API_REDIS_URL", "redis://127.0.0.1:6379/"),
        ("SECURE_API_TRUSTED_PROXIES", "10.0.0.0/8"),
        ("SECURE_API_JWT_SECRET_FILE", "/run/secrets/jwt"),
    ] {
        let stderr = refusal(&[(name, value)]);
        assert!(
            stderr.contains(&format!(
                "{name} is set, but SECURE_API_ISSUER is not: without it the demo runs on keys \
                 made up for this process"
            )) && stderr.contains(&format!("or unset {name}")),
            "{stderr}"
        );
    }
}

#[test]
fn a_key_that_only_verifies_is_refused() {
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let folder = tempfile::tempdir().expect("temp dir");
    let public = folder.path().join("public.pem");
    let key = p256::SecretKey::random(&mut rand08::thread_rng()).public_key();
    let pem = key.to_public_key_pem(LineEnding::LF).expect("pem");
    std::fs::write(&public, pem).expect("write key");
    let seal = folder.path().join("seal.key");
    std::fs::write(&seal, [7u8; 32]).expect("write seal key");
    let stderr = refusal(&[
        ("SECURE_API_ISSUER", common::ISSUER),
        ("SECURE_API_AUDIENCE", common::AUDIENCE),
        ("SECURE_API_JWT_ALGORITHM", "ES256"),
        (
            "SECURE_API_JWT_PUBLIC_KEY_FILE",
            public.to_str().expect("utf-8"),
        ),
        ("DEMO_SEAL_KEY_FILE", seal.to_str().expect("utf-8")),
    ]);
    assert!(
        stderr.contains("the demo issues tokens, and no configured key can sign")
            && stderr.contains("set SECURE_API_JWT_PRIVATE_KEY_FILE"),
        "{stderr}"
    );
}

/// The library's refusals reach the operator as they are.
#[test]
fn a_misspelt_variable_is_refused_with_its_name() {
    let stderr = refusal(&[
        ("SECURE_API_ISSUER", common::ISSUER),
        ("SECURE_API_AUDIENCE", common::AUDIENCE),
        ("SECURE_API_JWT_SECRET", &"s".repeat(32)),
        ("SECURE_API_TRUSTED_PROXY", "10.0.0.0/8"),
    ]);
    assert!(
        stderr.contains(
            "SECURE_API_TRUSTED_PROXY is not a variable secure-api reads; did you mean \
             SECURE_API_TRUSTED_PROXIES?"
        ),
        "{stderr}"
    );
}
