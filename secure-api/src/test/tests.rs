use super::*;
use crate::jwt::TokenRejection;
use crate::tokens::Principal;

fn alice() -> TestPrincipal {
    TestPrincipal::from(Principal::new("alice", &["pwd"]).with_roles(&["admin"]))
}

/// Each refused token is refused for the reason its name gives, by whichever key signs.
fn assert_refusals(security: &Security) {
    let alice = alice();
    let identity = security
        .verify(&alice.token(security))
        .expect("a valid token");
    assert_eq!(
        (identity.subject(), identity.roles()),
        ("alice", &["admin".to_owned()][..])
    );
    for (name, token, reason) in [
        (
            "expired",
            alice.expired_token(security),
            TokenRejection::Expired,
        ),
        (
            "audience",
            alice.wrong_audience_token(security),
            TokenRejection::WrongAudience,
        ),
        (
            "issuer",
            alice.wrong_issuer_token(security),
            TokenRejection::WrongIssuer,
        ),
        (
            "key",
            alice.wrong_key_token(security),
            TokenRejection::BadSignature,
        ),
        (
            "tampered",
            alice.tampered_token(security),
            TokenRejection::BadSignature,
        ),
        (
            "none",
            alice.none_alg_token(security),
            TokenRejection::Malformed,
        ),
    ] {
        assert_eq!(
            security.verify(&token).err(),
            Some(reason),
            "{name}: {token}"
        );
    }
}

#[test]
fn each_refused_token_is_refused_for_its_reason() {
    assert_refusals(&security());
    for algorithm in [Algorithm::HS384, Algorithm::HS512] {
        let key = Key::hmac(algorithm, Secret::generate(64)).expect("key");
        assert_refusals(
            &Security::builder()
                .issuer(ISSUER)
                .audience(AUDIENCE)
                .key(key)
                .build()
                .expect("security"),
        );
    }
}

#[cfg(feature = "pem")]
#[test]
fn wrong_key_tokens_are_made_for_ecdsa_and_eddsa_keys_too() {
    use p256::pkcs8::EncodePrivateKey as _;
    let p256 = p256::SecretKey::from_slice(&[7; 32]).expect("p256 key");
    let p384 = p384::SecretKey::from_slice(&[7; 48]).expect("p384 key");
    let ed25519 = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    for (algorithm, der) in [
        (Algorithm::ES256, p256.to_pkcs8_der()),
        (Algorithm::ES384, p384.to_pkcs8_der()),
        (Algorithm::EdDSA, ed25519.to_pkcs8_der()),
    ] {
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.expect("der").as_bytes()));
        let key = Key::private_pem(algorithm, pem.as_bytes()).expect("private key");
        let security = security_builder_with(key);
        assert_refusals(&security);
    }
}

#[cfg(feature = "pem")]
fn security_builder_with(key: Key) -> Security {
    Security::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(key)
        .build()
        .expect("security")
}

#[test]
fn a_second_factor_and_unchecked_names_are_carried() {
    let security = security();
    let principal = Principal::new("carol", &["pwd"]).with_scopes(&["anything:goes"]);
    let token = TestPrincipal::from(principal)
        .with_amr(&["pwd", "otp"])
        .token(&security);
    let identity = security.verify(&token).expect("valid");
    assert_eq!(identity.amr(), ["pwd", "otp"]);
    assert_eq!(identity.scopes(), ["anything:goes"]);
}

#[test]
fn each_security_has_a_key_of_its_own() {
    let (first, second) = (security(), security());
    assert_eq!((first.issuer(), first.audience()), (ISSUER, Some(AUDIENCE)));
    let token = alice().token(&first);
    assert_eq!(
        second.verify(&token).err(),
        Some(TokenRejection::BadSignature)
    );
}

#[tokio::test]
async fn clients_have_addresses_of_their_own() {
    let router = axum::Router::new();
    let (one, two) = (TestClient::new(router.clone()), TestClient::new(router));
    assert_ne!(one.address(), two.address());
    assert_eq!(one.clone().address(), one.address());
    let moved = one.from(std::net::Ipv4Addr::LOCALHOST);
    assert_eq!(moved.address(), Some(std::net::Ipv4Addr::LOCALHOST.into()));
    assert_eq!(moved.without_client_address().address(), None);
    let missing = two.get("/nowhere").send().await;
    assert_eq!(missing.status(), 404);
}
