//! JWK Sets read as the RFCs publish them, and what is not a JWK Set.

use super::*;
use serde_json::json;

/// RFC 7517 Appendix A.1, "Example Public Keys" (the RFC's line breaks kept).
pub(super) const RSA_N: &str = concat!(
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx",
    "4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs",
    "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2",
    "QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbI",
    "SD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqb",
    "w0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
);
pub(super) const EC_X: &str = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
pub(super) const EC_Y: &str = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";

fn rfc7517_a1() -> Value {
    json!({"keys": [
        {"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "use": "enc", "kid": "1"},
        {"kty": "RSA", "n": RSA_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"},
    ]})
}

/// RFC 7517 Appendix A.2, "Example Private Keys": A.1 with the private members.
const EC_D: &str = "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE";
const RSA_D: &str = concat!(
    "X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJoVH-HLLKD9",
    "M7dx5oo7GURknchnrRweUkC7hT5fJLM0WbFAKNLWY2vv7B6NqXSzUvxT0_YSfqij",
    "wp3RTzlBaCxWp4doFk5N2o8Gy_nHNKroADIkJ46pRUohsXywbReAdYaMwFs9tv8d",
    "_cPVY3i07a3t8MN6TNwm0dSawm9v47UiCl3Sk5ZiG7xojPLu4sbg1U2jx4IBTNBz",
    "nbJSzFHK66jT8bgkuqsk0GjskDJk19Z4qwjwbsnn4j2WBii3RL-Us2lGVkY8fkFz",
    "me1z0HbIkfz0Y6mqnOYtqc0X4jfcKoAC8Q",
);
const RSA_P: &str = concat!(
    "83i-7IvMGXoMXCskv73TKr8637FiO7Z27zv8oj6pbWUQyLPQBQxtPV",
    "nwD20R-60eTDmD2ujnMt5PoqMrm8RfmNhVWDtjjMmCMjOpSXicFHj7XOuVIYQyqV",
    "WlWEh6dN36GVZYk93N8Bc9vY41xy8B9RzzOGVQzXvNEvn7O0nVbfs",
);
const RSA_Q: &str = concat!(
    "3dfOR9cuYq-0S-mkFLzgItgMEfFzB2q3hWehMuG0oCuqnb3vobLyum",
    "qjVZQO1dIrdwgTnCdpYzBcOfW5r370AFXjiWft_NGEiovonizhKpo9VVS78TzFgx",
    "kIdrecRezsZ-1kYd_s1qDbxtkDEgfAITAG9LUnADun4vIcb6yelxk",
);
const RSA_DP: &str = concat!(
    "G4sPXkc6Ya9y8oJW9_ILj4xuppu0lzi_H7VTkS8xj5SdX3coE0oim",
    "YwxIi2emTAue0UOa5dpgFGyBJ4c8tQ2VF402XRugKDTP8akYhFo5tAA77Qe_Nmtu",
    "YZc3C3m3I24G2GvR5sSDxUyAN2zq8Lfn9EUms6rY3Ob8YeiKkTiBj0",
);
const RSA_DQ: &str = concat!(
    "s9lAH9fggBsoFR8Oac2R_E2gw282rT2kGOAhvIllETE1efrA6huUUvMfBcMpn8",
    "lqeW6vzznYY5SSQF7pMdC_agI3nG8Ibp1BUb0JUiraRNqUfLhcQb_d9GF4Dh7e74W",
    "bRsobRonujTYN1xCaP6TO61jvWrX-L18txXw494Q_cgk",
);
const RSA_QI: &str = concat!(
    "GyM_p6JrXySiz1toFgKbWV-JdI3jQ4ypu9rbMWx3rQJBfmt0FoYzgUIZEVFEcOqwe",
    "mRN81zoDAaa-Bk0KWNGDjJHZDdDmFhW3AN7lI-puxk_mHZGJ11rxyR8O55XLSe3SP",
    "mRfKwZI6yU24ZxvQKFYItdldUKGzO6Ia6zTKhAVRU",
);

fn rfc7517_a2() -> Value {
    json!({"keys": [
        {"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "d": EC_D, "use": "enc", "kid": "1"},
        {"kty": "RSA", "n": RSA_N, "e": "AQAB", "d": RSA_D, "p": RSA_P, "q": RSA_Q,
         "dp": RSA_DP, "dq": RSA_DQ, "qi": RSA_QI, "alg": "RS256", "kid": "2011-04-29"},
    ]})
}

/// RFC 8037 Appendix A.2, "Ed25519 Public Key".
pub(super) const ED25519_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

fn read(document: &Value, algorithms: &[Algorithm]) -> KeySetReading {
    read_key_set(document.to_string().as_bytes(), algorithms).expect("a JWK Set")
}

/// The one key of a set of one, or why it was skipped.
pub(super) fn one(jwk: Value, algorithms: &[Algorithm]) -> Result<Key, String> {
    let mut reading = read(&json!({ "keys": [jwk] }), algorithms);
    match (reading.keys.pop(), reading.skipped.pop()) {
        (Some(key), None) => Ok(key),
        (None, Some(skipped)) => Err(skipped.reason),
        _ => panic!("one key, either read or skipped"),
    }
}

pub(super) fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A modulus of `bits` bits (odd, top bit set): the policy reads only its size.
pub(super) fn modulus(bits: usize) -> String {
    let mut bytes = vec![0xa5u8; bits / 8];
    bytes[0] = 0xc1;
    b64(&bytes)
}

pub(super) fn rsa(n: &str, e: &str) -> Value {
    json!({"kty": "RSA", "n": n, "e": e, "kid": "k"})
}

#[test]
fn rfc7517_a1_the_rsa_key_is_read_and_the_encryption_key_skipped() {
    let reading = read(&rfc7517_a1(), &[Algorithm::RS256, Algorithm::ES256]);
    assert_eq!(reading.keys.len(), 1);
    let key = &reading.keys[0];
    assert_eq!(key.kid(), Some("2011-04-29"));
    assert_eq!(key.algorithm(), Algorithm::RS256);
    assert_eq!(
        key.public_jwk().expect("public"),
        json!({"kty": "RSA", "n": RSA_N, "e": "AQAB", "kid": "2011-04-29", "alg": "RS256",
               "use": "sig"})
    );
    assert_eq!(
        reading.skipped,
        [SkippedKey {
            kid: Some("1".into()),
            reason: "its `use` is `enc`, not `sig`".into()
        }]
    );
    // The same P-256 point as a signing key: on the curve, taken for ES256 (its only fit).
    let signing = json!({"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "kid": "1"});
    let key = one(signing, &[Algorithm::RS256, Algorithm::ES256]).expect("a P-256 key");
    assert_eq!(key.algorithm(), Algorithm::ES256);
    assert_eq!(key.kid(), Some("1"));
}

#[test]
fn rfc7517_a2_private_keys_are_skipped() {
    let reading = read(&rfc7517_a2(), &[Algorithm::RS256, Algorithm::ES256]);
    assert!(reading.keys.is_empty());
    let private = "it holds private key material (`d`): a JWK Set publishes public keys only";
    assert_eq!(
        reading.skipped,
        [
            SkippedKey {
                kid: Some("1".into()),
                reason: private.into()
            },
            SkippedKey {
                kid: Some("2011-04-29".into()),
                reason: private.into()
            },
        ]
    );
    // Every private member alone is enough.
    for member in ["p", "q", "dp", "dq", "qi", "oth"] {
        let mut jwk = rsa(RSA_N, "AQAB");
        jwk[member] = json!(RSA_P);
        assert_eq!(
            one(jwk, &[Algorithm::RS256]).err(),
            Some(format!(
                "it holds private key material (`{member}`): a JWK Set publishes public keys \
                 only"
            ))
        );
    }
}

/// The literals above are the RFC's: the private key they form is consistent.
#[test]
fn rfc7517_a2_the_copied_rsa_key_is_whole() {
    use rsa::BigUint;
    use rsa::traits::PublicKeyParts as _;
    let number = |b64url: &str| {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64url)
            .expect("base64url");
        BigUint::from_bytes_be(&bytes)
    };
    let (n, d, p, q) = (number(RSA_N), number(RSA_D), number(RSA_P), number(RSA_Q));
    let one = BigUint::from(1u8);
    let key = rsa::RsaPrivateKey::from_components(
        n.clone(),
        number("AQAB"),
        d.clone(),
        vec![p.clone(), q.clone()],
    )
    .expect("components");
    key.validate().expect("p·q = n and e·d = 1");
    assert_eq!(key.n().bits(), 2048);
    assert_eq!(number(RSA_DP), &d % (&p - &one));
    assert_eq!(number(RSA_DQ), &d % (&q - &one));
    assert_eq!((number(RSA_QI) * &q) % &p, one);
}

#[test]
fn rfc8037_a2_the_ed25519_key_verifies_the_rfc8037_a4_signature() {
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": ED25519_X});
    let key = one(jwk.clone(), &[Algorithm::ES256, Algorithm::EdDSA]).expect("Ed25519");
    assert_eq!(key.algorithm(), Algorithm::EdDSA);
    assert_eq!(key.kid(), None, "a lone key keeps its (absent) kid");
    super::super::install_crypto_provider();
    // RFC 8037 Appendix A.4: the JWS `{"alg":"EdDSA"}` over "Example of Ed25519 signing".
    let verified = jsonwebtoken::crypto::verify(
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
        b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc",
        key.decoding(),
        Algorithm::EdDSA,
    );
    assert_eq!(verified.ok(), Some(true));
    assert_eq!(
        one(jwk, &[Algorithm::ES256]).err().as_deref(),
        Some("no configured algorithm (ES256) fits an OKP Ed25519 key")
    );
}

#[test]
fn certificates_and_urls_in_a_key_are_ignored() {
    let mut jwk = rsa(RSA_N, "AQAB");
    jwk["x5u"] = json!("http://127.0.0.1:9/attacker.pem");
    jwk["x5c"] = json!(["bm90IGEgY2VydGlmaWNhdGU"]);
    let key = one(jwk, &[Algorithm::RS256]).expect("read from n and e");
    let published = key.public_jwk().expect("public");
    assert!(published.get("x5u").is_none() && published.get("x5c").is_none());
}

#[test]
fn kids_must_tell_keys_apart() {
    let rsa_key = |kid: Option<&str>| {
        let mut jwk = json!({"kty": "RSA", "n": RSA_N, "e": "AQAB"});
        if let Some(kid) = kid {
            jwk["kid"] = json!(kid);
        }
        jwk
    };
    let p256 = |kid: &str| json!({"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "kid": kid});
    let both = [Algorithm::RS256, Algorithm::ES256];
    let reading = read(
        &json!({"keys": [rsa_key(Some("a")), p256("a"), p256("b")]}),
        &both,
    );
    assert_eq!(reading.keys.len(), 1);
    assert_eq!(reading.keys[0].kid(), Some("b"));
    let shared = "2 usable keys share this kid: a token naming it would be ambiguous";
    assert_eq!(
        reading.skipped,
        [
            SkippedKey {
                kid: Some("a".into()),
                reason: shared.into()
            },
            SkippedKey {
                kid: Some("a".into()),
                reason: shared.into()
            },
        ]
    );
    // Only usable keys count: an encryption key may share the signing key's kid.
    let mut encryption = p256("a");
    encryption["use"] = json!("enc");
    let reading = read(&json!({"keys": [rsa_key(Some("a")), encryption]}), &both);
    assert_eq!(reading.keys.len(), 1);
    assert_eq!(reading.keys[0].algorithm(), Algorithm::RS256);
    // A key without kid is fine alone, and unselectable among several.
    assert!(one(rsa_key(None), &both).is_ok());
    let reading = read(&json!({"keys": [rsa_key(None), p256("b")]}), &both);
    assert_eq!(reading.keys.len(), 1);
    assert_eq!(
        reading.skipped,
        [SkippedKey {
            kid: None,
            reason: "no kid, among several usable keys: a token could not select it".into()
        }]
    );
}

#[test]
fn documents_that_are_not_a_key_set_are_refused() {
    let refused = |document: &[u8]| read_key_set(document, &[Algorithm::RS256]).err();
    assert!(refused(b"<html>").is_some_and(|reason| reason.starts_with("not JSON (")));
    let no_keys = Some("not a JWK Set: no `keys` array".to_owned());
    assert_eq!(refused(br#"{"keys": {}}"#), no_keys);
    assert_eq!(refused(br#"[{"kty": "RSA"}]"#), no_keys);
    let large = format!(
        r#"{{"keys": [], "padding": "{}"}}"#,
        "x".repeat(MAX_DOCUMENT_BYTES)
    );
    assert_eq!(
        refused(large.as_bytes()),
        Some(format!(
            "the document has {} bytes; a JWK Set is read only up to 262144",
            large.len()
        ))
    );
    let many = json!({ "keys": vec![json!({"kty": "RSA"}); 101] }).to_string();
    assert_eq!(
        refused(many.as_bytes()),
        Some("the set has 101 keys; at most 100 are read".to_owned())
    );
    let empty = read(&json!({"keys": []}), &[Algorithm::RS256]);
    assert!(empty.keys.is_empty() && empty.skipped.is_empty());
}

#[test]
fn reasons_never_quote_key_material() {
    let reading = read(&rfc7517_a2(), &[Algorithm::RS256]);
    for skipped in &reading.skipped {
        let shown = skipped.to_string();
        for secret in [EC_D, RSA_D, RSA_P, RSA_Q] {
            assert!(!shown.contains(&secret[..8]), "{shown}");
        }
    }
    let long_crv = "Q".repeat(100);
    let reason = one(
        json!({"kty": "EC", "crv": long_crv, "x": EC_X, "y": EC_Y}),
        &[Algorithm::ES256],
    );
    assert_eq!(
        reason.err().as_deref(),
        Some("an EC key on `(unprintable)`; only P-256 (ES256) and P-384 (ES384) are supported")
    );
}
