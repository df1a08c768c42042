//! `Secret`: key material that can only come from the environment, a file or the random
//! generator, and never prints.

use crate::error::ConfigError;
use std::path::Path;

/// A key or password that must not be written in source code: it can only come from the
/// environment, a file, or the random generator, and it never prints.
pub struct Secret(Vec<u8>);

impl Secret {
    /// Reads the secret from an environment variable (its UTF-8 bytes, as written).
    pub fn from_env(variable: &str) -> Result<Self, ConfigError> {
        match std::env::var(variable) {
            Ok(value) if !value.is_empty() => Ok(Self(value.into_bytes())),
            _ => Err(ConfigError::Missing(variable.to_owned())),
        }
    }

    /// A variable's value, already read (by `SecurityBuilder::from_env`, which reads the
    /// environment once).
    pub(crate) fn from_env_value(value: String) -> Self {
        Self(value.into_bytes())
    }

    /// Reads the secret from a file (for Docker or Kubernetes secrets); one trailing newline
    /// is dropped.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let mut bytes =
            std::fs::read(path).map_err(|error| ConfigError::unreadable(path, &error))?;
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        Ok(Self(bytes))
    }

    /// `len` random bytes from the operating system's generator.
    pub fn generate(len: usize) -> Self {
        let mut bytes = vec![0; len];
        rand::Fill::fill(&mut bytes[..], &mut rand::rng());
        Self(bytes)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The secret's bytes, for the crate's own use of them as a key (JWT keys, `seal`).
    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(<{} bytes, redacted>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = Secret::generate(32);
        let printed = format!("{secret:?}");
        assert!(printed.contains("redacted"));
        assert!(!printed.contains(&format!("{:?}", secret.0)));
    }
}
