//! `PublicKey`: the public half of an asymmetric key as numbers, whatever it was read from (a
//! PEM file, a JWK, a private key), and the policy every such key meets before it is used.
//!
//! # The key policy
//!
//! A key is refused, at start-up for PEM files and per key for a JWK Set, when:
//!
//! - it is an RSA key whose modulus has fewer than 2048 bits (RFC 7518 §3.3, NIST SP 800-57),
//!   or more than 4096 (what the RSA implementation verifies);
//! - it is an RSA key whose public exponent is not 65537. Other odd exponents are legal, and
//!   e = 3 is not broken in itself, but every identity provider and every tool generates
//!   65537, and small exponents have a long history of attacks on sloppy PKCS#1 v1.5
//!   signature checks (Bleichenbacher's 2006 forgery for e = 3, and its descendants in
//!   NSS/CVE-2014-1568 and others): a key with another exponent is far more likely a mistake
//!   or a trap than a real key. e = 1 makes the "signature" equal to the padded hash, which
//!   anyone can compute: no signature at all;
//! - it is an EC key on another curve than its algorithm's (ES256 is defined on P-256, ES384
//!   on P-384, RFC 7518 §3.4), or a point not on the curve;
//! - it is an Ed25519 key for any algorithm but EdDSA (or a weak, small-order one), or any key
//!   whose type is not its algorithm's (an RSA key for ES256, an EC key for RS256…).

use jsonwebtoken::{Algorithm, DecodingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;

/// RSA moduli shorter than this are refused.
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// The RSA implementation verifies no larger modulus (`rsa::RsaPublicKey::MAX_SIZE`).
pub(crate) const MAX_RSA_BITS: usize = 4096;

/// The only RSA public exponent accepted, big-endian.
const RSA_EXPONENT: [u8; 3] = [0x01, 0x00, 0x01];

/// The public half of an asymmetric key.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PublicKey {
    /// Modulus and public exponent, big-endian, without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An affine point, each coordinate as long as the curve's field.
    Ec {
        curve: Curve,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    /// The 32-byte public key of RFC 8032.
    Ed25519 { x: [u8; 32] },
}

/// The curves of ES256 and ES384.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

impl Curve {
    /// The curve's name in JWKs (`crv`, RFC 7518 §6.2.1.1).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
        }
    }

    /// The curve `algorithm` is defined on, if it is an ECDSA algorithm.
    fn of(algorithm: Algorithm) -> Option<Self> {
        match algorithm {
            Algorithm::ES256 => Some(Self::P256),
            Algorithm::ES384 => Some(Self::P384),
            _ => None,
        }
    }
}

impl PublicKey {
    /// An RSA key from its big-endian modulus and exponent (leading zeros are dropped).
    pub(crate) fn rsa(n: &[u8], e: &[u8]) -> Self {
        Self::Rsa {
            n: without_leading_zeros(n).to_vec(),
            e: without_leading_zeros(e).to_vec(),
        }
    }

    /// An EC key from a SEC1-encoded point (compressed or not), which must lie on `curve`.
    pub(crate) fn ec_point(curve: Curve, sec1: &[u8]) -> Result<Self, String> {
        let not_on_curve = || format!("the point is not a valid {} public key", curve.name());
        let point = match curve {
            Curve::P256 => p256::PublicKey::from_sec1_bytes(sec1)
                .map_err(|_| not_on_curve())?
                .to_encoded_point(false)
                .as_bytes()
                .to_vec(),
            Curve::P384 => p384::PublicKey::from_sec1_bytes(sec1)
                .map_err(|_| not_on_curve())?
                .to_encoded_point(false)
                .as_bytes()
                .to_vec(),
        };
        // Uncompressed: 0x04, then x and y of equal length.
        let (x, y) = point[1..].split_at((point.len() - 1) / 2);
        Ok(Self::Ec {
            curve,
            x: x.to_vec(),
            y: y.to_vec(),
        })
    }

    /// An EC key from the coordinates of a JWK, each exactly as long as the curve's field
    /// (RFC 7518 §6.2.1.2).
    pub(crate) fn ec_coordinates(curve: Curve, x: &[u8], y: &[u8]) -> Result<Self, String> {
        let size = match curve {
            Curve::P256 => 32,
            Curve::P384 => 48,
        };
        if x.len() != size || y.len() != size {
            return Err(format!(
                "a {} coordinate has {} bytes; it must have {size}",
                curve.name(),
                if x.len() == size { y.len() } else { x.len() }
            ));
        }
        Self::ec_point(curve, &[&[0x04], x, y].concat())
    }

    /// An Ed25519 key from its 32 bytes, which must encode a point of large order.
    pub(crate) fn ed25519(x: &[u8]) -> Result<Self, String> {
        let x: [u8; 32] = x
            .try_into()
            .map_err(|_| format!("an Ed25519 key has 32 bytes, not {}", x.len()))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
            .map_err(|_| "the bytes are not an Ed25519 public key".to_owned())?;
        if key.is_weak() {
            return Err("a weak Ed25519 key (a point of small order)".to_owned());
        }
        Ok(Self::Ed25519 { x })
    }

    /// The key policy (see the module documentation): whether this key may verify
    /// `algorithm`, and if not, why.
    pub(crate) fn check(&self, algorithm: Algorithm) -> Result<(), String> {
        use Algorithm::{PS256, PS384, PS512, RS256, RS384, RS512};
        match (self, algorithm) {
            (Self::Rsa { n, e }, RS256 | RS384 | RS512 | PS256 | PS384 | PS512) => {
                let bits = bit_length(n);
                if bits < MIN_RSA_BITS {
                    return Err(format!(
                        "the RSA modulus has {bits} bits; at least {MIN_RSA_BITS} are required"
                    ));
                }
                if bits > MAX_RSA_BITS {
                    return Err(format!(
                        "the RSA modulus has {bits} bits; at most {MAX_RSA_BITS} are supported"
                    ));
                }
                match e.as_slice() {
                    exponent if exponent == RSA_EXPONENT => Ok(()),
                    [1] => Err(
                        "the RSA public exponent is 1, which makes any \"signature\" \
                                forgeable; only 65537 is accepted"
                            .to_owned(),
                    ),
                    _ => Err(format!(
                        "the RSA public exponent is {}; only 65537 is accepted",
                        number(e)
                    )),
                }
            }
            (Self::Ec { curve, .. }, Algorithm::ES256 | Algorithm::ES384) => {
                match Curve::of(algorithm) {
                    Some(needed) if needed == *curve => Ok(()),
                    needed => Err(format!(
                        "a {} key cannot verify {algorithm:?}, which is defined on {}",
                        curve.name(),
                        needed.map_or("another curve", Curve::name)
                    )),
                }
            }
            (Self::Ed25519 { .. }, Algorithm::EdDSA) => Ok(()),
            (key, algorithm) => Err(format!(
                "{} key cannot verify {algorithm:?}",
                key.described()
            )),
        }
    }

    /// What jsonwebtoken verifies with.
    pub(crate) fn decoding_key(&self) -> DecodingKey {
        match self {
            Self::Rsa { n, e } => DecodingKey::from_rsa_raw_components(n, e),
            Self::Ec { x, y, .. } => DecodingKey::from_ec_der(&[&[0x04], &x[..], &y[..]].concat()),
            Self::Ed25519 { x } => DecodingKey::from_ed_der(x),
        }
    }

    /// The key as a public JWK (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2): its required members
    /// only, the ones its thumbprint covers.
    pub(crate) fn jwk(&self) -> serde_json::Map<String, serde_json::Value> {
        self.members()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), serde_json::Value::String(value)))
            .collect()
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url): a name for the key that anyone holding
    /// its JWK can compute, and that never changes while the key does not.
    #[cfg(any(feature = "pem", test))]
    pub(crate) fn thumbprint(&self) -> String {
        use sha2::Digest as _;
        // The canonical form of RFC 7638 §3.2: the required members in lexicographic order,
        // no white space; every value is a name or base64url, which JSON does not escape.
        let members: Vec<String> = self
            .members()
            .iter()
            .map(|(name, value)| format!("\"{name}\":\"{value}\""))
            .collect();
        let canonical = format!("{{{}}}", members.join(","));
        b64(&sha2::Sha256::digest(canonical.as_bytes()))
    }

    /// The required members of the key's JWK, in lexicographic order.
    fn members(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Rsa { n, e } => vec![("e", b64(e)), ("kty", "RSA".into()), ("n", b64(n))],
            Self::Ec { curve, x, y } => vec![
                ("crv", curve.name().into()),
                ("kty", "EC".into()),
                ("x", b64(x)),
                ("y", b64(y)),
            ],
            Self::Ed25519 { x } => vec![
                ("crv", "Ed25519".into()),
                ("kty", "OKP".into()),
                ("x", b64(x)),
            ],
        }
    }

    fn described(&self) -> String {
        match self {
            Self::Rsa { .. } => "an RSA".to_owned(),
            Self::Ec { curve, .. } => format!("an EC ({})", curve.name()),
            Self::Ed25519 { .. } => "an Ed25519".to_owned(),
        }
    }
}

fn without_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|byte| *byte != 0)
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// The number of significant bits of a big-endian number without leading zeros.
fn bit_length(number: &[u8]) -> usize {
    match number.first() {
        None => 0,
        Some(first) => number.len() * 8 - first.leading_zeros() as usize,
    }
}

/// A public exponent for a message: its value when it fits in 64 bits.
fn number(bytes: &[u8]) -> String {
    if bytes.len() > 8 {
        return format!("a {}-bit number", bit_length(bytes));
    }
    bytes
        .iter()
        .fold(0u64, |value, byte| value << 8 | u64::from(*byte))
        .to_string()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(b64url: &str) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64url)
            .expect("base64url")
    }

    #[test]
    fn thumbprints_are_those_of_rfc7638_and_rfc8037() {
        // RFC 7638 §3.1: the RSA key of RFC 7517 Appendix A.1.
        let n = concat!(
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6",
            "tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v",
            "-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08q",
            "NLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awap",
            "JzKnqDKgw",
        );
        let rsa = PublicKey::rsa(&decoded(n), &decoded("AQAB"));
        assert_eq!(
            rsa.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert!(rsa.check(Algorithm::RS256).is_ok());
        // RFC 8037 §A.3: the Ed25519 key of §A.2.
        let ed = PublicKey::ed25519(&decoded("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
            .expect("Ed25519");
        assert_eq!(
            ed.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        // And jsonwebtoken agrees on an EC key (RFC 7517 Appendix A.1's point).
        let ec = PublicKey::ec_coordinates(
            Curve::P256,
            &decoded("MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"),
            &decoded("4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"),
        )
        .expect("on the curve");
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(ec.jwk().into()).expect("a JWK");
        crate::jwt::install_crypto_provider();
        assert_eq!(
            jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
                .ok(),
            Some(ec.thumbprint())
        );
    }

    #[test]
    fn compressed_and_uncompressed_points_are_one_key() {
        let secret = p256::SecretKey::random(&mut rand08::thread_rng());
        let point = secret.public_key();
        let compressed = PublicKey::ec_point(Curve::P256, point.to_encoded_point(true).as_bytes());
        let uncompressed =
            PublicKey::ec_point(Curve::P256, point.to_encoded_point(false).as_bytes());
        assert!(compressed.is_ok() && compressed == uncompressed);
        assert_eq!(
            PublicKey::ec_point(Curve::P384, point.to_encoded_point(false).as_bytes()).err(),
            Some("the point is not a valid P-384 public key".to_owned())
        );
    }
}
