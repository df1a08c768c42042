//! `Key`: one verification key, its algorithm fixed by configuration, and the policy a key
//! must meet before it is accepted.

use super::public_key::PublicKey;
use crate::error::ConfigError;
use crate::secret::Secret;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
#[cfg(feature = "pem")]
use std::path::Path;

/// One key of the key set: its algorithm is fixed here, never read from a token.
///
/// An HMAC key ([`Key::hmac`]) and a private key (`Key::private_pem`, feature `pem`) sign and
/// verify; a public key (`Key::public_pem`, [`Key::from_jwk_set`]) only verifies. Every asymmetric key
/// meets the key policy first: RSA keys of 2048 to 4096 bits with the public exponent 65537,
/// EC keys on their algorithm's curve (P-256 for ES256, P-384 for ES384), Ed25519 keys for
/// EdDSA only.
pub struct Key {
    kid: Option<String>,
    algorithm: Algorithm,
    decoding: DecodingKey,
    /// The signing half: the HMAC secret or the private key. Never printed.
    encoding: Option<EncodingKey>,
    /// The public half of an asymmetric key; `None` for HMAC.
    public: Option<PublicKey>,
}

impl Key {
    /// An HMAC key (HS256, HS384 or HS512); the secret must be at least as long as the hash.
    pub fn hmac(algorithm: Algorithm, secret: Secret) -> Result<Self, ConfigError> {
        let required = match algorithm {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            other => {
                return Err(ConfigError::invalid(
                    "algorithm",
                    format!(
                        "{other:?} is not an HMAC algorithm; use Key::public_pem or \
                         Key::private_pem"
                    ),
                ));
            }
        };
        if secret.len() < required {
            return Err(ConfigError::WeakSecret {
                algorithm,
                actual: secret.len(),
                required,
            });
        }
        Ok(Self {
            kid: None,
            algorithm,
            decoding: DecodingKey::from_secret(secret.expose()),
            encoding: Some(EncodingKey::from_secret(secret.expose())),
            public: None,
        })
    }

    /// A public key (RS*, PS*, ES*, EdDSA) from PEM, for verifying tokens another service
    /// signs: `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo), or
    /// `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1). The key policy applies (see [`Key`]): the
    /// error names what is wrong with the key, never its content.
    #[cfg(feature = "pem")]
    pub fn public_pem(algorithm: Algorithm, pem: &[u8]) -> Result<Self, ConfigError> {
        let invalid =
            |reason: String| ConfigError::invalid(format!("{algorithm:?} public key"), reason);
        asymmetric(algorithm).map_err(invalid)?;
        let public = super::pem::public_key(pem).map_err(invalid)?;
        public.check(algorithm).map_err(invalid)?;
        Ok(Self::verifying(algorithm, public, None))
    }

    /// [`Key::public_pem`] read from a file.
    #[cfg(feature = "pem")]
    pub fn public_pem_file(
        algorithm: Algorithm,
        path: impl AsRef<Path>,
    ) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|error| ConfigError::unreadable(path, &error))?;
        Self::public_pem(algorithm, &pem).map_err(|error| in_file(error, path))
    }

    /// A private key (ES256, ES384, EdDSA, RS*, PS*) from PEM, with which `Security` signs its
    /// own access tokens and verifies them with its public half — which
    /// [`Security::jwks`](crate::Security::jwks) publishes for other services:
    /// `-----BEGIN PRIVATE KEY-----` (PKCS#8, any supported type),
    /// `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1) or `-----BEGIN EC PRIVATE KEY-----` (SEC1).
    ///
    /// The key policy applies to its public half (see [`Key`]), and the key must sign: one
    /// signature is made and verified here, so that a broken key fails at start-up rather than
    /// at the first login. Its `kid` is its RFC 7638 thumbprint unless [`Key::with_kid`] names
    /// it. The private key is never printed, by `Debug` or in an error.
    ///
    /// ```no_run
    /// use secure_api::Security;
    /// use secure_api::jwt::{Algorithm, Key};
    ///
    /// # fn main() -> Result<(), secure_api::ConfigError> {
    /// // e.g. `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out signing.pem`
    /// let security = Security::builder()
    ///     .issuer("https://notes.example.com")
    ///     .audience("notes-api")
    ///     .key(Key::private_pem_file(Algorithm::ES256, "/run/secrets/signing.pem")?)
    ///     .build()?;
    /// let published = security.jwks(); // serve it at /.well-known/jwks.json
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "pem")]
    pub fn private_pem(algorithm: Algorithm, pem: &[u8]) -> Result<Self, ConfigError> {
        let invalid =
            |reason: String| ConfigError::invalid(format!("{algorithm:?} private key"), reason);
        asymmetric(algorithm).map_err(invalid)?;
        let (encoding, public) = super::pem::private_key(pem).map_err(invalid)?;
        public.check(algorithm).map_err(invalid)?;
        let decoding = public.decoding_key();
        super::install_crypto_provider();
        let probe = b"secure-api: does this key sign?";
        let signs = jsonwebtoken::crypto::sign(probe, &encoding, algorithm)
            .and_then(|signature| {
                jsonwebtoken::crypto::verify(&signature, probe, &decoding, algorithm)
            })
            .unwrap_or(false);
        if !signs {
            return Err(invalid(format!(
                "the key cannot make {algorithm:?} signatures that its public half verifies"
            )));
        }
        Ok(Self {
            kid: Some(public.thumbprint()),
            algorithm,
            decoding,
            encoding: Some(encoding),
            public: Some(public),
        })
    }

    /// [`Key::private_pem`] read from a file (a Docker or Kubernetes secret, say).
    #[cfg(feature = "pem")]
    pub fn private_pem_file(
        algorithm: Algorithm,
        path: impl AsRef<Path>,
    ) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|error| ConfigError::unreadable(path, &error))?;
        Self::private_pem(algorithm, &pem).map_err(|error| in_file(error, path))
    }

    /// A key that only verifies, from a public key that met the key policy for `algorithm`.
    pub(crate) fn verifying(algorithm: Algorithm, public: PublicKey, kid: Option<String>) -> Self {
        Self {
            kid,
            algorithm,
            decoding: public.decoding_key(),
            encoding: None,
            public: Some(public),
        }
    }

    /// Names the key; tokens select it by their `kid` header. Required when several keys are
    /// configured, e.g. during a rotation.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The public half as a JWK with `kid`, `alg` and `use: "sig"`; `None` for an HMAC key,
    /// whose secret is never published.
    pub(crate) fn public_jwk(&self) -> Option<serde_json::Value> {
        let mut jwk = self.public.as_ref()?.jwk();
        if let Some(kid) = &self.kid {
            jwk.insert("kid".into(), kid.as_str().into());
        }
        jwk.insert("alg".into(), format!("{:?}", self.algorithm).into());
        jwk.insert("use".into(), "sig".into());
        Some(jwk.into())
    }

    /// The key's signing half, if it has one (an HMAC secret or a private key).
    pub(crate) fn signing_key(&self) -> Option<SigningKey> {
        Some(SigningKey {
            algorithm: self.algorithm,
            kid: self.kid.clone(),
            encoding: self.encoding.clone()?,
        })
    }
}

/// Why `algorithm` takes no public or private key, if it does not.
#[cfg(feature = "pem")]
fn asymmetric(algorithm: Algorithm) -> Result<(), String> {
    match algorithm {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            Err("an HMAC algorithm takes a secret: use Key::hmac".into())
        }
        _ => Ok(()),
    }
}

/// The error of a key read from `path`, naming the file.
#[cfg(feature = "pem")]
fn in_file(error: ConfigError, path: &Path) -> ConfigError {
    match error {
        ConfigError::Invalid { name, reason } => {
            ConfigError::invalid(format!("{name} in {}", path.display()), reason)
        }
        other => other,
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("signs", &self.encoding.is_some())
            .finish_non_exhaustive()
    }
}

/// The key the issuer signs access tokens with.
#[derive(Clone)]
pub(crate) struct SigningKey {
    algorithm: Algorithm,
    kid: Option<String>,
    encoding: EncodingKey,
}

impl SigningKey {
    /// The algorithm it signs with.
    #[cfg(feature = "test-util")]
    pub(crate) fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Another key under this one's algorithm and `kid`: the test kit's impostor, whose
    /// tokens name a configured key but carry a signature it does not make.
    #[cfg(feature = "test-util")]
    pub(crate) fn impersonated_by(&self, encoding: EncodingKey) -> SigningKey {
        SigningKey {
            encoding,
            ..self.clone()
        }
    }

    /// Signs `claims` as an access token (`typ: at+jwt`).
    pub(crate) fn sign(&self, claims: &serde_json::Value) -> Result<String, ConfigError> {
        let mut header = Header::new(self.algorithm);
        header.typ = Some(super::ACCESS_TOKEN_TYPE.to_owned());
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|error| ConfigError::invalid("signing key", error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_hmac_secrets_are_refused() {
        let error =
            Key::hmac(Algorithm::HS256, Secret::generate(31)).expect_err("31 bytes is too short");
        assert!(error.to_string().contains("at least 32"), "{error}");
        assert!(Key::hmac(Algorithm::HS512, Secret::generate(63)).is_err());
        assert!(Key::hmac(Algorithm::HS512, Secret::generate(64)).is_ok());
    }
}
