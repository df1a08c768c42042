//! The [`TokenStore`] on SQLite: refresh tokens by their hash, revoked families and revoked
//! access tokens (migration `0001_token_store.sql`).

use super::{SqliteTokenStore, from_sql, to_sql, unavailable};
use crate::store::{BoxFuture, StoreUnavailable};
use crate::time::now;
use crate::tokens::{Principal, RefreshRecord, Spend, TokenStore};
use sqlx::Row as _;

impl SqliteTokenStore {
    async fn insert_record(&self, record: RefreshRecord) -> Result<(), StoreUnavailable> {
        let principal = encode_principal(&record.principal)?;
        let now = to_sql(now());
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(unavailable("insert"))?;
        sqlx::query("DELETE FROM refresh_tokens WHERE expires_at <= ?1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(unavailable("purge expired refresh tokens"))?;
        sqlx::query("DELETE FROM revoked_access_tokens WHERE until <= ?1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(unavailable("purge expired access-token revocations"))?;
        // As in the memory store, inserting a known hash replaces the record, unspent.
        sqlx::query(
            "INSERT INTO refresh_tokens (hash, family, principal, expires_at, spent) \
             VALUES (?1, ?2, ?3, ?4, 0) \
             ON CONFLICT (hash) DO UPDATE SET family = excluded.family, \
             principal = excluded.principal, expires_at = excluded.expires_at, spent = 0",
        )
        .bind(&record.hash)
        .bind(&record.family)
        .bind(principal)
        .bind(to_sql(record.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(unavailable("insert"))?;
        tx.commit().await.map_err(unavailable("insert"))
    }

    async fn spend_token(&self, hash: &str, now: u64) -> Result<Spend, StoreUnavailable> {
        let now = to_sql(now);
        // IMMEDIATE takes the write lock up front: a concurrent spend of the same token waits
        // here, then sees it spent.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(unavailable("spend"))?;
        let fresh = sqlx::query(
            "UPDATE refresh_tokens SET spent = 1 \
             WHERE hash = ?1 AND spent = 0 AND expires_at > ?2 \
             AND family NOT IN (SELECT family FROM revoked_families) \
             RETURNING family, principal, expires_at",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(unavailable("spend"))?;
        if let Some(row) = fresh {
            let family: String = row.try_get("family").map_err(unavailable("spend"))?;
            let principal: String = row.try_get("principal").map_err(unavailable("spend"))?;
            let expires_at: i64 = row.try_get("expires_at").map_err(unavailable("spend"))?;
            // Decoded before the commit: a record that cannot be read stays unspent.
            let principal = decode_principal(&principal)?;
            tx.commit().await.map_err(unavailable("spend"))?;
            return Ok(Spend::Fresh(RefreshRecord {
                hash: hash.to_owned(),
                family,
                principal,
                expires_at: from_sql(expires_at),
            }));
        }
        // Not spendable: unknown, expired, of a revoked family — or spent before (reuse).
        let prior = sqlx::query(
            "SELECT family, principal, spent, \
             family IN (SELECT family FROM revoked_families) AS revoked \
             FROM refresh_tokens WHERE hash = ?1 AND expires_at > ?2",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(unavailable("spend"))?;
        let reused = match prior {
            Some(row) => {
                let spent: i64 = row.try_get("spent").map_err(unavailable("spend"))?;
                let revoked: i64 = row.try_get("revoked").map_err(unavailable("spend"))?;
                if spent != 0 && revoked == 0 {
                    let family: String = row.try_get("family").map_err(unavailable("spend"))?;
                    let principal: String =
                        row.try_get("principal").map_err(unavailable("spend"))?;
                    Some((family, decode_principal(&principal)?.subject))
                } else {
                    // Revoked family; an unspent live token would have been spent above.
                    None
                }
            }
            None => None,
        };
        let Some((family, subject)) = reused else {
            tx.rollback().await.map_err(unavailable("spend"))?;
            return Ok(Spend::Invalid);
        };
        sqlx::query("INSERT INTO revoked_families (family) VALUES (?1) ON CONFLICT DO NOTHING")
            .bind(&family)
            .execute(&mut *tx)
            .await
            .map_err(unavailable("revoke a reused family"))?;
        tx.commit()
            .await
            .map_err(unavailable("revoke a reused family"))?;
        Ok(Spend::Reused { family, subject })
    }

    async fn revoke_family_now(&self, family: &str) -> Result<(), StoreUnavailable> {
        sqlx::query("INSERT INTO revoked_families (family) VALUES (?1) ON CONFLICT DO NOTHING")
            .bind(family)
            .execute(&self.pool)
            .await
            .map_err(unavailable("revoke a family"))?;
        Ok(())
    }

    async fn family_of_hash(
        &self,
        hash: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreUnavailable> {
        let row = sqlx::query("SELECT family, principal FROM refresh_tokens WHERE hash = ?1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable("look up a family"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let family: String = row
            .try_get("family")
            .map_err(unavailable("look up a family"))?;
        let principal: String = row
            .try_get("principal")
            .map_err(unavailable("look up a family"))?;
        Ok((decode_principal(&principal)?.subject == subject).then_some(family))
    }

    async fn revoke_access_token(&self, jti: &str, until: u64) -> Result<(), StoreUnavailable> {
        sqlx::query(
            "INSERT INTO revoked_access_tokens (jti, until) VALUES (?1, ?2) \
             ON CONFLICT (jti) DO UPDATE SET until = excluded.until",
        )
        .bind(jti)
        .bind(to_sql(until))
        .execute(&self.pool)
        .await
        .map_err(unavailable("revoke an access token"))?;
        Ok(())
    }

    async fn access_token_is_revoked(&self, jti: &str, now: u64) -> Result<bool, StoreUnavailable> {
        let revoked: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = ?1 AND until > ?2)",
        )
        .bind(jti)
        .bind(to_sql(now))
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable("check an access token"))?;
        Ok(revoked != 0)
    }
}

impl TokenStore for SqliteTokenStore {
    fn insert(&self, record: RefreshRecord) -> BoxFuture<'_, Result<(), StoreUnavailable>> {
        Box::pin(self.insert_record(record))
    }

    fn spend<'a>(
        &'a self,
        hash: &'a str,
        now: u64,
    ) -> BoxFuture<'a, Result<Spend, StoreUnavailable>> {
        Box::pin(self.spend_token(hash, now))
    }

    fn revoke_family<'a>(&'a self, family: &'a str) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        Box::pin(self.revoke_family_now(family))
    }

    fn family_of<'a>(
        &'a self,
        hash: &'a str,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StoreUnavailable>> {
        Box::pin(self.family_of_hash(hash, subject))
    }

    fn revoke_access<'a>(
        &'a self,
        jti: &'a str,
        until: u64,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        Box::pin(self.revoke_access_token(jti, until))
    }

    fn is_revoked<'a>(
        &'a self,
        jti: &'a str,
        now: u64,
    ) -> BoxFuture<'a, Result<bool, StoreUnavailable>> {
        Box::pin(self.access_token_is_revoked(jti, now))
    }
}

fn encode_principal(principal: &Principal) -> Result<String, StoreUnavailable> {
    serde_json::to_string(principal).map_err(|error| {
        StoreUnavailable(format!(
            "sqlite store: cannot encode a principal ({:?} error)",
            error.classify()
        ))
    })
}

fn decode_principal(json: &str) -> Result<Principal, StoreUnavailable> {
    serde_json::from_str(json).map_err(|error| {
        StoreUnavailable(format!(
            "sqlite store: a stored principal is not valid ({:?} error at line {}, \
             column {})",
            error.classify(),
            error.line(),
            error.column()
        ))
    })
}
