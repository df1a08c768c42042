//! Keys read from PEM: a public key (SubjectPublicKeyInfo, or PKCS#1 for RSA) into a
//! [`PublicKey`], and a private key (PKCS#8, PKCS#1 for RSA, SEC1 for EC) into what
//! jsonwebtoken signs with and its public half. Parsed here rather than by jsonwebtoken, which
//! reads neither the RSA key size nor the EC curve, so that the key policy can see them.
//!
//! Reasons never quote the file: a PEM file that is not what was expected may be a secret.

use super::public_key::{Curve, PublicKey};
use jsonwebtoken::EncodingKey;
use rsa::pkcs8::der::Decode as _;
use rsa::pkcs8::spki::SubjectPublicKeyInfoRef;
use rsa::pkcs8::{ObjectIdentifier, PrivateKeyInfo};

/// rsaEncryption (RFC 8017 Appendix C).
const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-ecPublicKey (RFC 5480 §2.1.1).
const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// id-Ed25519 (RFC 8410 §3).
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// secp256r1 and secp384r1 (RFC 5480 §2.1.1.1).
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// A public key from PEM: `PUBLIC KEY` (SubjectPublicKeyInfo, any supported type) or
/// `RSA PUBLIC KEY` (PKCS#1).
pub(super) fn public_key(pem: &[u8]) -> Result<PublicKey, String> {
    let block = first_block(pem, "-----BEGIN PUBLIC KEY-----")?;
    match block.tag() {
        "PUBLIC KEY" => subject_public_key_info(block.contents()),
        "RSA PUBLIC KEY" => rsa_public_key(block.contents()),
        "PRIVATE KEY"
        | "RSA PRIVATE KEY"
        | "EC PRIVATE KEY"
        | "ENCRYPTED PRIVATE KEY"
        | "OPENSSH PRIVATE KEY" => Err("this is a private key: a service that only verifies \
             needs the public key (`openssl pkey -pubout`), and one that signs loads the \
             private key with Key::private_pem (SECURE_API_JWT_PRIVATE_KEY_FILE)"
            .to_owned()),
        "CERTIFICATE" => Err("this is a certificate, whose validity and chain would go \
             unchecked: give its public key (`openssl x509 -pubkey -noout`)"
            .to_owned()),
        _ => Err("the PEM block is not a public key (expected BEGIN PUBLIC KEY)".to_owned()),
    }
}

/// A private key from PEM, as jsonwebtoken's signer takes it, and its public half:
/// `PRIVATE KEY` (PKCS#8: RSA, P-256, P-384, Ed25519), `RSA PRIVATE KEY` (PKCS#1) or
/// `EC PRIVATE KEY` (SEC1, what `openssl ecparam -genkey` writes).
pub(super) fn private_key(pem: &[u8]) -> Result<(EncodingKey, PublicKey), String> {
    let block = first_block(pem, "-----BEGIN PRIVATE KEY-----")?;
    let der = block.contents();
    match block.tag() {
        "PRIVATE KEY" => pkcs8_private_key(der),
        "RSA PRIVATE KEY" => rsa_private_key(der),
        "EC PRIVATE KEY" => sec1_private_key(der),
        "ENCRYPTED PRIVATE KEY" => Err("the private key is encrypted: store it decrypted \
             (`openssl pkey -in key.pem -out plain.pem`) in a file only the service can read"
            .to_owned()),
        "OPENSSH PRIVATE KEY" => {
            Err("an OpenSSH key: convert it to PKCS#8 (`ssh-keygen -p -m PKCS8 -f key`)".to_owned())
        }
        "PUBLIC KEY" | "RSA PUBLIC KEY" => Err("this is a public key: signing needs the \
             private key; a service that only verifies uses Key::public_pem \
             (SECURE_API_JWT_PUBLIC_KEY_FILE)"
            .to_owned()),
        _ => Err("the PEM block is not a private key (expected BEGIN PRIVATE KEY)".to_owned()),
    }
}

/// The first PEM block, past the `EC PARAMETERS` block that `openssl ecparam -genkey` writes
/// before the key.
fn first_block(pem: &[u8], expected: &str) -> Result<pem::Pem, String> {
    pem::parse_many(pem)
        .ok()
        .and_then(|blocks| {
            blocks
                .into_iter()
                .find(|block| block.tag() != "EC PARAMETERS")
        })
        .ok_or_else(|| format!("not a PEM key (expected {expected})"))
}

fn subject_public_key_info(der: &[u8]) -> Result<PublicKey, String> {
    let info = SubjectPublicKeyInfoRef::from_der(der)
        .map_err(|_| "not a DER SubjectPublicKeyInfo".to_owned())?;
    let key = info
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| "the public key is not a whole number of bytes".to_owned())?;
    match info.algorithm.oid {
        RSA => rsa_public_key(key),
        EC => PublicKey::ec_point(curve(info.algorithm.parameters_oid().ok())?, key),
        ED25519 => PublicKey::ed25519(key),
        other => Err(unsupported(other)),
    }
}

fn rsa_public_key(der: &[u8]) -> Result<PublicKey, String> {
    let key = rsa::pkcs1::RsaPublicKey::from_der(der)
        .map_err(|_| "not a DER PKCS#1 RSA public key".to_owned())?;
    Ok(PublicKey::rsa(
        key.modulus.as_bytes(),
        key.public_exponent.as_bytes(),
    ))
}

fn pkcs8_private_key(der: &[u8]) -> Result<(EncodingKey, PublicKey), String> {
    let info =
        PrivateKeyInfo::try_from(der).map_err(|_| "not a DER PKCS#8 private key".to_owned())?;
    match info.algorithm.oid {
        RSA => rsa_private_key(info.private_key),
        EC => {
            use p256::pkcs8::DecodePrivateKey as _;
            let unreadable = |_| "not a PKCS#8 EC private key".to_owned();
            match curve(info.algorithm.parameters_oid().ok())? {
                Curve::P256 => p256_key(
                    &p256::SecretKey::from_pkcs8_der(der).map_err(unreadable)?,
                    der,
                ),
                Curve::P384 => p384_key(
                    &p384::SecretKey::from_pkcs8_der(der).map_err(unreadable)?,
                    der,
                ),
            }
        }
        ED25519 => {
            use ed25519_dalek::pkcs8::DecodePrivateKey as _;
            let key = ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map_err(|_| "not a PKCS#8 Ed25519 private key".to_owned())?;
            Ok((
                EncodingKey::from_ed_der(der),
                PublicKey::ed25519(key.verifying_key().as_bytes())?,
            ))
        }
        other => Err(unsupported(other)),
    }
}

fn rsa_private_key(pkcs1: &[u8]) -> Result<(EncodingKey, PublicKey), String> {
    let key = rsa::pkcs1::RsaPrivateKey::from_der(pkcs1)
        .map_err(|_| "not a DER PKCS#1 RSA private key".to_owned())?;
    Ok((
        EncodingKey::from_rsa_der(pkcs1),
        PublicKey::rsa(key.modulus.as_bytes(), key.public_exponent.as_bytes()),
    ))
}

/// A SEC1 key names its curve inside (or not at all): it is the curve it decodes on.
fn sec1_private_key(der: &[u8]) -> Result<(EncodingKey, PublicKey), String> {
    use p256::pkcs8::EncodePrivateKey as _;
    let converted = |_| "the EC private key cannot be converted to PKCS#8".to_owned();
    if let Ok(key) = p256::SecretKey::from_sec1_der(der) {
        return p256_key(&key, key.to_pkcs8_der().map_err(converted)?.as_bytes());
    }
    if let Ok(key) = p384::SecretKey::from_sec1_der(der) {
        return p384_key(&key, key.to_pkcs8_der().map_err(converted)?.as_bytes());
    }
    Err("not a SEC1 EC private key on P-256 or P-384".to_owned())
}

/// jsonwebtoken's ECDSA signer takes the PKCS#8 document.
fn p256_key(key: &p256::SecretKey, pkcs8: &[u8]) -> Result<(EncodingKey, PublicKey), String> {
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    let point = key.public_key().to_encoded_point(false);
    Ok((
        EncodingKey::from_ec_der(pkcs8),
        PublicKey::ec_point(Curve::P256, point.as_bytes())?,
    ))
}

fn p384_key(key: &p384::SecretKey, pkcs8: &[u8]) -> Result<(EncodingKey, PublicKey), String> {
    use p384::elliptic_curve::sec1::ToEncodedPoint as _;
    let point = key.public_key().to_encoded_point(false);
    Ok((
        EncodingKey::from_ec_der(pkcs8),
        PublicKey::ec_point(Curve::P384, point.as_bytes())?,
    ))
}

fn curve(parameters: Option<ObjectIdentifier>) -> Result<Curve, String> {
    match parameters {
        Some(P256) => Ok(Curve::P256),
        Some(P384) => Ok(Curve::P384),
        Some(other) => Err(format!(
            "an EC key on the curve {other}; only P-256 (ES256) and P-384 (ES384) are supported"
        )),
        None => Err("an EC key that does not name its curve".to_owned()),
    }
}

fn unsupported(algorithm: ObjectIdentifier) -> String {
    format!(
        "a key of type {algorithm}; only RSA (rsaEncryption), EC (P-256, P-384) and Ed25519 keys \
         are supported"
    )
}

#[cfg(test)]
mod tests;
