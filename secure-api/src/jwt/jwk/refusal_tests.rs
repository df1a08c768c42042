//! Each unusable key of a JWK Set, skipped for its own reason.

use super::tests::{EC_X, EC_Y, ED25519_X, RSA_N, b64, modulus, one, rsa};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

#[test]
fn each_unusable_key_is_skipped_for_its_reason() {
    use Algorithm::{ES256, ES384, EdDSA, PS256, RS256};
    let p384 = p384::SecretKey::random(&mut rand08::thread_rng()).public_key();
    let point = {
        use p384::elliptic_curve::sec1::ToEncodedPoint as _;
        p384.to_encoded_point(false)
    };
    let (x384, y384) = (b64(point.x().expect("x")), b64(point.y().expect("y")));
    let ec = |crv: &str| json!({"kty": "EC", "crv": crv, "x": EC_X, "y": EC_Y});
    let with = |mut jwk: Value, name: &str, value: Value| {
        jwk[name] = value;
        jwk
    };
    let p256 = ec("P-256");
    let cases: Vec<(&str, Value, &[Algorithm], &str)> = vec![
        (
            "oct",
            json!({"kty": "oct", "k": "c2VjcmV0"}),
            &[RS256],
            "a symmetric (`oct`) key: secrets are never taken from a JWK Set",
        ),
        ("not an object", json!("RSA"), &[RS256], "not a JSON object"),
        (
            "kid a number",
            with(rsa(RSA_N, "AQAB"), "kid", json!(7)),
            &[RS256],
            "`kid` is not a string",
        ),
        (
            "no kty",
            json!({"n": RSA_N, "e": "AQAB"}),
            &[RS256],
            "no `kty`",
        ),
        (
            "unknown kty",
            json!({"kty": "DSA"}),
            &[RS256],
            "an unsupported `kty` `DSA`",
        ),
        (
            "use enc",
            with(p256.clone(), "use", json!("enc")),
            &[ES256],
            "its `use` is `enc`, not `sig`",
        ),
        (
            "key_ops without verify",
            with(p256.clone(), "key_ops", json!(["sign"])),
            &[ES256],
            "its `key_ops` do not include `verify`",
        ),
        (
            "key_ops not a list",
            with(p256.clone(), "key_ops", json!("verify")),
            &[ES256],
            "its `key_ops` do not include `verify`",
        ),
        (
            "RSA with crv",
            with(rsa(RSA_N, "AQAB"), "crv", json!("P-256")),
            &[RS256],
            "an RSA key with a `crv`: kty and crv contradict",
        ),
        (
            "EC without crv",
            json!({"kty": "EC", "x": EC_X, "y": EC_Y}),
            &[ES256],
            "an EC key without `crv`",
        ),
        (
            "P-521",
            ec("P-521"),
            &[ES256],
            "an EC key on `P-521`; only P-256 (ES256) and P-384 (ES384) are supported",
        ),
        (
            "X25519",
            json!({"kty": "OKP", "crv": "X25519", "x": ED25519_X}),
            &[EdDSA],
            "an OKP key on `X25519`; only Ed25519 (EdDSA) signs",
        ),
        (
            "alg of another type",
            with(rsa(RSA_N, "AQAB"), "alg", json!("ES256")),
            &[RS256, ES256],
            "`alg` ES256 contradicts an RSA key",
        ),
        (
            "HS256 on an RSA key",
            with(rsa(RSA_N, "AQAB"), "alg", json!("HS256")),
            &[RS256],
            "`alg` HS256 contradicts an RSA key",
        ),
        (
            "alg none",
            with(p256.clone(), "alg", json!("none")),
            &[ES256],
            "`alg` `none` is not a JWS signature algorithm",
        ),
        (
            "alg not configured",
            with(rsa(RSA_N, "AQAB"), "alg", json!("PS256")),
            &[RS256],
            "`alg` PS256 is not a configured algorithm (RS256)",
        ),
        (
            "ES256 on a P-384 key",
            json!({"kty": "EC", "crv": "P-384", "x": x384, "y": y384,
          "alg": "ES256"}),
            &[ES256, ES384],
            "`alg` ES256 contradicts an EC P-384 key",
        ),
        (
            "P-384 where only ES256 is configured",
            json!({"kty": "EC", "crv": "P-384", "x": x384, "y": y384}),
            &[ES256],
            "no configured algorithm (ES256) fits an EC P-384 key",
        ),
        (
            "no alg, two RSA algorithms",
            rsa(RSA_N, "AQAB"),
            &[RS256, PS256],
            "no `alg`, and several configured algorithms fit an RSA key (RS256, PS256): ambiguous",
        ),
        (
            "1024 bits",
            rsa(&modulus(1024), "AQAB"),
            &[RS256],
            "the RSA modulus has 1024 bits; at least 2048 are required",
        ),
        (
            "2047 bits",
            rsa(&b64(&[&[0x7f][..], &[0xa5; 255][..]].concat()), "AQAB"),
            &[RS256],
            "the RSA modulus has 2047 bits; at least 2048 are required",
        ),
        (
            "8192 bits",
            rsa(&modulus(8192), "AQAB"),
            &[RS256],
            "the RSA modulus has 8192 bits; at most 4096 are supported",
        ),
        (
            "e = 3",
            rsa(RSA_N, "Aw"),
            &[RS256],
            "the RSA public exponent is 3; only 65537 is accepted",
        ),
        (
            "e = 1",
            rsa(RSA_N, "AQ"),
            &[RS256],
            "the RSA public exponent is 1, which makes any \"signature\" forgeable; only 65537 is \
          accepted",
        ),
        (
            "n not base64url",
            rsa("0vx7+/==", "AQAB"),
            &[RS256],
            "`n` is not base64url",
        ),
        (
            "no e",
            json!({"kty": "RSA", "n": RSA_N}),
            &[RS256],
            "no `e`",
        ),
        (
            "off the curve",
            with(p256.clone(), "y", json!(EC_X)),
            &[ES256],
            "the point is not a valid P-256 public key",
        ),
        (
            "short coordinate",
            with(p256.clone(), "x", json!(b64(&[1; 31]))),
            &[ES256],
            "a P-256 coordinate has 31 bytes; it must have 32",
        ),
        (
            "weak Ed25519",
            json!({"kty": "OKP", "crv": "Ed25519",
          "x": b64(&[&[1u8][..], &[0; 31][..]].concat())}),
            &[EdDSA],
            "a weak Ed25519 key (a point of small order)",
        ),
    ];
    for (name, jwk, algorithms, reason) in cases {
        assert_eq!(
            one(jwk, algorithms).err().as_deref(),
            Some(reason),
            "{name}"
        );
    }
}
