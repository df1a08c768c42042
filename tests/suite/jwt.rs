//! Attacks on bearer tokens (RFC 8725), each refused by `Security::verify` for the right
//! reason, and all answered by a guarded route with one and the same 401 problem.

use crate::common::{self, Answer, HmacKey, claims, now, sign};
use axum::Router;
use axum::routing::get;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secure_api::jwt::{ClaimProfile, Key, MAX_TOKEN_BYTES, TokenRejection};
use secure_api::test::TestClient;
use secure_api::{AuthUser, Security, secure};
use serde_json::{Value, json};

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, byte)| n | u32::from(*byte) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A token assembled by hand, as an attacker would: any header, any payload, any signature.
fn forge(header: &Value, payload: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        base64url(header.to_string().as_bytes()),
        base64url(payload.to_string().as_bytes())
    )
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().expect("object").remove(name);
    claims
}

struct Rsa {
    private_pem: String,
    public_pem: String,
}

fn rsa() -> Rsa {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let private = rsa::RsaPrivateKey::new(&mut rand08::thread_rng(), 2048).expect("rsa key");
    Rsa {
        private_pem: private
            .to_pkcs8_pem(LineEnding::LF)
            .expect("pem")
            .to_string(),
        public_pem: private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem"),
    }
}

fn security_with(key: Key) -> Security {
    Security::builder()
        .issuer(common::ISSUER)
        .audience(common::AUDIENCE)
        .key(key)
        .build()
        .expect("configuration")
}

#[test]
fn hs256_attacks_are_refused_for_the_right_reason() {
    let key = HmacKey::generate();
    let security = common::hs256_security(&key);
    let good = claims("alice", &["user"], "");
    let hs = |claims: &Value| sign(claims, Algorithm::HS256, &key.encoding(), None);
    let valid = hs(&good);
    assert_eq!(security.verify(&valid).expect("valid").subject(), "alice");

    let (header, payload, signature) = split(&valid);
    let admin_payload = base64url(
        with(good.clone(), "roles", json!(["admin"]))
            .to_string()
            .as_bytes(),
    );
    let other_key = EncodingKey::from_secret(&[7u8; 64]);
    let cases: Vec<(&str, String, TokenRejection)> = vec![
        (
            "alg none",
            forge(&json!({"alg": "none", "typ": "JWT"}), &good, ""),
            TokenRejection::Malformed,
        ),
        (
            "alg none spelled otherwise",
            forge(&json!({"alg": "None"}), &good, ""),
            TokenRejection::Malformed,
        ),
        (
            "tampered payload",
            format!("{header}.{admin_payload}.{signature}"),
            TokenRejection::BadSignature,
        ),
        (
            "stripped signature",
            format!("{header}.{payload}."),
            TokenRejection::BadSignature,
        ),
        (
            "no signature part",
            format!("{header}.{payload}"),
            TokenRejection::Malformed,
        ),
        (
            "signed with another key",
            sign(&good, Algorithm::HS256, &other_key, None),
            TokenRejection::BadSignature,
        ),
        (
            "HS512 where HS256 is configured",
            sign(&good, Algorithm::HS512, &key.encoding(), None),
            TokenRejection::AlgorithmNotAllowed,
        ),
        (
            "expired",
            hs(&with(good.clone(), "exp", json!(now() - 60))),
            TokenRejection::Expired,
        ),
        (
            "not yet valid",
            hs(&with(good.clone(), "nbf", json!(now() + 3600))),
            TokenRejection::NotYetValid,
        ),
        (
            "wrong issuer",
            hs(&with(good.clone(), "iss", json!("https://evil.test"))),
            TokenRejection::WrongIssuer,
        ),
        (
            "iss as an array that holds ours",
            hs(&with(good.clone(), "iss", json!([common::ISSUER]))),
            TokenRejection::WrongIssuer,
        ),
        (
            "a crit header: an extension we would not understand (RFC 7515 §4.1.11)",
            {
                let mut header = Header::new(Algorithm::HS256);
                header.typ = Some("at+jwt".to_owned());
                header.crit = Some(vec!["exp".to_owned()]);
                jsonwebtoken::encode(&header, &good, &key.encoding()).expect("signed")
            },
            TokenRejection::CriticalHeader,
        ),
        (
            "crit: null",
            forge(
                &json!({"alg": "HS256", "typ": "at+jwt", "crit": null}),
                &good,
                &split(&valid).2,
            ),
            TokenRejection::CriticalHeader,
        ),
        (
            "wrong audience",
            hs(&with(good.clone(), "aud", json!("another-api"))),
            TokenRejection::WrongAudience,
        ),
        (
            "exp as a string (CVE-2026-25537)",
            hs(&with(good.clone(), "exp", json!("9999999999"))),
            TokenRejection::BadClaims,
        ),
        (
            "nbf as a string",
            hs(&with(good.clone(), "nbf", json!("9999999999"))),
            TokenRejection::BadClaims,
        ),
        (
            "no exp",
            hs(&without(good.clone(), "exp")),
            TokenRejection::BadClaims,
        ),
        (
            "no iss",
            hs(&without(good.clone(), "iss")),
            TokenRejection::BadClaims,
        ),
        (
            "no aud",
            hs(&without(good.clone(), "aud")),
            TokenRejection::BadClaims,
        ),
        (
            "no sub",
            hs(&without(good.clone(), "sub")),
            TokenRejection::BadClaims,
        ),
        (
            "roles as a string",
            hs(&with(good.clone(), "roles", json!("admin"))),
            TokenRejection::BadClaims,
        ),
        (
            "unknown kid",
            sign(&good, Algorithm::HS256, &key.encoding(), Some("retired")),
            TokenRejection::UnknownKey,
        ),
        (
            "over the size cap",
            hs(&with(
                good.clone(),
                "padding",
                json!("x".repeat(MAX_TOKEN_BYTES)),
            )),
            TokenRejection::TooLarge,
        ),
        ("not a token", "hello".to_owned(), TokenRejection::Malformed),
        (
            "a JWT of another type (an ID token, say)",
            common::sign_typed(&good, Algorithm::HS256, &key.encoding(), None, "JWT"),
            TokenRejection::WrongType,
        ),
        (
            "no typ at all",
            forge(&json!({"alg": "HS256"}), &good, &split(&hs(&good)).2),
            TokenRejection::WrongType,
        ),
    ];
    for (name, token, expected) in &cases {
        assert_eq!(security.verify(token).err(), Some(*expected), "{name}");
    }
}

#[test]
fn leeway_is_small_and_applies_both_ways() {
    let key = HmacKey::generate();
    let security = common::hs256_security(&key);
    let hs = |claims: &Value| sign(claims, Algorithm::HS256, &key.encoding(), None);
    let good = claims("alice", &[], "");
    assert!(
        security
            .verify(&hs(&with(good.clone(), "exp", json!(now() - 5))))
            .is_ok()
    );
    assert!(
        security
            .verify(&hs(&with(good.clone(), "nbf", json!(now() + 5))))
            .is_ok()
    );
    assert!(
        security
            .verify(&hs(&with(good.clone(), "exp", json!(now() - 15))))
            .is_err()
    );
    assert!(
        security
            .verify(&hs(&with(good, "nbf", json!(now() + 15))))
            .is_err()
    );
}

#[test]
fn rsa_public_key_used_as_an_hmac_secret_is_refused() {
    let rsa = rsa();
    let security = security_with(
        Key::public_pem(Algorithm::RS256, rsa.public_pem.as_bytes()).expect("public key"),
    );
    let good = claims("alice", &["admin"], "");
    let genuine = sign(
        &good,
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(rsa.private_pem.as_bytes()).expect("private key"),
        None,
    );
    assert!(security.verify(&genuine).is_ok());
    // The classic confusion: the attacker knows the public key and signs HS256 with it.
    let confused = sign(
        &good,
        Algorithm::HS256,
        &EncodingKey::from_secret(rsa.public_pem.as_bytes()),
        None,
    );
    assert_eq!(
        security.verify(&confused).err(),
        Some(TokenRejection::AlgorithmNotAllowed)
    );
    let ps256 = sign(
        &good,
        Algorithm::PS256,
        &EncodingKey::from_rsa_pem(rsa.private_pem.as_bytes()).expect("private key"),
        None,
    );
    assert_eq!(
        security.verify(&ps256).err(),
        Some(TokenRejection::AlgorithmNotAllowed)
    );
}

#[test]
fn es256_and_eddsa_keys_verify() {
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let good = claims("alice", &[], "");

    let ec = p256::SecretKey::random(&mut rand08::thread_rng());
    let ec_private = ec.to_pkcs8_pem(LineEnding::LF).expect("pem");
    let ec_public = ec
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    let es = security_with(Key::public_pem(Algorithm::ES256, ec_public.as_bytes()).expect("key"));
    let token = sign(
        &good,
        Algorithm::ES256,
        &EncodingKey::from_ec_pem(ec_private.as_bytes()).expect("key"),
        None,
    );
    assert!(es.verify(&token).is_ok());

    let ed = ed25519_dalek::SigningKey::from_bytes(&rand::random());
    let ed_private = ed.to_pkcs8_pem(LineEnding::LF).expect("pem");
    let ed_public = ed
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    let eddsa =
        security_with(Key::public_pem(Algorithm::EdDSA, ed_public.as_bytes()).expect("key"));
    let token = sign(
        &good,
        Algorithm::EdDSA,
        &EncodingKey::from_ed_pem(ed_private.as_bytes()).expect("key"),
        None,
    );
    assert!(eddsa.verify(&token).is_ok());
    // An ES256 token is not accepted by the EdDSA configuration.
    let es_token = sign(
        &good,
        Algorithm::ES256,
        &EncodingKey::from_ec_pem(ec_private.as_bytes()).expect("key"),
        None,
    );
    assert!(eddsa.verify(&es_token).is_err());
}

#[test]
fn keys_rotate_by_kid() {
    let (old, new) = (HmacKey::generate(), HmacKey::generate());
    let security = Security::builder()
        .issuer(common::ISSUER)
        .audience(common::AUDIENCE)
        .key(old.key().with_kid("2026-10"))
        .key(new.key().with_kid("2026-11"))
        .build()
        .expect("configuration");
    let good = claims("alice", &[], "");
    for (key, kid) in [(&old, "2026-10"), (&new, "2026-11")] {
        let token = sign(&good, Algorithm::HS256, &key.encoding(), Some(kid));
        assert!(security.verify(&token).is_ok(), "{kid}");
    }
    let swapped = sign(&good, Algorithm::HS256, &old.encoding(), Some("2026-11"));
    assert_eq!(
        security.verify(&swapped).err(),
        Some(TokenRejection::BadSignature)
    );
    let unnamed = sign(&good, Algorithm::HS256, &new.encoding(), None);
    assert_eq!(
        security.verify(&unnamed).err(),
        Some(TokenRejection::UnknownKey)
    );
}

#[secure(rate = "1000/1m")]
async fn me(user: AuthUser) -> String {
    user.subject().to_owned()
}

#[tokio::test]
async fn every_refused_token_gets_the_same_401() {
    let key = HmacKey::generate();
    let security = common::hs256_security(&key);
    let client = TestClient::new(Router::new().route("/me", get(me)).with_state(security));
    let good = claims("alice", &[], "");
    let hs = |claims: &Value| sign(claims, Algorithm::HS256, &key.encoding(), None);
    let valid = hs(&good);
    let (header, payload, _) = split(&valid);
    let tokens = [
        forge(&json!({"alg": "none"}), &good, ""),
        format!("{header}.{payload}."),
        hs(&with(good.clone(), "exp", json!(now() - 60))),
        hs(&with(good.clone(), "exp", json!("9999999999"))),
        hs(&with(good.clone(), "aud", json!("another-api"))),
        hs(&with(
            good.clone(),
            "padding",
            json!("x".repeat(MAX_TOKEN_BYTES)),
        )),
    ];
    let mut bodies = Vec::new();
    for token in &tokens {
        let answer = Answer::of(client.get("/me").bearer(token).send().await);
        answer.assert_problem(401);
        assert_eq!(
            answer.header("www-authenticate"),
            "Bearer error=\"invalid_token\""
        );
        bodies.push(answer.body);
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "{bodies:#?}"
    );
    let ok = client.get("/me").bearer(&valid).send().await;
    assert_eq!(ok.text(), "alice");
}

#[secure(role = "editor", rate = "1000/1m")]
async fn edit(user: AuthUser) -> String {
    user.subject().to_owned()
}

/// Amazon Cognito's access tokens carry no `aud`: the cognito profile binds them by
/// `client_id` and reads roles from `cognito:groups`.
#[tokio::test]
async fn a_cognito_token_passes_a_role_check() {
    let key = HmacKey::generate();
    let app_client = "6jd3v0m9ogm0b4c1qgbtmfcv4j";
    let security = Security::builder()
        .issuer(common::ISSUER)
        .key(key.key())
        .claims(ClaimProfile::cognito([app_client]))
        .build()
        .expect("configuration");
    let client = TestClient::new(Router::new().route("/edit", get(edit)).with_state(security));
    let cognito = |client_id: &str, groups: &[&str]| {
        let claims = json!({
            "iss": common::ISSUER,
            "sub": "94c8f4e8-2071-7026-b2a3-0c3e5d1c8a9b",
            "cognito:groups": groups,
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "auth_time": now(),
            "iat": now(),
            "exp": now() + 300,
            "jti": "5e2a1b0c-7d3f-4e9a-8b1c-2d3e4f5a6b7c",
            "client_id": client_id,
            "username": "alice",
        });
        sign(&claims, Algorithm::HS256, &key.encoding(), None)
    };
    let get_edit = |token: String| {
        let request = client.get("/edit").bearer(&token);
        async move { Answer::of(request.send().await) }
    };
    let editor = get_edit(cognito(app_client, &["editor"])).await;
    assert_eq!(editor.status, 200, "{}", editor.body);
    assert_eq!(editor.body, "94c8f4e8-2071-7026-b2a3-0c3e5d1c8a9b");
    let admin = get_edit(cognito(app_client, &["admin"])).await;
    assert_eq!(admin.status, 200, "admin is above editor: {}", admin.body);
    get_edit(cognito(app_client, &["viewer"]))
        .await
        .assert_problem(403);
    get_edit(cognito("another-app-client", &["editor"]))
        .await
        .assert_problem(401);
}

fn split(token: &str) -> (String, String, String) {
    let mut parts = token.splitn(3, '.').map(str::to_owned);
    let mut next = || parts.next().expect("three parts");
    (next(), next(), next())
}

/// Only `at+jwt` passes by default (an ID token signed with the same key is not an access
/// token); a provider's `JWT`, or no `typ` at all (Cognito), only when accepted by name.
#[test]
fn token_types_other_than_at_jwt_pass_only_when_accepted() {
    let key = HmacKey::generate();
    let good = claims("alice", &[], "");
    let typed = |typ: &str| common::sign_typed(&good, Algorithm::HS256, &key.encoding(), None, typ);
    let mut header = Header::new(Algorithm::HS256);
    header.typ = None;
    let untyped = jsonwebtoken::encode(&header, &good, &key.encoding()).expect("signing");
    let strict = common::hs256_security(&key);
    for token in [typed("JWT"), untyped.clone()] {
        assert_eq!(strict.verify(&token).err(), Some(TokenRejection::WrongType));
    }
    let lenient = Security::builder()
        .issuer(common::ISSUER)
        .audience(common::AUDIENCE)
        .key(key.key())
        .accept_token_type("JWT")
        .accept_token_type("")
        .build()
        .expect("configuration");
    for token in [typed("JWT"), typed("jwt"), untyped, typed("at+jwt")] {
        assert!(lenient.verify(&token).is_ok(), "{token}");
    }
    assert_eq!(
        lenient.verify(&typed("id_token+jwt")).err(),
        Some(TokenRejection::WrongType)
    );
}
