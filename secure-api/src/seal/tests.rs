//! Sealing and opening: round trips, rotation, tampering, and keys that must be refused.

use super::*;

/// A secret of these bytes, read the way an application reads one: from a file (which
/// drops one trailing newline).
fn secret(bytes: &[u8]) -> Secret {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("key");
    std::fs::write(&path, bytes).expect("write key");
    Secret::from_file(&path).expect("read key")
}

fn sealer(kid: &str) -> Sealer {
    Sealer::new()
        .key(kid, Secret::generate(32))
        .expect("a 32-byte key")
}

#[test]
fn round_trip() {
    let sealer = sealer("k1");
    let sealed = sealer.seal(b"alice@example.com", b"").expect("seal");
    assert!(sealed.starts_with("v1.k1."), "{sealed}");
    assert!(!sealed.contains("alice"));
    assert_eq!(
        sealer.open(&sealed, b"").expect("open"),
        b"alice@example.com"
    );
    let empty = sealer.seal(b"", b"").expect("seal");
    assert_eq!(sealer.open(&empty, b"").expect("open"), b"");
}

#[test]
fn round_trip_with_aad() {
    let sealer = sealer("k1");
    let sealed = sealer.seal(b"secret", b"users:42").expect("seal");
    assert_eq!(sealer.open(&sealed, b"users:42").expect("open"), b"secret");
}

#[test]
fn rotation_opens_values_sealed_with_an_older_key() {
    let old_key = [0x11; 32];
    let before = Sealer::new()
        .key("2026-10", secret(&old_key))
        .expect("old key");
    let sealed = before.seal(b"totp secret", b"").expect("seal");

    let after = Sealer::new()
        .key("2026-11", Secret::generate(32))
        .expect("new key")
        .key("2026-10", secret(&old_key))
        .expect("old key");
    assert_eq!(after.current_kid(), Some("2026-11"));
    assert_eq!(after.open(&sealed, b"").expect("open"), b"totp secret");
    assert!(after.needs_reseal(&sealed));
    let resealed = after.seal(b"totp secret", b"").expect("seal");
    assert!(resealed.starts_with("v1.2026-11."), "{resealed}");
    assert!(!after.needs_reseal(&resealed));
    // The old sealer does not hold the new key.
    assert!(matches!(
        before.open(&resealed, b""),
        Err(SealError::UnknownKid(kid)) if kid == "2026-11"
    ));
}

#[test]
fn tampered_values_do_not_open() {
    let sealer = sealer("k1");
    let sealed = sealer.seal(b"payload", b"").expect("seal");
    let (header, body) = sealed.rsplit_once('.').expect("three parts");
    let mut bytes = URL_SAFE_NO_PAD.decode(body).expect("base64url");
    for index in [0, NONCE_BYTES, bytes.len() - 1] {
        bytes[index] ^= 1;
        let tampered = format!("{header}.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert!(
            matches!(sealer.open(&tampered, b""), Err(SealError::Rejected)),
            "byte {index}"
        );
        bytes[index] ^= 1;
    }
    // Truncated, extended, or not this format at all.
    let truncated = &sealed[..sealed.len() - 4];
    assert!(sealer.open(truncated, b"").is_err());
    assert!(sealer.open(&format!("{sealed}AAAA"), b"").is_err());
    for malformed in ["", "v1", "v1.k1", "v2.k1.AAAA", "v1.k1.!!!!", "v1.k1.AAAA"] {
        assert!(
            matches!(sealer.open(malformed, b""), Err(SealError::Malformed)),
            "{malformed}"
        );
    }
}

#[test]
fn wrong_associated_data_does_not_open() {
    let sealer = sealer("k1");
    let sealed = sealer.seal(b"secret", b"users:42").expect("seal");
    for aad in [&b"users:43"[..], b"", b"users:42 "] {
        assert!(matches!(
            sealer.open(&sealed, aad),
            Err(SealError::Rejected)
        ));
    }
    let unbound = sealer.seal(b"secret", b"").expect("seal");
    assert!(sealer.open(&unbound, b"users:42").is_err());
}

#[test]
fn unknown_or_relabelled_kid_does_not_open() {
    let sealed = sealer("k1").seal(b"secret", b"").expect("seal");
    assert!(matches!(
        sealer("k2").open(&sealed, b""),
        Err(SealError::UnknownKid(kid)) if kid == "k1"
    ));
    // Another key under the same id, or the right key under another id.
    assert!(matches!(
        sealer("k1").open(&sealed, b""),
        Err(SealError::Rejected)
    ));
    let both = Sealer::new()
        .key("a", secret(&[0x22; 32]))
        .expect("a")
        .key("b", secret(&[0x22; 32]))
        .expect("b");
    let relabelled = both
        .seal(b"secret", b"")
        .expect("seal")
        .replacen(".a.", ".b.", 1);
    assert!(matches!(
        both.open(&relabelled, b""),
        Err(SealError::Rejected)
    ));
}

#[test]
fn keys_must_be_32_bytes() {
    for len in [0, 16, 31, 33, 64] {
        let error = Sealer::new()
            .key("k1", Secret::generate(len))
            .expect_err("not 32 bytes");
        assert!(
            matches!(error, SealError::KeyLength { actual, .. } if actual == len),
            "{error}"
        );
    }
    // The base64 of 32 bytes, padded or not, standard or URL-safe.
    let raw = [0xfbu8; 32];
    for encoded in [
        STANDARD.encode(raw),
        URL_SAFE.encode(raw),
        URL_SAFE_NO_PAD.encode(raw),
        format!("{}\n", STANDARD.encode(raw)),
    ] {
        let base64 = Sealer::new()
            .key("b64", secret(encoded.as_bytes()))
            .expect("base64 of 32 bytes");
        let sealed = base64.seal(b"x", b"").expect("seal");
        let raw = Sealer::new().key("b64", secret(&raw)).expect("raw");
        assert_eq!(raw.open(&sealed, b"").expect("same key"), b"x");
    }
    // The base64 of 31 bytes is refused, and the message does not echo the key.
    let short = STANDARD.encode([7u8; 31]);
    let error = Sealer::new()
        .key("k1", secret(short.as_bytes()))
        .expect_err("31 bytes");
    assert!(!error.to_string().contains(&short), "{error}");
}

#[test]
fn kids_are_checked() {
    for kid in ["", "a.b", "with space", "ü", &"k".repeat(65)] {
        assert!(
            matches!(
                Sealer::new().key(kid, Secret::generate(32)),
                Err(SealError::InvalidKid { .. })
            ),
            "{kid}"
        );
    }
    let twice = sealer("k1").key("k1", Secret::generate(32));
    assert!(matches!(twice, Err(SealError::DuplicateKid(_))));
    assert!(matches!(
        Sealer::new().seal(b"x", b""),
        Err(SealError::NoKey)
    ));
}

#[test]
fn two_seals_of_the_same_plaintext_differ() {
    let sealer = sealer("k1");
    let first = sealer.seal(b"same", b"").expect("seal");
    let second = sealer.seal(b"same", b"").expect("seal");
    assert_ne!(first, second);
    assert_eq!(
        sealer.open(&first, b"").expect("open"),
        sealer.open(&second, b"").expect("open")
    );
}

#[test]
fn debug_never_prints_keys() {
    let key = Secret::generate(32);
    let bytes = key.expose().to_vec();
    let sealer = Sealer::new().key("k1", key).expect("key");
    let printed = format!("{sealer:?}");
    assert_eq!(printed, r#"Sealer { kids: ["k1"] }"#);
    assert!(!printed.contains(&format!("{bytes:?}")));
    assert!(!printed.contains(&URL_SAFE_NO_PAD.encode(&bytes)));
}
