//! `Key`: one verification key, its algorithm fixed by configuration, and the policy a key
//! must meet before it is accepted.

use crate::error::ConfigError;
use crate::secret::Secret;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
#[cfg(feature = "pem")]
use std::path::Path;

/// One key of the key set: its algorithm is fixed here, never read from a token.
pub struct Key {
    kid: Option<String>,
    algorithm: Algorithm,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
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
                    format!("{other:?} is not an HMAC algorithm; use Key::public_pem"),
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
        })
    }

    /// A public key (RS*, PS*, ES*, EdDSA) from PEM, for verifying tokens another service
    /// signs.
    #[cfg(feature = "pem")]
    pub fn public_pem(algorithm: Algorithm, pem: &[u8]) -> Result<Self, ConfigError> {
        let invalid =
            |reason: String| ConfigError::invalid(format!("{algorithm:?} public key"), reason);
        let decoding = match algorithm {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => DecodingKey::from_rsa_pem(pem),
            Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem),
            Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                return Err(invalid(
                    "an HMAC algorithm takes a secret: use Key::hmac".into(),
                ));
            }
            other => return Err(invalid(format!("{other:?} is not supported"))),
        }
        .map_err(|error| invalid(format!("not a PEM public key ({error})")))?;
        Ok(Self {
            kid: None,
            algorithm,
            decoding,
            encoding: None,
        })
    }

    /// [`Key::public_pem`] read from a file.
    #[cfg(feature = "pem")]
    pub fn public_pem_file(
        algorithm: Algorithm,
        path: impl AsRef<Path>,
    ) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|error| ConfigError::unreadable(path, &error))?;
        Self::public_pem(algorithm, &pem)
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

    /// The key's signing half, if it has one (only HMAC keys hold a secret).
    pub(crate) fn signing_key(&self) -> Option<SigningKey> {
        Some(SigningKey {
            algorithm: self.algorithm,
            kid: self.kid.clone(),
            encoding: self.encoding.clone()?,
        })
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
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
