//! The [`ApiKeyStore`] on Redis: every API key under the one hash tag `apikeys`, so that
//! each operation is one script on one slot, on a single Redis as on a cluster.
//!
//! What never changes of a key (owner, name, roles, scopes, times, the SHA-256 of the key in
//! hex — never the key) is one JSON field per id of the `records` hash, written once with
//! `HSETNX`; revocation and last-use times are fields of hashes of their own, so that
//! revoking is an `HSETNX` (the first time stays) and no script has to rewrite JSON. Sorted
//! sets of ids scored by creation time, one for everyone and one per owner, give listings
//! their order.
//!
//! **API keys do not expire in Redis.** They are records an administrator made, revoked ones
//! kept for audit: unlike every other key of the store, none of them has a TTL, and they stay
//! until removed by hand. A key's own expiry (`expires_at`) is checked when it is verified.

use super::RedisStore;
use super::keys::ApiKeyKeys;
use super::scripts::{FIND_API_KEY, INSERT_API_KEY, LIST_API_KEYS, REVOKE_API_KEY, TOUCH_API_KEY};
use crate::apikey::{ApiKeyInfo, ApiKeyRecord, ApiKeyStore};
use crate::store::{BoxFuture, StoreUnavailable};
use serde::{Deserialize, Serialize};

/// What the `records` hash holds for a key: everything that never changes.
#[derive(Serialize, Deserialize)]
struct Stored {
    owner: String,
    name: String,
    roles: Vec<String>,
    scopes: Vec<String>,
    created_at: u64,
    expires_at: Option<u64>,
    /// SHA-256 of the key, hex.
    sha256: String,
}

impl ApiKeyStore for RedisStore {
    fn insert_key<'a>(
        &'a self,
        record: &'a ApiKeyRecord,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        Box::pin(async move {
            let info = &record.info;
            let stored = Stored {
                owner: info.owner.clone(),
                name: info.name.clone(),
                roles: info.roles.clone(),
                scopes: info.scopes.clone(),
                created_at: info.created_at,
                expires_at: info.expires_at,
                sha256: hex(&record.hash),
            };
            let json = serde_json::to_string(&stored)
                .map_err(|_| StoreUnavailable("redis: cannot encode an API key".into()))?;
            let keys = self.keys().api_keys();
            let owner = keys.owner(&info.owner);
            let optional = |at: Option<u64>| at.map(|at| at.to_string()).unwrap_or_default();
            let invocation = INSERT_API_KEY
                .on(&[
                    &keys.records,
                    &keys.revoked,
                    &keys.last_used,
                    &keys.all,
                    &owner,
                ])
                .arg(&info.id)
                .arg(json)
                .arg(info.created_at)
                .arg(optional(info.revoked_at))
                .arg(optional(info.last_used_at));
            let kept: i64 = self
                .call(async |connection| invocation.invoke(connection).await)
                .await?;
            if kept == 1 {
                Ok(())
            } else {
                Err(StoreUnavailable(
                    "redis: an API key with this id exists".into(),
                ))
            }
        })
    }

    fn find_key<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ApiKeyRecord>, StoreUnavailable>> {
        Box::pin(async move {
            let keys = self.keys().api_keys();
            let invocation = FIND_API_KEY
                .on(&[&keys.records, &keys.revoked, &keys.last_used])
                .arg(id);
            let (stored, revoked_at, last_used_at): (
                Option<String>,
                Option<String>,
                Option<String>,
            ) = self
                .call(async |connection| invocation.invoke(connection).await)
                .await?;
            stored
                .map(|stored| record(id, &stored, revoked_at, last_used_at))
                .transpose()
        })
    }

    fn list_keys<'a>(
        &'a self,
        owner: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<ApiKeyRecord>, StoreUnavailable>> {
        Box::pin(async move {
            let keys = self.keys().api_keys();
            let index = owner.map_or_else(|| keys.all.clone(), |owner| keys.owner(owner));
            let invocation =
                LIST_API_KEYS.on(&[&index, &keys.records, &keys.revoked, &keys.last_used]);
            let flat: Vec<Option<String>> = self
                .call(async |connection| invocation.invoke(connection).await)
                .await?;
            listed(&flat)
        })
    }

    fn revoke_key<'a>(
        &'a self,
        id: &'a str,
        at: u64,
    ) -> BoxFuture<'a, Result<bool, StoreUnavailable>> {
        Box::pin(async move {
            let ApiKeyKeys {
                records, revoked, ..
            } = self.keys().api_keys();
            let invocation = REVOKE_API_KEY.on(&[&records, &revoked]).arg(id).arg(at);
            let revoked: i64 = self
                .call(async |connection| invocation.invoke(connection).await)
                .await?;
            Ok(revoked == 1)
        })
    }

    fn touch_key<'a>(
        &'a self,
        id: &'a str,
        at: u64,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        Box::pin(async move {
            let ApiKeyKeys {
                records, last_used, ..
            } = self.keys().api_keys();
            let invocation = TOUCH_API_KEY.on(&[&records, &last_used]).arg(id).arg(at);
            self.call(async |connection| invocation.invoke::<()>(connection).await)
                .await
        })
    }
}

/// The records of a listing, as [`LIST_API_KEYS`] answers it: id, record, revocation and last
/// use, key after key.
fn listed(flat: &[Option<String>]) -> Result<Vec<ApiKeyRecord>, StoreUnavailable> {
    let mut records = Vec::with_capacity(flat.len() / 4);
    for key in flat.chunks_exact(4) {
        // An id indexed without a record can only be a record removed by hand: not a key.
        if let [Some(id), Some(stored), revoked_at, last_used_at] = key {
            records.push(record(
                id,
                stored,
                revoked_at.clone(),
                last_used_at.clone(),
            )?);
        }
    }
    Ok(records)
}

fn record(
    id: &str,
    stored: &str,
    revoked_at: Option<String>,
    last_used_at: Option<String>,
) -> Result<ApiKeyRecord, StoreUnavailable> {
    let unreadable = || StoreUnavailable("redis: unreadable API key record".into());
    let stored: Stored = serde_json::from_str(stored).map_err(|_| unreadable())?;
    let hash = unhex(&stored.sha256).ok_or_else(unreadable)?;
    let time = |at: Option<String>| {
        at.map(|at| at.parse::<u64>().map_err(|_| unreadable()))
            .transpose()
    };
    Ok(ApiKeyRecord {
        info: ApiKeyInfo {
            id: id.to_owned(),
            owner: stored.owner,
            name: stored.name,
            roles: stored.roles,
            scopes: stored.scopes,
            created_at: stored.created_at,
            expires_at: stored.expires_at,
            revoked_at: time(revoked_at)?,
            last_used_at: time(last_used_at)?,
        },
        hash,
    })
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_go_to_hex_and_back() {
        let hash: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        let text = hex(&hash);
        assert_eq!(text.len(), 64);
        assert_eq!(unhex(&text), Some(hash));
        assert_eq!(unhex(&text[1..]), None);
        assert_eq!(unhex(&format!("{}zz", &text[2..])), None);
        assert_eq!(unhex(&format!("é{}", &text[2..])), None);
    }

    #[test]
    fn a_listing_skips_ids_without_a_record_and_refuses_unreadable_ones() {
        let stored = serde_json::to_string(&Stored {
            owner: "svc".into(),
            name: "n".into(),
            roles: vec![],
            scopes: vec!["a".into()],
            created_at: 7,
            expires_at: None,
            sha256: hex(&[1; 32]),
        })
        .expect("json");
        let flat = [
            Some("k1".to_owned()),
            Some(stored),
            Some("9".to_owned()),
            None,
            Some("k2".to_owned()),
            None,
            None,
            None,
        ];
        let records = listed(&flat).expect("readable");
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].info.id, "k1");
        assert_eq!(records[0].info.revoked_at, Some(9));
        assert_eq!(records[0].hash, [1; 32]);
        let broken = [Some("k3".to_owned()), Some("{".to_owned()), None, None];
        assert!(listed(&broken).is_err());
    }
}
