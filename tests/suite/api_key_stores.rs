//! Every [`ApiKeyStore`] through `Security::api_keys`, with one scenario: the in-memory store,
//! SQLite on a real file (reopened), a real `redis-server` and a real Redis Cluster. Each
//! must keep hashes only, refuse what the memory store refuses, and — on Redis — share keys
//! and revocations between two instances at once, every API key on one node of a cluster.

use crate::common::{AUDIENCE, ISSUER};
use crate::redis_server::{RedisCluster, RedisServer};
use secure_api::Security;
use secure_api::apikey::{ApiKeyStore, KeyRejection, MemoryApiKeyStore, NewApiKey};
use secure_api::store::{RedisStore, SqliteTokenStore};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// The length of a key's secret part with its checksum: what must never be stored.
const SECRET_TAIL: usize = 46;

fn security(store: impl ApiKeyStore) -> Security {
    Security::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .ephemeral_key()
        .api_key_store(store)
        .build()
        .expect("valid configuration")
}

fn secret_of(key: &str) -> &str {
    &key[key.len() - SECRET_TAIL..]
}

/// The same key id with another secret, and a checksum that matches it: a key that only the
/// store can tell from the real one.
fn forged(key: &str) -> String {
    let body = &key[..key.len() - SECRET_TAIL];
    let body = format!("{body}{}", "Q".repeat(40));
    let hash = Sha256::digest(body.as_bytes());
    let mut value = u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]);
    let digits = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut checksum = [b'0'; 6];
    for digit in checksum.iter_mut().rev() {
        *digit = digits[(value % 62) as usize];
        value /= 62;
    }
    format!("{body}{}", String::from_utf8_lossy(&checksum))
}

/// What every store must do, through `Security::api_keys` and the store itself. Returns every
/// key made, for the caller to look for their secrets in the store's raw state.
async fn scenario<S: ApiKeyStore + Clone>(store: S, name: &str) -> Vec<String> {
    let security = security(store.clone());
    let keys = security.api_keys();
    let mut made = Vec::new();

    // Create, verify, and what is stored.
    let reports = keys
        .create(
            NewApiKey::new("svc-reports", "nightly export")
                .with_roles(&["service"])
                .with_scopes(&["reports:read"]),
        )
        .await
        .unwrap_or_else(|error| panic!("{name}: create: {error}"));
    let key = reports.key.expose().to_owned();
    made.push(key.clone());
    let id = reports.info.id.clone();
    let verified = keys.verify(&key).await.expect("a fresh key verifies");
    assert_eq!(verified.id, id, "{name}");
    assert_eq!(verified.owner, "svc-reports", "{name}");
    assert_eq!(verified.roles, ["service"], "{name}");
    assert_eq!(verified.scopes, ["reports:read"], "{name}");
    let record = store.find_key(&id).await.expect("find").expect("stored");
    assert_ne!(record.hash.as_slice(), key.as_bytes(), "{name}");
    let sha256: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    assert_eq!(record.hash, sha256, "{name}: the SHA-256 of the key");
    let fields = serde_json::to_string(&record.info).expect("json");
    assert!(!fields.contains(secret_of(&key)), "{name}: {fields}");
    assert!(!format!("{record:?}").contains(secret_of(&key)), "{name}");
    assert!(
        record
            .info
            .last_used_at
            .is_some_and(|at| at >= record.info.created_at),
        "{name}: a verified key records its use: {:?}",
        record.info
    );

    // Listings, by owner and of everyone, oldest first.
    let billing = keys
        .create(NewApiKey::new("svc-billing", "invoices"))
        .await
        .expect("create");
    made.push(billing.key.expose().to_owned());
    let of_reports = keys.list(Some("svc-reports")).await.expect("list");
    assert_eq!(
        of_reports.iter().map(|info| &info.id).collect::<Vec<_>>(),
        [&id],
        "{name}"
    );
    assert_eq!(of_reports[0].scopes, ["reports:read"], "{name}");
    let everyone = keys.list(None).await.expect("list");
    let ids: BTreeSet<&str> = everyone.iter().map(|info| info.id.as_str()).collect();
    assert_eq!(
        ids,
        BTreeSet::from([id.as_str(), billing.info.id.as_str()]),
        "{name}"
    );
    assert!(
        everyone.is_sorted_by_key(|info| (info.created_at, info.id.clone())),
        "{name}: {everyone:?}"
    );
    assert!(keys.list(Some("nobody")).await.expect("list").is_empty());

    // A wrong secret under the right id; then revocation, which keeps its first time.
    assert!(
        matches!(
            keys.verify(&forged(&key)).await,
            Err(KeyRejection::WrongSecret)
        ),
        "{name}"
    );
    assert!(keys.revoke(&id).await.expect("revoke"), "{name}");
    assert!(
        matches!(keys.verify(&key).await, Err(KeyRejection::Revoked)),
        "{name}"
    );
    let first = store
        .find_key(&id)
        .await
        .expect("find")
        .expect("kept")
        .info
        .revoked_at
        .expect("revoked");
    // Revoked again later — by the store as told, and through `Security` — it keeps the
    // first time.
    assert!(store.revoke_key(&id, first + 100).await.expect("revoke"));
    let again = keys.get(&id).await.expect("get").expect("kept");
    assert_eq!(
        again.revoked_at,
        Some(first),
        "{name}: the first time stays"
    );
    assert!(keys.revoke(&id).await.expect("revoke again"), "{name}");
    let again = keys.get(&id).await.expect("get").expect("kept");
    assert_eq!(
        again.revoked_at,
        Some(first),
        "{name}: the first time stays"
    );
    assert!(!keys.revoke("no-such-key").await.expect("revoke"), "{name}");

    // Expiry.
    let expired = keys
        .create(NewApiKey::new("svc-reports", "gone").expires_in(Duration::ZERO))
        .await
        .expect("create");
    made.push(expired.key.expose().to_owned());
    assert!(
        matches!(
            keys.verify(expired.key.expose()).await,
            Err(KeyRejection::Expired)
        ),
        "{name}"
    );

    // Last use, written by the store as told; an unknown id is no error and no record.
    let at = crate::common::now() as u64 + 3600;
    store.touch_key(&billing.info.id, at).await.expect("touch");
    let touched = keys
        .get(&billing.info.id)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(touched.last_used_at, Some(at), "{name}");
    store.touch_key("no-such-key", at).await.expect("touch");
    assert!(store.find_key("no-such-key").await.expect("find").is_none());

    // An id that is taken is refused, and the key it names is left as it was.
    let mut duplicate = store
        .find_key(&billing.info.id)
        .await
        .expect("find")
        .expect("kept");
    let original = duplicate.clone();
    duplicate.info.name = "overwritten".into();
    duplicate.info.owner = "mallory".into();
    duplicate.hash = [0; 32];
    assert!(
        store.insert_key(&duplicate).await.is_err(),
        "{name}: a taken id"
    );
    assert_eq!(
        store.find_key(&billing.info.id).await.expect("find"),
        Some(original),
        "{name}"
    );
    assert!(keys.list(Some("mallory")).await.expect("list").is_empty());
    keys.verify(billing.key.expose())
        .await
        .expect("the key still verifies");

    // Twenty keys made at once are all kept.
    let creates: Vec<_> = (0..20)
        .map(|n| {
            let security = security.clone();
            tokio::spawn(async move {
                security
                    .api_keys()
                    .create(NewApiKey::new("svc-batch", format!("batch {n}")))
                    .await
                    .expect("create")
            })
        })
        .collect();
    let mut batch = BTreeSet::new();
    for create in creates {
        let created = create.await.expect("task");
        made.push(created.key.expose().to_owned());
        batch.insert(created.info.id);
    }
    let listed: BTreeSet<String> = keys
        .list(Some("svc-batch"))
        .await
        .expect("list")
        .into_iter()
        .map(|info| info.id)
        .collect();
    assert_eq!(listed.len(), 20, "{name}");
    assert_eq!(listed, batch, "{name}");
    assert_eq!(keys.list(None).await.expect("list").len(), 23, "{name}");

    made
}

fn assert_no_secret(name: &str, raw: &str, made: &[String]) {
    assert!(!raw.is_empty(), "{name}: nothing read back");
    for key in made {
        assert!(
            !raw.contains(secret_of(key)),
            "{name}: a secret is stored: {raw}"
        );
    }
}

#[tokio::test]
async fn the_memory_store() {
    let store = Arc::new(MemoryApiKeyStore::new());
    let made = scenario(store.clone(), "memory").await;
    let raw = format!("{:?}", store.list_keys(None).await.expect("list"));
    assert_no_secret("memory", &raw, &made);
}

#[tokio::test]
async fn sqlite_on_a_file_that_is_reopened() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("state.db");
    let path = path.to_str().expect("utf-8 path");
    let store = SqliteTokenStore::open(path).await.expect("open");
    let made = scenario(store.clone(), "sqlite").await;

    // Every column of every row, as SQLite holds it.
    let rows: Vec<(String, String, String, String, String, Vec<u8>)> =
        sqlx::query_as("SELECT id, owner, name, roles, scopes, hash FROM api_keys")
            .fetch_all(store.pool())
            .await
            .expect("raw rows");
    assert_eq!(rows.len(), 23);
    let raw = format!("{rows:?}");
    assert_no_secret("sqlite", &raw, &made);
    assert!(rows.iter().all(|row| row.5.len() == 32));
    store.close().await;

    let reopened = SqliteTokenStore::open(path).await.expect("reopen");
    let security = security(reopened.clone());
    let billing = &made[1];
    let info = security
        .api_keys()
        .verify(billing)
        .await
        .expect("a key verifies after a restart");
    assert_eq!(info.owner, "svc-billing");
    assert!(matches!(
        security.api_keys().verify(&made[0]).await,
        Err(KeyRejection::Revoked)
    ));
    assert_eq!(
        security.api_keys().list(None).await.expect("list").len(),
        23
    );
}

/// Every key under `prefix` on the Redis at `url`, with its TTL and contents.
fn redis_dump(url: &str, prefix: &str) -> Vec<(String, i64, String)> {
    let client = redis::Client::open(url).expect("url");
    let mut connection = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .expect("connect");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut connection)
        .expect("KEYS");
    keys.into_iter()
        .map(|key| {
            let ttl: i64 = redis::cmd("TTL")
                .arg(&key)
                .query(&mut connection)
                .expect("TTL");
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query(&mut connection)
                .expect("TYPE");
            let contents: Vec<String> = match kind.as_str() {
                "hash" => redis::cmd("HGETALL").arg(&key).query(&mut connection),
                "zset" => redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query(&mut connection),
                other => panic!("{key}: unexpected type {other}"),
            }
            .expect("contents");
            (key, ttl, contents.join(" "))
        })
        .collect()
}

/// The API key state of a Redis: one hash tag, nothing that expires, no secret.
fn assert_redis_state(name: &str, dump: &[(String, i64, String)], prefix: &str, made: &[String]) {
    let tag = format!("{prefix}{{apikeys}}:");
    assert!(
        dump.iter().all(|(key, _, _)| key.starts_with(&tag)),
        "{name}: {dump:?}"
    );
    assert!(
        dump.iter().all(|(_, ttl, _)| *ttl == -1),
        "{name}: API keys do not expire"
    );
    assert_no_secret(name, &format!("{dump:?}"), made);
}

/// Two instances — two `Security` values on two stores built separately — see each other's
/// keys and revocations at once.
async fn two_instances(a: RedisStore, b: RedisStore, name: &str) {
    let (a, b) = (security(a), security(b));
    let made_on_a = a
        .api_keys()
        .create(NewApiKey::new("svc-shared", "made on a").with_scopes(&["reports:read"]))
        .await
        .expect("create");
    let key = made_on_a.key.expose();
    let seen = b.api_keys().verify(key).await.expect("verified on b");
    assert_eq!(seen.scopes, ["reports:read"], "{name}");
    let made_on_b = b
        .api_keys()
        .create(NewApiKey::new("svc-shared", "made on b"))
        .await
        .expect("create");
    let listed = a.api_keys().list(Some("svc-shared")).await.expect("list");
    assert_eq!(listed.len(), 2, "{name}: {listed:?}");
    assert!(
        b.api_keys()
            .revoke(&made_on_a.info.id)
            .await
            .expect("revoke")
    );
    assert!(
        matches!(a.api_keys().verify(key).await, Err(KeyRejection::Revoked)),
        "{name}: revoked on b, refused on a at once"
    );
    a.api_keys()
        .verify(made_on_b.key.expose())
        .await
        .expect("made on b, verified on a");
}

#[tokio::test]
async fn redis_single_node() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let prefix = "apikeys-single:";
    let made = scenario(redis.store(prefix), "redis").await;
    let dump = redis_dump(&redis.url(), prefix);
    assert_redis_state("redis", &dump, prefix, &made);
}

#[tokio::test]
async fn redis_two_instances_share_keys_and_revocations() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let prefix = "apikeys-fleet:";
    two_instances(redis.store(prefix), redis.store(prefix), "redis").await;
}

#[tokio::test]
async fn redis_cluster_on_one_node_and_shared_by_two_instances() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let prefix = "apikeys-cluster:";
    let made = scenario(cluster.store(prefix), "cluster").await;
    two_instances(
        cluster.store("apikeys-cluster-fleet:"),
        cluster.store("apikeys-cluster-fleet:"),
        "cluster",
    )
    .await;

    // Every API key on the one master that owns the tag.
    let (owner, _) = cluster.owner_of(&format!("{prefix}{{apikeys}}:records"));
    let pattern = format!("{prefix}*");
    for master in cluster.masters() {
        let keys: Vec<String> = cluster.query(master, &["KEYS", &pattern]);
        if master == owner.port {
            assert_eq!(keys.len(), 7, "4 hashes and sets, 3 owners: {keys:?}");
        } else {
            assert!(keys.is_empty(), "master {master} holds {keys:?}");
        }
    }
    let dump = redis_dump(&format!("redis://127.0.0.1:{}/", owner.port), prefix);
    assert_redis_state("cluster", &dump, prefix, &made);
}
