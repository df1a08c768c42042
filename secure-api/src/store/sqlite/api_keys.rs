//! The [`ApiKeyStore`] on SQLite: one row per key in `api_keys` (migration
//! `0002_api_keys.sql`), found by its id, the key itself never stored.
//!
//! Each operation is one statement, so it is atomic on its own: an insert that finds the id
//! taken changes nothing, and a revocation keeps the first time whoever revokes second.

use super::{SqliteTokenStore, from_sql, to_sql, unavailable};
use crate::apikey::{ApiKeyInfo, ApiKeyRecord, ApiKeyStore};
use crate::store::{BoxFuture, StoreUnavailable};
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;

/// The columns a record is read from, in [`record_from`]'s order.
const COLUMNS: &str = "id, owner, name, roles, scopes, hash, created_at, expires_at, \
                       revoked_at, last_used_at";

impl SqliteTokenStore {
    async fn insert_api_key(&self, record: &ApiKeyRecord) -> Result<(), StoreUnavailable> {
        let info = &record.info;
        // DO NOTHING rather than a constraint error: a taken id is told apart from a
        // database that failed, and the existing row is left exactly as it was.
        let inserted = sqlx::query(
            "INSERT INTO api_keys (id, owner, name, roles, scopes, hash, created_at, \
             expires_at, revoked_at, last_used_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&info.id)
        .bind(&info.owner)
        .bind(&info.name)
        .bind(encode_list(&info.roles)?)
        .bind(encode_list(&info.scopes)?)
        .bind(record.hash.as_slice())
        .bind(to_sql(info.created_at))
        .bind(info.expires_at.map(to_sql))
        .bind(info.revoked_at.map(to_sql))
        .bind(info.last_used_at.map(to_sql))
        .execute(&self.pool)
        .await
        .map_err(unavailable("insert an API key"))?;
        if inserted.rows_affected() == 0 {
            return Err(StoreUnavailable(
                "sqlite store: an API key with this id exists".into(),
            ));
        }
        Ok(())
    }

    async fn find_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreUnavailable> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable("find an API key"))?;
        row.as_ref().map(record_from).transpose()
    }

    async fn list_api_keys(
        &self,
        owner: Option<&str>,
    ) -> Result<Vec<ApiKeyRecord>, StoreUnavailable> {
        let rows = match owner {
            Some(owner) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM api_keys WHERE owner = ?1 ORDER BY created_at, id"
                ))
                .bind(owner)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM api_keys ORDER BY created_at, id"
                ))
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(unavailable("list API keys"))?;
        rows.iter().map(record_from).collect()
    }

    async fn revoke_api_key(&self, id: &str, at: u64) -> Result<bool, StoreUnavailable> {
        let revoked =
            sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1")
                .bind(id)
                .bind(to_sql(at))
                .execute(&self.pool)
                .await
                .map_err(unavailable("revoke an API key"))?;
        Ok(revoked.rows_affected() > 0)
    }

    async fn touch_api_key(&self, id: &str, at: u64) -> Result<(), StoreUnavailable> {
        sqlx::query("UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1")
            .bind(id)
            .bind(to_sql(at))
            .execute(&self.pool)
            .await
            .map_err(unavailable("record an API key's use"))?;
        Ok(())
    }
}

impl ApiKeyStore for SqliteTokenStore {
    fn insert_key<'a>(
        &'a self,
        record: &'a ApiKeyRecord,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        Box::pin(self.insert_api_key(record))
    }

    fn find_key<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ApiKeyRecord>, StoreUnavailable>> {
        Box::pin(self.find_api_key(id))
    }

    fn list_keys<'a>(
        &'a self,
        owner: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<ApiKeyRecord>, StoreUnavailable>> {
        Box::pin(self.list_api_keys(owner))
    }

    fn revoke_key<'a>(
        &'a self,
        id: &'a str,
        at: u64,
    ) -> BoxFuture<'a, Result<bool, StoreUnavailable>> {
        Box::pin(self.revoke_api_key(id, at))
    }

    fn touch_key<'a>(
        &'a self,
        id: &'a str,
        at: u64,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        Box::pin(self.touch_api_key(id, at))
    }
}

fn record_from(row: &SqliteRow) -> Result<ApiKeyRecord, StoreUnavailable> {
    fn get<'r, T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(
        row: &'r SqliteRow,
        column: &str,
    ) -> Result<T, StoreUnavailable> {
        row.try_get(column).map_err(unavailable("read an API key"))
    }
    let time = |column: &str| get::<Option<i64>>(row, column).map(|at| at.map(from_sql));
    let hash: Vec<u8> = get(row, "hash")?;
    let hash = <[u8; 32]>::try_from(hash.as_slice()).map_err(|_| {
        StoreUnavailable("sqlite store: a stored API key hash is not 32 bytes".into())
    })?;
    Ok(ApiKeyRecord {
        info: ApiKeyInfo {
            id: get(row, "id")?,
            owner: get(row, "owner")?,
            name: get(row, "name")?,
            roles: decode_list(&get::<String>(row, "roles")?)?,
            scopes: decode_list(&get::<String>(row, "scopes")?)?,
            created_at: from_sql(get(row, "created_at")?),
            expires_at: time("expires_at")?,
            revoked_at: time("revoked_at")?,
            last_used_at: time("last_used_at")?,
        },
        hash,
    })
}

fn encode_list(items: &[String]) -> Result<String, StoreUnavailable> {
    serde_json::to_string(items).map_err(|error| {
        StoreUnavailable(format!(
            "sqlite store: cannot encode an API key's roles or scopes ({:?} error)",
            error.classify()
        ))
    })
}

fn decode_list(json: &str) -> Result<Vec<String>, StoreUnavailable> {
    serde_json::from_str(json).map_err(|error| {
        StoreUnavailable(format!(
            "sqlite store: an API key's stored roles or scopes are not valid ({:?} error)",
            error.classify()
        ))
    })
}
