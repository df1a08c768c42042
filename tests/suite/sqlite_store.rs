//! `SqliteTokenStore` against a real SQLite file: the semantics of `MemoryTokenStore`,
//! persistence across reopening, and atomic spends under concurrency.

use secure_api::Principal;
use secure_api::store::SqliteTokenStore;
use secure_api::tokens::{RefreshRecord, Spend, TokenStore};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tempfile::TempDir;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn record(hash: &str, family: &str, subject: &str, expires_at: u64) -> RefreshRecord {
    RefreshRecord {
        hash: hash.into(),
        family: family.into(),
        principal: Principal::new(subject, &["pwd", "otp"])
            .with_roles(&["admin"])
            .with_scopes(&["notes:read"]),
        expires_at,
    }
}

/// A fresh database file in its own temporary directory (kept alive by the `TempDir`).
fn database() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("tokens.db");
    (dir, path)
}

async fn open(path: &std::path::Path) -> SqliteTokenStore {
    SqliteTokenStore::open(path.to_str().expect("utf-8 path"))
        .await
        .expect("open the store")
}

#[tokio::test]
async fn open_creates_the_file_and_accepts_a_url() {
    let (dir, path) = database();
    assert!(!path.exists());
    let _store = open(&path).await;
    assert!(path.exists());

    let url = format!("sqlite://{}", dir.path().join("by-url.db").display());
    let store = SqliteTokenStore::open(&url).await.expect("open by URL");
    store
        .insert(record("a", "f1", "alice", now() + 60))
        .await
        .expect("insert");
    assert!(dir.path().join("by-url.db").exists());
}

#[tokio::test]
async fn spends_once_and_revokes_the_family_on_reuse() {
    let (_dir, path) = database();
    let store = open(&path).await;
    let later = now() + 60;
    let a = record("a", "f1", "alice", later);
    store.insert(a.clone()).await.expect("insert");
    store
        .insert(record("b", "f1", "alice", later))
        .await
        .expect("insert");

    // The record comes back whole, principal included.
    assert_eq!(
        store.spend("a", now()).await.expect("spend"),
        Spend::Fresh(a)
    );
    assert_eq!(
        store.spend("a", now()).await.expect("spend"),
        Spend::Reused {
            family: "f1".into(),
            subject: "alice".into()
        }
    );
    // The family is revoked: its unspent sibling is dead too, and so is the reused token.
    assert_eq!(
        store.spend("b", now()).await.expect("spend"),
        Spend::Invalid
    );
    assert_eq!(
        store.spend("a", now()).await.expect("spend"),
        Spend::Invalid
    );
    assert_eq!(
        store.spend("nope", now()).await.expect("spend"),
        Spend::Invalid
    );
}

#[tokio::test]
async fn expired_tokens_are_invalid() {
    let (_dir, path) = database();
    let store = open(&path).await;
    store
        .insert(record("c", "f2", "alice", now()))
        .await
        .expect("insert");
    assert_eq!(
        store.spend("c", now()).await.expect("spend"),
        Spend::Invalid
    );

    // Expiry is judged at the `now` given: live before, dead at and after `expires_at`.
    let expires_at = now() + 60;
    store
        .insert(record("d", "f3", "alice", expires_at))
        .await
        .expect("insert");
    assert_eq!(
        store.spend("d", expires_at).await.expect("spend"),
        Spend::Invalid
    );
    assert!(matches!(
        store.spend("d", expires_at - 1).await,
        Ok(Spend::Fresh(_))
    ));
    // Spent and then expired is Invalid, not Reused: the family is not revoked for it.
    assert_eq!(
        store.spend("d", expires_at).await.expect("spend"),
        Spend::Invalid
    );
    store
        .insert(record("e", "f3", "alice", expires_at))
        .await
        .expect("insert");
    assert!(matches!(store.spend("e", now()).await, Ok(Spend::Fresh(_))));
}

#[tokio::test]
async fn revoking_a_family_invalidates_its_tokens() {
    let (_dir, path) = database();
    let store = open(&path).await;
    let later = now() + 60;
    store
        .insert(record("a", "f1", "alice", later))
        .await
        .expect("insert");
    store
        .insert(record("b", "f2", "alice", later))
        .await
        .expect("insert");
    store.revoke_family("f1").await.expect("revoke");
    store.revoke_family("f1").await.expect("revoke twice");
    assert_eq!(
        store.spend("a", now()).await.expect("spend"),
        Spend::Invalid
    );
    assert!(matches!(store.spend("b", now()).await, Ok(Spend::Fresh(_))));
}

#[tokio::test]
async fn revoked_access_tokens_expire_from_the_list() {
    let (_dir, path) = database();
    let store = open(&path).await;
    store.revoke_access("j1", now() + 60).await.expect("revoke");
    assert!(store.is_revoked("j1", now()).await.expect("check"));
    assert!(!store.is_revoked("j1", now() + 60).await.expect("check"));
    assert!(!store.is_revoked("j1", now() + 61).await.expect("check"));
    assert!(!store.is_revoked("j2", now()).await.expect("check"));
    // Revoking again replaces the deadline.
    store
        .revoke_access("j1", now() + 120)
        .await
        .expect("revoke");
    assert!(store.is_revoked("j1", now() + 61).await.expect("check"));
}

#[tokio::test]
async fn family_of_answers_only_the_owner() {
    let (_dir, path) = database();
    let store = open(&path).await;
    store
        .insert(record("a", "f1", "alice", now() + 60))
        .await
        .expect("insert");
    assert_eq!(
        store.family_of("a", "alice").await.expect("family"),
        Some("f1".into())
    );
    assert_eq!(store.family_of("a", "mallory").await.expect("family"), None);
    assert_eq!(
        store.family_of("nope", "alice").await.expect("family"),
        None
    );
}

#[tokio::test]
async fn state_survives_reopening_the_file() {
    let (_dir, path) = database();
    let later = now() + 60;
    {
        let store = open(&path).await;
        store
            .insert(record("a", "f1", "alice", later))
            .await
            .expect("insert");
        store
            .insert(record("b", "f1", "alice", later))
            .await
            .expect("insert");
        store
            .insert(record("c", "f2", "bob", later))
            .await
            .expect("insert");
        store
            .insert(record("d", "f3", "bob", later))
            .await
            .expect("insert");
        assert!(matches!(store.spend("a", now()).await, Ok(Spend::Fresh(_))));
        assert!(matches!(store.spend("c", now()).await, Ok(Spend::Fresh(_))));
        store.revoke_family("f3").await.expect("revoke");
        store.revoke_access("j1", later).await.expect("revoke");
    }

    // Opening again runs the migrations again (a no-op) and finds everything.
    let store = open(&path).await;
    assert!(store.is_revoked("j1", now()).await.expect("check"));
    assert_eq!(
        store.family_of("b", "alice").await.expect("family"),
        Some("f1".into())
    );
    assert_eq!(
        store.spend("d", now()).await.expect("spend"),
        Spend::Invalid
    );
    assert_eq!(
        store.spend("a", now()).await.expect("spend"),
        Spend::Reused {
            family: "f1".into(),
            subject: "alice".into()
        }
    );
    store.close().await;
    drop(store);

    // The revocation made by that reuse persisted too.
    let store = open(&path).await;
    assert_eq!(
        store.spend("b", now()).await.expect("spend"),
        Spend::Invalid
    );
    assert_eq!(
        store.spend("c", now()).await.expect("spend"),
        Spend::Reused {
            family: "f2".into(),
            subject: "bob".into()
        }
    );
}

#[tokio::test]
async fn inserting_purges_expired_rows() {
    let (_dir, path) = database();
    let store = open(&path).await;
    let before = now() - 10;
    store
        .insert(record("old", "f1", "alice", now() - 1))
        .await
        .expect("insert");
    store
        .revoke_access("j-old", now() - 1)
        .await
        .expect("revoke");
    // Still there, as seen from an earlier `now` or by `family_of`, which ignores expiry.
    assert!(store.is_revoked("j-old", before).await.expect("check"));
    assert_eq!(
        store.family_of("old", "alice").await.expect("family"),
        Some("f1".into())
    );

    store
        .insert(record("new", "f2", "alice", now() + 60))
        .await
        .expect("insert");
    assert!(!store.is_revoked("j-old", before).await.expect("check"));
    assert_eq!(store.family_of("old", "alice").await.expect("family"), None);
    assert_eq!(
        store.family_of("new", "alice").await.expect("family"),
        Some("f2".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_spends_of_one_token_yield_exactly_one_fresh() {
    let (_dir, path) = database();
    let store = Arc::new(open(&path).await);
    store
        .insert(record("a", "f1", "alice", now() + 60))
        .await
        .expect("insert");

    let spends: Vec<_> = (0..20)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.spend("a", now()).await })
        })
        .collect();
    let mut fresh = 0;
    let mut reused = 0;
    for spend in spends {
        match spend.await.expect("task").expect("spend") {
            Spend::Fresh(_) => fresh += 1,
            Spend::Reused { .. } => reused += 1,
            Spend::Invalid => {}
        }
    }
    assert_eq!(fresh, 1, "exactly one concurrent spend may succeed");
    // The first reuse revokes the family; later ones find it revoked.
    assert_eq!(reused, 1);
    assert_eq!(
        store.spend("a", now()).await.expect("spend"),
        Spend::Invalid
    );
}
