//! Sensitive fields sealed at rest (D6): XChaCha20-Poly1305 under keys that come only from
//! the environment or a file, with a key id in every sealed value so that keys can rotate.
//!
//! A sealed value is one ASCII string, safe to store in a text column:
//!
//! ```text
//! v1.<kid>.<base64url(nonce || ciphertext || tag)>
//! ```
//!
//! - `v1` names this format: XChaCha20-Poly1305 (RFC 8439 with the 192-bit nonce of
//!   draft-irtf-cfrg-xchacha), so a random nonce per value is safe for as many values as any
//!   application will store under one key;
//! - `<kid>` names the key that sealed it (letters, digits, `-` and `_`), so a [`Sealer`]
//!   holding the current key and the previous ones opens everything, and seals with the
//!   current one only;
//! - the header `v1.<kid>.` and the caller's associated data (for example the row id) are
//!   authenticated with the ciphertext: a value copied into another row, or relabelled with
//!   another kid, does not open.
//!
//! Sealing keeps a value secret and unmodified, not its length: a sealed value is the
//! plaintext's length plus 40 bytes (nonce and tag), in base64, plus the header.

use crate::secret::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// The prefix of every value this version seals.
const VERSION: &str = "v1";
/// Bytes of an XChaCha20-Poly1305 key.
const KEY_BYTES: usize = 32;
/// Bytes of an XChaCha20 nonce.
const NONCE_BYTES: usize = 24;
/// Bytes of a Poly1305 tag.
const TAG_BYTES: usize = 16;
/// The longest key id accepted.
const MAX_KID_CHARS: usize = 64;

/// Seals sensitive fields (an e-mail address, a TOTP secret, an API key of a third party)
/// before they are stored, and opens them after they are read back.
///
/// The first key added seals; every key opens. To rotate, put the new key first and keep the
/// old ones until [`Sealer::needs_reseal`] is false for every stored value.
///
/// ```
/// use secure_api::Secret;
/// use secure_api::seal::Sealer;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use base64::Engine as _;
/// # let dir = tempfile::tempdir()?;
/// # let key = || base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
/// # std::fs::write(dir.path().join("seal-2026-11.key"), key() + "\n")?;
/// # std::fs::write(dir.path().join("seal-2026-10.key"), key() + "\n")?;
/// # let (current_file, previous_file) =
/// #     (dir.path().join("seal-2026-11.key"), dir.path().join("seal-2026-10.key"));
/// // 32 random bytes or their base64 (`openssl rand -base64 32`), from a file or from the
/// // environment (`Secret::from_env("APP_SEAL_KEY")`): never from source code.
/// let sealer = Sealer::new()
///     .key("2026-11", Secret::from_file(&current_file)?)? // seals and opens
///     .key("2026-10", Secret::from_file(&previous_file)?)?; // only opens
///
/// // The row id as associated data: the sealed e-mail opens only for row 42.
/// let sealed = sealer.seal(b"alice@example.com", b"users:42")?;
/// assert!(sealed.starts_with("v1.2026-11."));
/// assert_eq!(sealer.open(&sealed, b"users:42")?, b"alice@example.com");
/// assert!(sealer.open(&sealed, b"users:43").is_err());
///
/// // Keys never print.
/// assert_eq!(format!("{sealer:?}"), r#"Sealer { kids: ["2026-11", "2026-10"] }"#);
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Sealer {
    /// The sealing key first, then the keys that only open.
    keys: Vec<SealKey>,
}

#[derive(Clone)]
struct SealKey {
    kid: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|key| key.kid.as_str()).collect();
        f.debug_struct("Sealer").field("kids", &kids).finish()
    }
}

/// Why a key was refused or a value could not be sealed or opened. Messages name key ids,
/// never a key, a plaintext or a ciphertext.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// A key that is not 32 bytes, raw or base64-encoded.
    #[error(
        "the sealing key `{kid}` has {actual} bytes: XChaCha20-Poly1305 needs exactly 32 random \
         bytes, or their base64 (`openssl rand -base64 32`)"
    )]
    KeyLength {
        /// The key's id.
        kid: String,
        /// Bytes given.
        actual: usize,
    },
    /// A key id that cannot be written into a sealed value.
    #[error(
        "`{kid}` is not a usable key id: use 1 to 64 letters, digits, `-` or `_` (e.g. `2026-11`)"
    )]
    InvalidKid {
        /// The key id given.
        kid: String,
    },
    /// Two keys with the same id.
    #[error("the key id `{0}` is used twice")]
    DuplicateKid(String),
    /// Sealing was asked of a sealer without any key.
    #[error("the sealer has no key: add one with Sealer::key")]
    NoKey,
    /// The value is not `v1.<kid>.<base64url>` of a possible length.
    #[error("not a value sealed by this version (expected `v1.<kid>.<base64url>`)")]
    Malformed,
    /// The value was sealed under a key this sealer does not hold.
    #[error("the value was sealed with the key `{0}`, which this sealer does not hold")]
    UnknownKid(String),
    /// The value does not authenticate: it was altered, is opened with other associated data,
    /// or was sealed with another key under the same id.
    #[error(
        "the sealed value does not authenticate (altered, other associated data, or other key)"
    )]
    Rejected,
    /// The plaintext or associated data is too long for the cipher.
    #[error("the plaintext or associated data is too long to seal")]
    TooLong,
}

impl Sealer {
    /// A sealer without keys: add them with [`Sealer::key`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key under the id `kid`. The first key added seals; every key opens.
    ///
    /// The secret is 32 bytes, as read, or the base64 (standard or URL-safe, padded or not) of
    /// 32 bytes, since an environment variable cannot hold arbitrary bytes.
    pub fn key(mut self, kid: impl Into<String>, secret: Secret) -> Result<Self, SealError> {
        let kid = kid.into();
        if !valid_kid(&kid) {
            return Err(SealError::InvalidKid { kid });
        }
        if self.keys.iter().any(|key| key.kid == kid) {
            return Err(SealError::DuplicateKid(kid));
        }
        let cipher = cipher(secret.expose()).ok_or_else(|| SealError::KeyLength {
            kid: kid.clone(),
            actual: secret.expose().len(),
        })?;
        self.keys.push(SealKey { kid, cipher });
        Ok(self)
    }

    /// The id of the key that seals, if any key was added.
    pub fn current_kid(&self) -> Option<&str> {
        self.keys.first().map(|key| key.kid.as_str())
    }

    /// Seals `plaintext` with the current key and a fresh random nonce, binding the associated
    /// data `aad` (for example the table and row id, or `b""` for none) into the tag: opening
    /// needs the same `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<String, SealError> {
        let key = self.keys.first().ok_or(SealError::NoKey)?;
        let header = format!("{VERSION}.{}.", key.kid);
        let mut nonce = [0u8; NONCE_BYTES];
        rand::Fill::fill(&mut nonce[..], &mut rand::rng());
        let nonce = XNonce::from(nonce);
        let aad = associated_data(&header, aad);
        let ciphertext = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::TooLong)?;
        let mut body = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&ciphertext);
        Ok(header + &URL_SAFE_NO_PAD.encode(body))
    }

    /// Opens a value sealed with the associated data `aad`, under any key of this sealer.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let (kid, body) = parse(sealed)?;
        let key = self
            .keys
            .iter()
            .find(|key| key.kid == kid)
            .ok_or_else(|| SealError::UnknownKid(kid.to_owned()))?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Malformed)?;
        if body.len() < NONCE_BYTES + TAG_BYTES {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = body.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| SealError::Malformed)?;
        let header = format!("{VERSION}.{kid}.");
        key.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: &associated_data(&header, aad),
                },
            )
            .map_err(|_| SealError::Rejected)
    }

    /// Whether `sealed` was sealed under a key other than the current one (or cannot be read),
    /// so that a rotation job knows which stored values to open and seal again.
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        match parse(sealed) {
            Ok((kid, _)) => self.current_kid() != Some(kid),
            Err(_) => true,
        }
    }
}

/// `v1.<kid>.<body>`, with a kid that this version could have written.
fn parse(sealed: &str) -> Result<(&str, &str), SealError> {
    let mut parts = sealed.splitn(3, '.');
    let (Some(VERSION), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SealError::Malformed);
    };
    if !valid_kid(kid) || body.contains('.') {
        return Err(SealError::Malformed);
    }
    Ok((kid, body))
}

fn valid_kid(kid: &str) -> bool {
    (1..=MAX_KID_CHARS).contains(&kid.len())
        && kid
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// The header is authenticated too, so that a value relabelled with another kid or version
/// cannot open. Its second `.` ends it (a kid has none), so no two pairs of header and `aad`
/// give the same bytes.
fn associated_data(header: &str, aad: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(header.len() + aad.len());
    data.extend_from_slice(header.as_bytes());
    data.extend_from_slice(aad);
    data
}

/// The cipher for 32 raw bytes, or for the base64 of 32 bytes; `None` for anything else.
fn cipher(secret: &[u8]) -> Option<XChaCha20Poly1305> {
    if secret.len() == KEY_BYTES {
        return XChaCha20Poly1305::new_from_slice(secret).ok();
    }
    // 32 bytes are 43 base64 characters unpadded, 44 padded: never 32, so never ambiguous.
    let text = std::str::from_utf8(secret).ok()?.trim();
    let mut decoded = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())?;
    let cipher = match decoded.len() {
        KEY_BYTES => XChaCha20Poly1305::new_from_slice(&decoded).ok(),
        _ => None,
    };
    decoded.fill(0);
    cipher
}

#[cfg(test)]
mod tests;
