//! `ConfigError`: why a configuration cannot be used.

use jsonwebtoken::Algorithm;
use std::path::PathBuf;

/// A configuration that cannot be used. Messages name the variable or file at fault, never a
/// secret's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is absent.
    #[error("{0} is not set")]
    Missing(String),
    /// A setting has a value that cannot be used.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The setting.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A `SECURE_API_*` variable that is set but would be ignored: not one secure-api reads,
    /// of a feature this build lacks, or made moot by another variable. Refused, since the
    /// operator who set it expects it to count.
    #[error("{variable} {reason}")]
    Unused {
        /// The variable at fault.
        variable: String,
        /// What is wrong and what to do, as the rest of a sentence that starts with the
        /// variable's name.
        reason: String,
    },
    /// A key or secret file cannot be read.
    #[error("cannot read {}: {reason}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error's kind.
        reason: String,
    },
    /// An HMAC secret shorter than its hash (RFC 7518 §3.2).
    #[error(
        "the {algorithm:?} secret has {actual} bytes; RFC 7518 requires at least {required} \
         (generate one with `openssl rand -base64 {required}`)"
    )]
    WeakSecret {
        /// The algorithm the secret is for.
        algorithm: Algorithm,
        /// Bytes given.
        actual: usize,
        /// Bytes required.
        required: usize,
    },
    /// No verification key was configured.
    #[error(
        "no JWT key is configured: set SECURE_API_JWT_SECRET_FILE (or SECURE_API_JWT_SECRET) \
         for HS256, or SECURE_API_JWT_ALGORITHM and SECURE_API_JWT_PRIVATE_KEY_FILE (to sign) \
         or SECURE_API_JWT_PUBLIC_KEY_FILE (to verify)"
    )]
    NoKey,
}

impl ConfigError {
    /// A setting that cannot be used, and why.
    pub(crate) fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            name: name.into(),
            reason: reason.into(),
        }
    }

    /// A variable that is set but would be ignored; `reason` continues the sentence that
    /// starts with its name.
    pub(crate) fn unused(variable: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Unused {
            variable: variable.into(),
            reason: reason.into(),
        }
    }

    /// A file that cannot be read; only the error's kind is kept, never its content.
    pub(crate) fn unreadable(path: &std::path::Path, error: &std::io::Error) -> Self {
        Self::Unreadable {
            path: path.to_owned(),
            reason: error.kind().to_string(),
        }
    }
}
