//! The refresh token's form: its family and 256 random bits in one base64url string, and the
//! key a [`TokenStore`](super::TokenStore) finds it by.
//!
//! The token carries its family so that a store can find the family from the token alone: a
//! Redis Cluster keeps all of a family's keys on one node, picked by the family.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A new family: 128 random bits, as 32 hex digits.
pub(super) fn new_family() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A new token of `family` and its store key. The token is the family's 16 bytes then 32
/// random ones, base64url (64 characters). `None` for a family [`new_family`] did not make.
pub(super) fn new_token(family: &str) -> Option<(String, String)> {
    let family = parse_family(family)?;
    let secret: [u8; 32] = rand::random();
    let mut bytes = [0u8; 48];
    bytes[..16].copy_from_slice(&family.to_be_bytes());
    bytes[16..].copy_from_slice(&secret);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let key = store_key(&token)?;
    Some((token, key))
}

/// The store's key for a token: `<family>.<SHA-256 of the token, hex>`, so the store keeps a
/// hash of it, never the token. `None` for a string that is no token of ours.
pub(super) fn store_key(token: &str) -> Option<String> {
    if token.len() != 64 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let family: [u8; 16] = bytes.get(..16)?.try_into().ok()?;
    let hash: String = Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Some(format!("{:032x}.{hash}", u128::from_be_bytes(family)))
}

fn parse_family(family: &str) -> Option<u128> {
    let hex = family.len() == 32 && family.bytes().all(|byte| byte.is_ascii_hexdigit());
    hex.then(|| u128::from_str_radix(family, 16).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_family_and_is_stored_as_a_hash() {
        let family = new_family();
        let (token, key) = new_token(&family).expect("a family of ours");
        assert_eq!(token.len(), 64);
        assert_ne!(
            Some(&token),
            new_token(&family).map(|(token, _)| token).as_ref()
        );
        assert_eq!(store_key(&token), Some(key.clone()));
        let (named, hash) = key.split_once('.').expect("family.hash");
        assert_eq!(named, family);
        assert_eq!(hash.len(), 64);
        assert!(!key.contains(&token[16..]));
    }

    #[test]
    fn strings_that_are_no_token_have_no_key() {
        assert_eq!(store_key("short"), None);
        assert_eq!(store_key(&"!".repeat(64)), None);
        assert_eq!(new_token("not-a-family"), None);
        assert_eq!(new_token(&"+".repeat(32)), None);
    }
}
