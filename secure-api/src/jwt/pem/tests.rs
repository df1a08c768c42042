//! The key policy at start-up: `Key::public_pem` and `Key::private_pem` refuse each bad key
//! with a reason that names the problem and never quotes the file.

use super::super::Key;
use crate::error::ConfigError;
use jsonwebtoken::Algorithm;
use p256::pkcs8::EncodePublicKey as _;
use rsa::BigUint;
use rsa::pkcs1::{EncodeRsaPrivateKey as _, EncodeRsaPublicKey as _};

fn pem(tag: &str, der: &[u8]) -> String {
    pem::encode(&pem::Pem::new(tag, der.to_vec()))
}

/// A public key of any modulus and exponent, as `openssl` would write it: the policy reads
/// only the numbers.
fn rsa_public(bits: usize, exponent: u32) -> String {
    let mut n = vec![0xa5u8; bits / 8];
    n[0] = 0xc1;
    let key = rsa::RsaPublicKey::new_unchecked(BigUint::from_bytes_be(&n), exponent.into());
    pem(
        "PUBLIC KEY",
        key.to_public_key_der().expect("der").as_bytes(),
    )
}

fn rsa_private(bits: usize) -> rsa::RsaPrivateKey {
    rsa::RsaPrivateKey::new(&mut rand08::thread_rng(), bits).expect("rsa key")
}

fn p256_private() -> p256::SecretKey {
    p256::SecretKey::random(&mut rand08::thread_rng())
}

fn p384_private() -> p384::SecretKey {
    p384::SecretKey::random(&mut rand08::thread_rng())
}

fn ed25519_private() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&rand::random())
}

fn public_of<K: p256::pkcs8::EncodePublicKey>(key: &K) -> String {
    pem(
        "PUBLIC KEY",
        key.to_public_key_der().expect("der").as_bytes(),
    )
}

fn private_of<K: p256::pkcs8::EncodePrivateKey>(key: &K) -> String {
    pem("PRIVATE KEY", key.to_pkcs8_der().expect("der").as_bytes())
}

fn refusal(result: Result<Key, ConfigError>) -> String {
    result.expect_err("refused").to_string()
}

#[test]
fn public_keys_that_fail_the_policy_are_refused_at_start_up() {
    use Algorithm::{ES256, ES384, EdDSA, RS256};
    let p256 = public_of(&p256_private().public_key());
    let p384 = public_of(&p384_private().public_key());
    let ed25519 = public_of(&ed25519_private().verifying_key());
    let cases: [(&str, Algorithm, String, &str); 12] = [
        (
            "1024 bits",
            RS256,
            rsa_public(1024, 65537),
            "RS256 public key is invalid: the RSA modulus has 1024 bits; at least 2048 are required",
        ),
        (
            "8192 bits",
            RS256,
            rsa_public(8192, 65537),
            "RS256 public key is invalid: the RSA modulus has 8192 bits; at most 4096 are supported",
        ),
        (
            "e = 3",
            RS256,
            rsa_public(2048, 3),
            "RS256 public key is invalid: the RSA public exponent is 3; only 65537 is accepted",
        ),
        (
            "e = 1",
            RS256,
            rsa_public(2048, 1),
            "RS256 public key is invalid: the RSA public exponent is 1, which makes any \
          \"signature\" forgeable; only 65537 is accepted",
        ),
        (
            "P-384 for ES256",
            ES256,
            p384.clone(),
            "ES256 public key is invalid: a P-384 key cannot verify ES256, which is defined on P-256",
        ),
        (
            "P-256 for ES384",
            ES384,
            p256.clone(),
            "ES384 public key is invalid: a P-256 key cannot verify ES384, which is defined on P-384",
        ),
        (
            "Ed25519 for ES256",
            ES256,
            ed25519.clone(),
            "ES256 public key is invalid: an Ed25519 key cannot verify ES256",
        ),
        (
            "P-256 for EdDSA",
            EdDSA,
            p256.clone(),
            "EdDSA public key is invalid: an EC (P-256) key cannot verify EdDSA",
        ),
        (
            "RSA for EdDSA",
            EdDSA,
            rsa_public(2048, 65537),
            "EdDSA public key is invalid: an RSA key cannot verify EdDSA",
        ),
        (
            "Ed25519 for RS256",
            RS256,
            ed25519,
            "RS256 public key is invalid: an Ed25519 key cannot verify RS256",
        ),
        (
            "a certificate",
            ES256,
            pem("CERTIFICATE", b"not parsed"),
            "ES256 public key is invalid: this is a certificate, whose validity and chain would go \
          unchecked: give its public key (`openssl x509 -pubkey -noout`)",
        ),
        (
            "not PEM",
            ES256,
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5".to_owned(),
            "ES256 public key is invalid: not a PEM key (expected -----BEGIN PUBLIC KEY-----)",
        ),
    ];
    for (name, algorithm, pem, expected) in cases {
        assert_eq!(
            refusal(Key::public_pem(algorithm, pem.as_bytes())),
            expected,
            "{name}"
        );
    }
    assert_eq!(
        refusal(Key::public_pem(Algorithm::HS256, p256.as_bytes())),
        "HS256 public key is invalid: an HMAC algorithm takes a secret: use Key::hmac"
    );
    assert!(Key::public_pem(ES256, p256.as_bytes()).is_ok());
    assert!(Key::public_pem(ES384, p384.as_bytes()).is_ok());
}

#[test]
fn a_private_key_given_as_public_is_refused_unquoted() {
    let private = private_of(&p256_private());
    let error = refusal(Key::public_pem(Algorithm::ES256, private.as_bytes()));
    assert!(
        error.starts_with(
            "ES256 public key is invalid: this is a private key: a service that \
                           only verifies needs the public key"
        ),
        "{error}"
    );
    let body: String = private
        .lines()
        .nth(1)
        .expect("base64 line")
        .chars()
        .take(24)
        .collect();
    assert!(!error.contains(&body));
}

#[test]
fn rsa_public_keys_are_read_in_both_encodings() {
    let key = rsa_private(2048).to_public_key();
    let spki = pem(
        "PUBLIC KEY",
        key.to_public_key_der().expect("der").as_bytes(),
    );
    let pkcs1 = pem(
        "RSA PUBLIC KEY",
        key.to_pkcs1_der().expect("der").as_bytes(),
    );
    for pem in [spki, pkcs1] {
        let key = Key::public_pem(Algorithm::PS256, pem.as_bytes()).expect("2048 bits, 65537");
        assert!(key.signing_key().is_none(), "a public key only verifies");
        assert_eq!(key.kid(), None);
    }
}

#[test]
fn private_keys_sign_are_named_and_never_shown() {
    let p256 = p256_private();
    let sec1 = pem("EC PRIVATE KEY", &p256.to_sec1_der().expect("der"));
    // What `openssl ecparam -genkey` writes: the curve first, then the SEC1 key.
    let with_parameters = format!("{}{sec1}", pem("EC PARAMETERS", &[0x06, 0x00]));
    let rsa = rsa_private(2048);
    let cases = [
        (Algorithm::ES256, private_of(&p256)),
        (Algorithm::ES256, with_parameters),
        (Algorithm::ES384, private_of(&p384_private())),
        (Algorithm::EdDSA, private_of(&ed25519_private())),
        (Algorithm::RS256, private_of(&rsa)),
        (
            Algorithm::PS384,
            pem(
                "RSA PRIVATE KEY",
                rsa.to_pkcs1_der().expect("der").as_bytes(),
            ),
        ),
    ];
    for (algorithm, private) in cases {
        let key = Key::private_pem(algorithm, private.as_bytes()).expect("a good key");
        let public = key.public_jwk().expect("asymmetric");
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(public.clone()).expect("JWK");
        let thumbprint = jwk
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .ok();
        assert_eq!(
            key.kid().map(str::to_owned),
            thumbprint,
            "named by its thumbprint"
        );
        assert_eq!(public["kid"], key.kid().expect("kid"));
        assert_eq!(public["alg"], format!("{algorithm:?}"));
        assert!(public.get("d").is_none());
        let signer = key.signing_key().expect("a private key signs");
        let now = crate::time::now();
        let token = signer
            .sign(&serde_json::json!({"sub": "alice", "exp": now + 60}))
            .expect("signed");
        let mut validation = jsonwebtoken::Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp"]);
        jsonwebtoken::decode::<serde_json::Value>(&token, key.decoding(), &validation)
            .expect("its public half verifies");
        let shown = format!("{key:?}");
        assert!(
            shown.starts_with("Key { kid: Some(") && shown.contains("signs: true"),
            "{shown}"
        );
        let body: String = private
            .lines()
            .nth(1)
            .expect("line")
            .chars()
            .take(24)
            .collect();
        assert!(!shown.contains(&body));
        assert_eq!(key.with_kid("2026-11").kid(), Some("2026-11"));
    }
}

#[test]
fn private_keys_that_fail_the_policy_are_refused() {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), private_of(&p384_private())).expect("write");
    let in_file = refusal(Key::private_pem_file(Algorithm::ES256, file.path()));
    assert_eq!(
        in_file,
        format!(
            "ES256 private key in {} is invalid: a P-384 key cannot verify ES256, which is \
             defined on P-256",
            file.path().display()
        )
    );
    let cases = [
        (
            Algorithm::RS256,
            private_of(&rsa_private(1024)),
            "RS256 private key is invalid: the RSA modulus has 1024 bits; at least 2048 are required",
        ),
        (
            Algorithm::EdDSA,
            private_of(&p256_private()),
            "EdDSA private key is invalid: an EC (P-256) key cannot verify EdDSA",
        ),
        (
            Algorithm::ES256,
            public_of(&p256_private().public_key()),
            "ES256 private key is invalid: this is a public key: signing needs the private key; a \
          service that only verifies uses Key::public_pem (SECURE_API_JWT_PUBLIC_KEY_FILE)",
        ),
        (
            Algorithm::ES256,
            pem("ENCRYPTED PRIVATE KEY", b"opaque"),
            "ES256 private key is invalid: the private key is encrypted: store it decrypted \
          (`openssl pkey -in key.pem -out plain.pem`) in a file only the service can read",
        ),
        (
            Algorithm::ES256,
            pem("PRIVATE KEY", b"not DER"),
            "ES256 private key is invalid: not a DER PKCS#8 private key",
        ),
        (
            Algorithm::HS512,
            private_of(&p256_private()),
            "HS512 private key is invalid: an HMAC algorithm takes a secret: use Key::hmac",
        ),
    ];
    for (algorithm, private, expected) in cases {
        assert_eq!(
            refusal(Key::private_pem(algorithm, private.as_bytes())),
            expected
        );
    }
}
