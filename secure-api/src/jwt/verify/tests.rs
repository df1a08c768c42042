//! The verifier's own tests: key sets, verification, the cache of verified tokens.
use super::*;
use crate::jwt::SigningKey;
use crate::jwt::cache::DEFAULT_CAPACITY;
use crate::secret::Secret;
use jsonwebtoken::Algorithm;

fn hs256() -> Key {
    Key::hmac(Algorithm::HS256, Secret::generate(32)).expect("key")
}

fn settings(keys: Vec<Key>) -> VerifierSettings {
    VerifierSettings {
        issuer: "i".into(),
        audience: Some("a".into()),
        claims: ClaimProfile::standard(),
        keys,
        #[cfg(feature = "jwks")]
        remote: None,
        leeway: Duration::ZERO,
        extra_token_types: Vec::new(),
        cache_capacity: DEFAULT_CAPACITY,
    }
}

/// A verifier with one HS256 key, and a token for `subject` signed with it.
fn verifier_and_signer(cache_capacity: usize) -> (Verifier, SigningKey) {
    crate::jwt::install_crypto_provider();
    let key = hs256();
    let signer = key.signing_key().expect("an HMAC key signs");
    let verifier = Verifier::new(VerifierSettings {
        cache_capacity,
        ..settings(vec![key])
    })
    .expect("config");
    (verifier, signer)
}

fn token(signer: &SigningKey, subject: &str, ttl: u64) -> String {
    let now = crate::time::now();
    signer
        .sign(&serde_json::json!({
            "iss": "i", "aud": "a", "sub": subject, "nbf": now, "exp": now + ttl,
            "roles": ["admin"], "scope": "users:read users:write",
        }))
        .expect("signed")
}

#[test]
fn key_sets_are_checked() {
    assert!(matches!(
        Verifier::new(settings(Vec::new())),
        Err(ConfigError::NoKey)
    ));
    let too_lenient = Verifier::new(VerifierSettings {
        leeway: Duration::from_secs(31),
        ..settings(vec![hs256()])
    });
    assert!(too_lenient.is_err());
    let build = |a: Key, b: Key| Verifier::new(settings(vec![a, b]));
    assert!(build(hs256(), hs256().with_kid("b")).is_err());
    assert!(build(hs256().with_kid("a"), hs256().with_kid("a")).is_err());
    assert!(build(hs256().with_kid("a"), hs256().with_kid("b")).is_ok());
}

#[test]
fn signed_tokens_verify() {
    let (verifier, signer) = verifier_and_signer(0);
    let identity = verifier
        .verify(&token(&signer, "alice", 60))
        .expect("valid");
    assert_eq!(identity.subject(), "alice");
    assert_eq!(identity.roles(), ["admin"]);
    assert_eq!(identity.scopes(), ["users:read", "users:write"]);
}

#[test]
fn verified_tokens_are_remembered_until_they_expire() {
    let (verifier, signer) = verifier_and_signer(DEFAULT_CAPACITY);
    let token = token(&signer, "alice", 1);
    let first = verifier.verify_cached(&token).expect("valid");
    assert!(
        verifier.verified.get(&token, crate::time::now()).is_some(),
        "the next look is the cache's"
    );
    // From the second look in a row, the thread answers from its own copy of the identity.
    let copy = verifier.verify_cached(&token).expect("still valid");
    let again = verifier.verify_cached(&token).expect("still valid");
    assert!(Arc::ptr_eq(&copy, &again));
    assert!(!Arc::ptr_eq(&first, &copy));
    assert_eq!(copy.subject(), "alice");
    // A token that fails is not remembered: a tampered copy fails every time.
    let tampered = format!("{}x", &token[..token.len() - 1]);
    for _ in 0..2 {
        assert!(verifier.verify_cached(&tampered).is_err());
    }
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        verifier.verify_cached(&token).map(|_| ()),
        Err(TokenRejection::Expired),
        "the thread's copy expires with the token"
    );
    assert_eq!(
        verifier.verify(&token).map(|_| ()),
        Err(TokenRejection::Expired)
    );
}

/// Forgetting the verified tokens (the provider's keys changed) takes every thread's copy
/// with them, and one cache's copy is never another cache's answer.
#[test]
fn copies_of_identities_go_with_their_cache() {
    let (verifier, signer) = verifier_and_signer(DEFAULT_CAPACITY);
    let token = token(&signer, "alice", 60);
    let (copied, cleared) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..3 {
                verifier.verify_cached(&token).expect("valid");
            }
            copied.wait();
            cleared.wait();
            assert!(
                verifier.verified.get(&token, crate::time::now()).is_none(),
                "a copy outlived the entries it was made from"
            );
        });
        copied.wait();
        verifier.verified.clear();
        cleared.wait();
    });

    let (other, _) = verifier_and_signer(DEFAULT_CAPACITY);
    for _ in 0..3 {
        verifier.verify_cached(&token).expect("valid");
    }
    assert!(other.verified.get(&token, crate::time::now()).is_none());
    assert_eq!(
        other.verify_cached(&token).map(|_| ()),
        Err(TokenRejection::BadSignature)
    );
}

#[test]
fn the_cache_of_verified_tokens_is_bounded() {
    let (verifier, signer) = verifier_and_signer(3);
    for n in 0..10 {
        let token = token(&signer, &format!("user-{n}"), 60);
        verifier.verify_cached(&token).expect("valid");
        assert!(verifier.verified.len() <= 3);
    }
}
