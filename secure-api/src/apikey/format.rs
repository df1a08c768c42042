//! What an API key looks like: `<prefix>_<id>_<secret><checksum>`, e.g.
//! `sapi_4Qw0cTq3bZ8x1LmN_…` — a prefix that secret scanners can match, a key id that is
//! not secret (it names the key in listings and audit events), 40 random characters of
//! secret, and a 6-character checksum that tells a typo from a wrong key without asking the
//! store. Every part is `[0-9A-Za-z]`, so a double click selects the whole key.

use rand::Rng as _;
use rand::distr::Alphanumeric;
use sha2::{Digest as _, Sha256};

/// The prefix of keys when none is configured.
pub const DEFAULT_PREFIX: &str = "sapi";

const ID_LEN: usize = 16;
/// 40 characters of 62: 238 bits, beyond guessing, so that a fast hash suffices at rest.
const SECRET_LEN: usize = 40;
const CHECKSUM_LEN: usize = 6;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Whether `prefix` may start keys: 2 to 12 lowercase ASCII letters and digits, starting with
/// a letter (so that it cannot be confused with the key id and scanners can anchor on it).
pub(crate) fn is_valid_prefix(prefix: &str) -> bool {
    (2..=12).contains(&prefix.len())
        && prefix.starts_with(|first: char| first.is_ascii_lowercase())
        && prefix
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
}

/// A new key id and the whole key text.
pub(crate) fn generate(prefix: &str) -> (String, String) {
    let mut rng = rand::rng();
    let mut random = |len: usize| -> String {
        (&mut rng)
            .sample_iter(Alphanumeric)
            .take(len)
            .map(char::from)
            .collect()
    };
    let id = random(ID_LEN);
    let body = format!("{prefix}_{id}_{}", random(SECRET_LEN));
    let key = format!("{body}{}", checksum(&body));
    (id, key)
}

/// The key id of a well-formed key with this prefix and a checksum that matches; `None`
/// for anything else, without any lookup.
pub(crate) fn key_id<'k>(prefix: &str, key: &'k str) -> Option<&'k str> {
    let rest = key.strip_prefix(prefix)?.strip_prefix('_')?;
    let (id, tail) = rest.split_once('_')?;
    let well_formed = id.len() == ID_LEN
        && tail.len() == SECRET_LEN + CHECKSUM_LEN
        && id
            .bytes()
            .chain(tail.bytes())
            .all(|byte| byte.is_ascii_alphanumeric());
    if !well_formed {
        return None;
    }
    let (body, written) = key.split_at(key.len() - CHECKSUM_LEN);
    (checksum(body) == written).then_some(id)
}

/// Whether `text` starts like a key of this prefix, well-formed or not: what the guard looks
/// for where a key must never be (a query string).
pub(crate) fn looks_like_key(prefix: &str, text: &str) -> bool {
    text.strip_prefix(prefix)
        .is_some_and(|rest| rest.starts_with('_'))
}

/// The form a key is stored in: its SHA-256. Keys carry 238 bits of randomness, so a slow
/// password hash would add cost to every request and no strength.
pub(crate) fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The first four bytes of the body's SHA-256, as six base-62 digits.
pub(super) fn checksum(body: &str) -> String {
    let hash = Sha256::digest(body.as_bytes());
    let mut value = u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]);
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits.iter().map(|&digit| char::from(digit)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back_to_their_id() {
        let (id, key) = generate(DEFAULT_PREFIX);
        assert_eq!(
            key.len(),
            "sapi_".len() + ID_LEN + 1 + SECRET_LEN + CHECKSUM_LEN
        );
        assert!(key.starts_with("sapi_"));
        assert_eq!(key_id(DEFAULT_PREFIX, &key), Some(id.as_str()));
        assert!(looks_like_key(DEFAULT_PREFIX, &key));
    }

    #[test]
    fn every_single_character_typo_is_caught_by_the_checksum() {
        let (_, key) = generate(DEFAULT_PREFIX);
        let start = "sapi_".len();
        for position in start..key.len() {
            if key.as_bytes()[position] == b'_' {
                continue;
            }
            let mut typo = key.clone().into_bytes();
            typo[position] = if typo[position] == b'x' { b'y' } else { b'x' };
            let typo = String::from_utf8(typo).expect("ascii");
            assert_eq!(key_id(DEFAULT_PREFIX, &typo), None, "typo at {position}");
        }
    }

    #[test]
    fn other_shapes_are_refused() {
        let (_, key) = generate("acme");
        assert_eq!(key_id(DEFAULT_PREFIX, &key), None, "another prefix");
        assert!(key_id("acme", &key).is_some());
        assert_eq!(key_id("acme", &key[..key.len() - 1]), None, "truncated");
        assert_eq!(key_id("acme", &format!("{key}0")), None, "extended");
        assert_eq!(key_id("acme", "acme__"), None);
        assert_eq!(key_id("acme", ""), None);
        assert!(!looks_like_key("acme", "acmexyz"));
    }

    #[test]
    fn prefixes_are_short_lowercase_words() {
        assert!(is_valid_prefix("sapi"));
        assert!(is_valid_prefix("acme2"));
        for bad in ["", "a", "Acme", "2fa", "ac_me", "a-b", "abcdefghijklm"] {
            assert!(!is_valid_prefix(bad), "{bad:?}");
        }
    }
}
