use super::*;

fn keys() -> ApiKeys {
    ApiKeys::new(Arc::new(MemoryApiKeyStore::new()), DEFAULT_PREFIX)
}

fn reports_key() -> NewApiKey {
    NewApiKey::new("svc-reports", "nightly export").with_scopes(&["reports:read"])
}

#[tokio::test]
async fn a_created_key_verifies_to_what_it_grants() {
    let keys = keys();
    let created = keys
        .create(reports_key().with_roles(&["service"]))
        .await
        .expect("created");
    let info = keys.verify(created.key.expose()).await.expect("verified");
    assert_eq!(info.id, created.info.id);
    assert_eq!(info.owner, "svc-reports");
    assert_eq!(info.scopes, ["reports:read"]);
    assert_eq!(info.roles, ["service"]);
    assert!(created.key.expose().starts_with("sapi_"));
}

#[tokio::test]
async fn only_the_hash_is_stored_and_debug_shows_no_secret() {
    let store = Arc::new(MemoryApiKeyStore::new());
    let keys = ApiKeys::new(store.clone(), DEFAULT_PREFIX);
    let created = keys.create(reports_key()).await.expect("created");
    let record = store
        .find_key(&created.info.id)
        .await
        .expect("store")
        .expect("record");
    let secret = &created.key.expose()[created.key.expose().len() - 46..];
    assert_ne!(record.hash.as_slice(), created.key.expose().as_bytes());
    assert_eq!(record.hash, format::digest(created.key.expose()));
    assert!(!format!("{record:?}").contains(secret));
    assert!(!format!("{:?}", created.key).contains(secret));
    assert!(!format!("{created:?}").contains(secret));
}

#[tokio::test]
async fn typos_wrong_secrets_unknown_ids_revoked_and_expired_keys_are_refused() {
    let keys = keys();
    let created = keys.create(reports_key()).await.expect("created");
    let key = created.key.expose();

    let mut typo = key.to_owned();
    typo.replace_range(10..11, if &key[10..11] == "a" { "b" } else { "a" });
    assert!(matches!(
        keys.verify(&typo).await,
        Err(KeyRejection::Malformed)
    ));

    // A key of the right format, another secret under the same id.
    let (_, other) = format::generate(DEFAULT_PREFIX);
    let forged = format!("sapi_{}_{}", created.info.id, &other[other.len() - 46..]);
    let forged = {
        let body = &forged[..forged.len() - 6];
        let checksum = format::checksum(body);
        format!("{body}{checksum}")
    };
    assert!(matches!(
        keys.verify(&forged).await,
        Err(KeyRejection::WrongSecret)
    ));
    assert!(matches!(
        keys.verify(&other).await,
        Err(KeyRejection::Unknown)
    ));

    assert!(keys.revoke(&created.info.id).await.expect("store"));
    assert!(matches!(keys.verify(key).await, Err(KeyRejection::Revoked)));
    assert!(!keys.revoke("no-such-key").await.expect("store"));

    let expired = keys
        .create(reports_key().expires_in(Duration::ZERO))
        .await
        .expect("created");
    assert!(matches!(
        keys.verify(expired.key.expose()).await,
        Err(KeyRejection::Expired)
    ));
}

#[tokio::test]
async fn listings_hold_no_secrets_and_filter_by_owner() {
    let keys = keys();
    let first = keys.create(reports_key()).await.expect("created");
    keys.create(NewApiKey::new("svc-billing", "invoices"))
        .await
        .expect("created");
    let all = keys.list(None).await.expect("store");
    assert_eq!(all.len(), 2);
    let reports = keys.list(Some("svc-reports")).await.expect("store");
    assert_eq!(reports, std::slice::from_ref(&first.info));
    let listed = serde_json::to_string(&all).expect("json");
    assert!(!listed.contains(first.key.expose()));
}

#[tokio::test]
async fn last_use_is_recorded_once_a_minute() {
    let keys = keys();
    let created = keys.create(reports_key()).await.expect("created");
    assert_eq!(created.info.last_used_at, None);
    keys.verify(created.key.expose()).await.expect("verified");
    let used = keys
        .get(&created.info.id)
        .await
        .expect("store")
        .expect("key");
    let first_use = used.last_used_at.expect("recorded");
    assert!(first_use >= created.info.created_at);
}

#[tokio::test]
async fn invalid_fields_are_refused() {
    let keys = keys();
    for new in [
        NewApiKey::new("", "x"),
        NewApiKey::new("svc", ""),
        NewApiKey::new("svc", "a\nb"),
        NewApiKey::new("svc", "x".repeat(201)),
        NewApiKey::new("svc", "é".repeat(201)),
        NewApiKey::new("svc", "a\u{85}b"),
        NewApiKey::new("svc", "x").with_scopes(&[""]),
    ] {
        assert!(matches!(
            keys.create(new).await,
            Err(CreateKeyError::Invalid(_))
        ));
    }
}

/// The limit counts characters, as its message says: 200 of them are taken whatever their
/// bytes.
#[tokio::test]
async fn long_fields_are_counted_in_characters() {
    let keys = keys();
    for name in ["x".repeat(200), "é".repeat(200), "🔑".repeat(200)] {
        let created = keys
            .create(NewApiKey::new("svc", name.clone()))
            .await
            .expect("200 characters are accepted");
        assert_eq!(created.info.name, name);
    }
}

#[tokio::test]
async fn a_full_memory_store_refuses_new_keys() {
    let keys = ApiKeys::new(
        Arc::new(MemoryApiKeyStore::with_max_keys(1)),
        DEFAULT_PREFIX,
    );
    keys.create(reports_key()).await.expect("created");
    assert!(matches!(
        keys.create(reports_key()).await,
        Err(CreateKeyError::Store(_))
    ));
}
