//! Asymmetric keys between services: a `Security` that signs with a private key publishes
//! its public half (`Security::jwks`), and a second service configured from that document
//! alone verifies its tokens — while the keys a token carries or points to are never used.

use crate::common::{self, Answer, claims, client, serve, start_demo};
use axum::Router;
use axum::routing::get;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secure_api::jwt::{Key, TokenRejection};
use secure_api::{Principal, Security};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn security(keys: Vec<Key>) -> Security {
    keys.into_iter()
        .fold(Security::builder(), |builder, key| builder.key(key))
        .issuer(common::ISSUER)
        .audience(common::AUDIENCE)
        .build()
        .expect("configuration")
}

/// A second service, configured only with the keys of a published JWK Set.
fn verifier_from(jwks: &Value, algorithms: &[Algorithm]) -> Security {
    security(Key::from_jwk_set(jwks.to_string().as_bytes(), algorithms).expect("usable keys"))
}

fn p256_pem() -> String {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    let key = p256::SecretKey::random(&mut rand08::thread_rng());
    key.to_pkcs8_pem(LineEnding::LF).expect("pem").to_string()
}

fn ed25519_pem() -> String {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    let key = ed25519_dalek::SigningKey::from_bytes(&rand::random());
    key.to_pkcs8_pem(LineEnding::LF).expect("pem").to_string()
}

/// PKCS#1 (`BEGIN RSA PRIVATE KEY`), as older tools write it.
fn rsa_pem() -> String {
    use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rand08::thread_rng(), 2048).expect("rsa key");
    key.to_pkcs1_pem(LineEnding::LF).expect("pem").to_string()
}

#[test]
fn a_second_service_verifies_tokens_with_the_published_keys_alone() {
    for (algorithm, pem) in [
        (Algorithm::ES256, p256_pem()),
        (Algorithm::EdDSA, ed25519_pem()),
        (Algorithm::RS256, rsa_pem()),
    ] {
        let first = security(vec![
            Key::private_pem(algorithm, pem.as_bytes()).expect("private key"),
        ]);
        let jwks = first.jwks();
        let published = jwks["keys"].as_array().expect("keys");
        assert_eq!(published.len(), 1, "{algorithm:?}");
        let jwk = &published[0];
        assert_eq!(jwk["alg"], format!("{algorithm:?}"));
        assert_eq!(jwk["use"], "sig");
        let kid = jwk["kid"].as_str().expect("a kid");
        // The kid is the key's RFC 7638 thumbprint.
        let parsed: Jwk = serde_json::from_value(jwk.clone()).expect("a JWK");
        let thumbprint = parsed.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256);
        assert_eq!(thumbprint.ok().as_deref(), Some(kid));
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(jwk.get(private).is_none(), "{algorithm:?}: {private}");
        }
        let body: String = pem
            .lines()
            .nth(1)
            .expect("a line")
            .chars()
            .take(24)
            .collect();
        assert!(!jwks.to_string().contains(&body));

        let second = verifier_from(&jwks, &[algorithm]);
        let token = first
            .mint("alice", &["admin"], &[], Duration::from_secs(60))
            .expect("signed");
        let identity = second
            .verify(&token)
            .expect("verified by the second service");
        assert_eq!(
            (identity.subject(), identity.roles()),
            ("alice", &["admin".to_owned()][..])
        );
        assert_eq!(first.verify(&token).map(|_| ()), Ok(()), "and by the first");
        assert!(
            second
                .mint("mallory", &[], &[], Duration::from_secs(60))
                .is_err()
        );
        assert_eq!(
            second.jwks(),
            jwks,
            "the second publishes what it verifies with"
        );
    }
}

#[tokio::test]
async fn issued_token_pairs_carry_the_kid_of_the_published_key() {
    let first = security(vec![
        Key::private_pem(Algorithm::EdDSA, ed25519_pem().as_bytes())
            .expect("key")
            .with_kid("2026-11"),
    ]);
    let pair = first
        .issue(&Principal::new("alice", &["pwd"]))
        .await
        .expect("issued");
    let header = jsonwebtoken::decode_header(&pair.access_token).expect("header");
    assert_eq!(header.kid.as_deref(), Some("2026-11"));
    assert_eq!(first.jwks()["keys"][0]["kid"], "2026-11");
    let second = verifier_from(&first.jwks(), &[Algorithm::EdDSA, Algorithm::ES256]);
    assert!(second.verify(&pair.access_token).is_ok());
}

#[test]
fn hmac_secrets_are_never_published() {
    let hmac = common::hs256_security(&common::HmacKey::generate());
    assert_eq!(hmac.jwks(), json!({"keys": []}));
    // A rotation: the new private key signs, the old public key still verifies; both are
    // published, the secret is not.
    let rotating = security(vec![
        Key::private_pem(Algorithm::ES256, p256_pem().as_bytes()).expect("new"),
        Key::public_pem(Algorithm::ES256, &public_pem_of_p256())
            .expect("old")
            .with_kid("old"),
        common::HmacKey::generate().key().with_kid("hmac"),
    ]);
    let jwks = rotating.jwks();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|jwk| jwk["kid"].as_str())
        .collect();
    assert_eq!(kids.len(), 2);
    assert!(kids.contains(&"old") && !kids.contains(&"hmac"));
}

fn public_pem_of_p256() -> Vec<u8> {
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let key = p256::SecretKey::random(&mut rand08::thread_rng()).public_key();
    key.to_public_key_pem(LineEnding::LF)
        .expect("pem")
        .into_bytes()
}

#[test]
fn a_jwk_set_without_a_usable_key_is_refused_with_each_reason() {
    let published = security(vec![
        Key::private_pem(Algorithm::ES256, p256_pem().as_bytes()).expect("key"),
    ])
    .jwks();
    let kid = published["keys"][0]["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    let error = Key::from_jwk_set(published.to_string().as_bytes(), &[Algorithm::RS256])
        .expect_err("no RSA key");
    assert_eq!(
        error.to_string(),
        format!(
            "JWK Set is invalid: no key is usable: kid `{kid}`: `alg` ES256 is not a configured \
             algorithm (RS256)"
        )
    );
    let error = Key::from_jwk_set(b"{\"keys\": []}", &[Algorithm::RS256]).expect_err("empty");
    assert_eq!(
        error.to_string(),
        "JWK Set is invalid: the set holds no key"
    );
}

/// What an attacker serves at the URLs its tokens point to; it counts every request.
async fn attacker_site(jwks: Value) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let app = Router::new().fallback(get(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let jwks = jwks.clone();
        async move { axum::Json(jwks) }
    }));
    (format!("http://{}", serve(app).await), hits)
}

#[tokio::test]
async fn keys_a_token_carries_or_points_to_are_never_used() {
    let our_pem = p256_pem();
    let ours = security(vec![
        Key::private_pem(Algorithm::ES256, our_pem.as_bytes()).expect("our key"),
    ]);
    let our_kid = ours.jwks()["keys"][0]["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    // The attacker's own P-256 key, and a self-signed certificate for it.
    let attacker = rcgen::KeyPair::generate().expect("attacker key");
    let certificate = rcgen::CertificateParams::new(vec!["attacker.test".to_owned()])
        .expect("params")
        .self_signed(&attacker)
        .expect("certificate");
    let signing = EncodingKey::from_ec_pem(attacker.serialize_pem().as_bytes()).expect("key");
    let mut attacker_jwk = Jwk::from_encoding_key(&signing, Algorithm::ES256).expect("jwk");
    attacker_jwk.common.key_id = Some(our_kid.clone());
    let (site, hits) = attacker_site(json!({ "keys": [attacker_jwk.clone()] })).await;
    let x5c = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(certificate.der())
    };

    let signed = |key: &EncodingKey, configure: &dyn Fn(&mut Header)| {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("at+jwt".to_owned());
        configure(&mut header);
        jsonwebtoken::encode(&header, &claims("mallory", &["admin"], ""), key).expect("signed")
    };
    let forged = |configure: &dyn Fn(&mut Header)| signed(&signing, configure);
    let cases: [(&str, String); 6] = [
        (
            "embedded jwk",
            forged(&|h| h.jwk = Some(attacker_jwk.clone())),
        ),
        (
            "embedded jwk, our kid",
            forged(&|h| {
                h.jwk = Some(attacker_jwk.clone());
                h.kid = Some(our_kid.clone());
            }),
        ),
        (
            "jku",
            forged(&|h| h.jku = Some(format!("{site}/jwks.json"))),
        ),
        ("x5u", forged(&|h| h.x5u = Some(format!("{site}/cert.pem")))),
        ("x5c", forged(&|h| h.x5c = Some(vec![x5c.clone()]))),
        (
            "all of them",
            forged(&|h| {
                h.jwk = Some(attacker_jwk.clone());
                h.jku = Some(format!("{site}/jwks.json"));
                h.x5u = Some(format!("{site}/cert.pem"));
                h.x5c = Some(vec![x5c.clone()]);
            }),
        ),
    ];
    for (name, token) in &cases {
        assert_eq!(
            ours.verify(token).err(),
            Some(TokenRejection::BadSignature),
            "{name}"
        );
    }
    // The same headers on a token our key signed change nothing: they are not read.
    let our_signing = EncodingKey::from_ec_pem(our_pem.as_bytes()).expect("our key");
    let honest = signed(&our_signing, &|h| {
        h.jwk = Some(attacker_jwk.clone());
        h.jku = Some(format!("{site}/jwks.json"));
        h.x5u = Some(format!("{site}/cert.pem"));
        h.x5c = Some(vec![x5c.clone()]);
    });
    assert_eq!(
        ours.verify(&honest).map(|user| user.subject().to_owned()),
        Ok("mallory".into())
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "no URL of a token is ever fetched"
    );
}

/// The demo signs with the private key of `SECURE_API_JWT_PRIVATE_KEY_FILE` and serves its
/// public half at `/.well-known/jwks.json`, from which a second service verifies its tokens.
#[tokio::test]
async fn the_demo_publishes_the_key_its_tokens_verify_with() {
    let folder = tempfile::tempdir().expect("temp dir");
    let key_file = folder.path().join("signing.pem");
    std::fs::write(&key_file, p256_pem()).expect("write key");
    let seal_file = folder.path().join("seal.key");
    std::fs::write(&seal_file, [7u8; 32]).expect("write seal key");
    let demo = start_demo(&[
        ("SECURE_API_ISSUER", common::ISSUER),
        ("SECURE_API_AUDIENCE", common::AUDIENCE),
        ("SECURE_API_JWT_ALGORITHM", "ES256"),
        (
            "SECURE_API_JWT_PRIVATE_KEY_FILE",
            key_file.to_str().expect("utf-8"),
        ),
        ("DEMO_SEAL_KEY_FILE", seal_file.to_str().expect("utf-8")),
    ]);
    let http = client();
    let url = |path: &str| format!("{}{path}", demo.running.base);
    let jwks = Answer::from(
        http.get(url("/.well-known/jwks.json"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.body["keys"][0]["alg"], "ES256");
    let credentials = json!({"username": "alice", "password": "correct horse battery"});
    let mut signup = credentials.clone();
    signup["email"] = json!("alice@example.org");
    let created = http
        .post(url("/signup"))
        .json(&signup)
        .send()
        .await
        .expect("signup");
    assert_eq!(created.status(), 201);
    let login = Answer::from(
        http.post(url("/login"))
            .json(&credentials)
            .send()
            .await
            .expect("login"),
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let token = login.body["access_token"].as_str().expect("token");
    let second = verifier_from(&jwks.body, &[Algorithm::ES256]);
    assert!(second.verify(token).is_ok());
}
