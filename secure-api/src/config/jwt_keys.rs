//! The JWT key that the `SECURE_API_JWT_*` variables describe.

use super::var;
use crate::error::ConfigError;
use crate::jwt::{Algorithm, Key};
use crate::secret::Secret;

/// The key `SECURE_API_JWT_*` describe for `algorithm`, if any; `env` reads a variable (unset
/// and empty are the same).
pub(super) fn key_from_env(
    algorithm: Algorithm,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Key>, ConfigError> {
    if matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        #[cfg(feature = "pem")]
        for pem_file in [var::JWT_PRIVATE_KEY_FILE, var::JWT_PUBLIC_KEY_FILE] {
            if env(pem_file).is_some() {
                return Err(ConfigError::invalid(
                    pem_file,
                    format!(
                        "a PEM key is for the asymmetric algorithms, and {} is {algorithm:?}: \
                         set it to the key's algorithm (ES256, EdDSA, RS256, …)",
                        var::JWT_ALGORITHM
                    ),
                ));
            }
        }
        let secret = match (env(var::JWT_SECRET_FILE), env(var::JWT_SECRET)) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::unused(
                    var::JWT_SECRET,
                    format!(
                        "is set, but so is {}: remove one (the file keeps the secret out of \
                         the environment)",
                        var::JWT_SECRET_FILE
                    ),
                ));
            }
            (Some(file), None) => Some(Secret::from_file(file)?),
            (None, Some(value)) => Some(Secret::from_env_value(value)),
            (None, None) => None,
        };
        return secret
            .map(|secret| Key::hmac(algorithm, secret))
            .transpose();
    }
    // An HMAC secret beside an asymmetric algorithm would be read by nothing.
    for secret in [var::JWT_SECRET, var::JWT_SECRET_FILE] {
        if env(secret).is_some() {
            return Err(ConfigError::unused(
                secret,
                format!(
                    "is set, but {} is {algorithm:?}, which takes a PEM key: set it to HS256, \
                     HS384 or HS512 for the secret, or unset {secret}",
                    var::JWT_ALGORITHM
                ),
            ));
        }
    }
    pem_key_from_env(algorithm, env)
}

/// A private key signs and verifies; a public key only verifies. The private key holds its
/// public half, so both at once is a mistake.
#[cfg(feature = "pem")]
fn pem_key_from_env(
    algorithm: Algorithm,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Key>, ConfigError> {
    match (
        env(var::JWT_PRIVATE_KEY_FILE),
        env(var::JWT_PUBLIC_KEY_FILE),
    ) {
        (Some(_), Some(_)) => Err(ConfigError::invalid(
            var::JWT_PRIVATE_KEY_FILE,
            format!(
                "set either it (to sign and verify) or {} (to verify only), not both: the \
                 private key holds its public half",
                var::JWT_PUBLIC_KEY_FILE
            ),
        )),
        (Some(file), None) => Key::private_pem_file(algorithm, file).map(Some),
        (None, Some(file)) => Key::public_pem_file(algorithm, file).map(Some),
        (None, None) => Ok(None),
    }
}

#[cfg(not(feature = "pem"))]
fn pem_key_from_env(
    algorithm: Algorithm,
    _env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Key>, ConfigError> {
    Err(ConfigError::invalid(
        var::JWT_ALGORITHM,
        format!(
            "{algorithm:?} needs a PEM key, and secure-api was built without its `pem` feature"
        ),
    ))
}

#[cfg(all(test, feature = "pem"))]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn key(algorithm: Algorithm, vars: &[(&str, &str)]) -> Result<Option<Key>, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        key_from_env(algorithm, &|name| vars.get(name).cloned())
    }

    #[test]
    fn a_private_and_a_public_key_file_exclude_each_other() {
        let error = key(
            Algorithm::ES256,
            &[
                (
                    "SECURE_API_JWT_PRIVATE_KEY_FILE",
                    "/run/secrets/private.pem",
                ),
                ("SECURE_API_JWT_PUBLIC_KEY_FILE", "/run/secrets/public.pem"),
            ],
        )
        .expect_err("both set");
        assert_eq!(
            error.to_string(),
            "SECURE_API_JWT_PRIVATE_KEY_FILE is invalid: set either it (to sign and verify) or \
             SECURE_API_JWT_PUBLIC_KEY_FILE (to verify only), not both: the private key holds \
             its public half"
        );
    }

    #[test]
    fn a_pem_key_with_an_hmac_algorithm_is_refused() {
        let error = key(
            Algorithm::HS256,
            &[(
                "SECURE_API_JWT_PRIVATE_KEY_FILE",
                "/run/secrets/private.pem",
            )],
        )
        .expect_err("HS256 takes a secret");
        assert_eq!(
            error.to_string(),
            "SECURE_API_JWT_PRIVATE_KEY_FILE is invalid: a PEM key is for the asymmetric \
             algorithms, and SECURE_API_JWT_ALGORITHM is HS256: set it to the key's algorithm \
             (ES256, EdDSA, RS256, …)"
        );
    }

    #[test]
    fn the_private_key_file_signs() {
        use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let pem = p256::SecretKey::random(&mut rand08::thread_rng())
            .to_pkcs8_pem(LineEnding::LF)
            .expect("pem");
        std::fs::write(file.path(), pem.as_bytes()).expect("write");
        let path = file.path().to_str().expect("utf-8");
        let configured = key(
            Algorithm::ES256,
            &[("SECURE_API_JWT_PRIVATE_KEY_FILE", path)],
        )
        .expect("a P-256 key")
        .expect("configured");
        assert!(configured.signing_key().is_some());
        assert_eq!(configured.algorithm(), Algorithm::ES256);
        assert!(matches!(key(Algorithm::ES256, &[]), Ok(None)));
    }
}
