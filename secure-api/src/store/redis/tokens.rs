//! The [`TokenStore`] on Redis: refresh families, each under one hash tag, and revoked
//! access tokens.
//!
//! A refresh token is found by the key its issuer gives it, `<family>.<hash>`: the family
//! names the tag, so that spending a token, checking its family's revocation and revoking
//! the family on reuse is one script on one slot.

use super::RedisStore;
use super::keys::family_of_key;
use super::scripts::{INSERT, REVOKE_FAMILY, SPEND};
use crate::store::{BoxFuture, StoreUnavailable};
use crate::tokens::{Principal, RefreshRecord, Spend, TokenStore};

fn principal_from(json: &str) -> Result<Principal, StoreUnavailable> {
    serde_json::from_str(json).map_err(|error| {
        StoreUnavailable(format!(
            "redis: unreadable refresh record ({:?})",
            error.classify()
        ))
    })
}

impl TokenStore for RedisStore {
    fn insert(&self, record: RefreshRecord) -> BoxFuture<'_, Result<(), StoreUnavailable>> {
        Box::pin(async move {
            // A record filed under another family than its key names could never be spent:
            // refused here rather than lost.
            if family_of_key(&record.hash) != Some(record.family.as_str()) {
                return Err(StoreUnavailable(
                    "redis: a refresh token's key must begin with its family".into(),
                ));
            }
            let principal = serde_json::to_string(&record.principal)
                .map_err(|_| StoreUnavailable("redis: cannot encode principal".into()))?;
            let family = self.keys().family(&record.family);
            let token = family.token(&record.hash);
            let invocation = INSERT
                .on(&[&token, &family.last])
                .arg(&record.family)
                .arg(principal)
                .arg(record.expires_at);
            self.call(async |connection| invocation.invoke::<()>(connection).await)
                .await
        })
    }

    fn spend<'a>(
        &'a self,
        hash: &'a str,
        now: u64,
    ) -> BoxFuture<'a, Result<Spend, StoreUnavailable>> {
        Box::pin(async move {
            let Some(family) = family_of_key(hash) else {
                return Ok(Spend::Invalid);
            };
            let keys = self.keys().family(family);
            let invocation = SPEND
                .on(&[&keys.token(hash), &keys.last, &keys.revoked])
                .arg(now)
                .arg(family);
            let reply: Vec<String> = self
                .call(async |connection| invocation.invoke(connection).await)
                .await?;
            match reply.as_slice() {
                [outcome, family, principal, expires_at] if outcome == "fresh" => {
                    Ok(Spend::Fresh(RefreshRecord {
                        hash: hash.to_owned(),
                        family: family.clone(),
                        principal: principal_from(principal)?,
                        expires_at: expires_at.parse().unwrap_or(0),
                    }))
                }
                [outcome, family, principal] if outcome == "reused" => Ok(Spend::Reused {
                    family: family.clone(),
                    subject: principal_from(principal)?.subject,
                }),
                _ => Ok(Spend::Invalid),
            }
        })
    }

    fn revoke_family<'a>(&'a self, family: &'a str) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        Box::pin(async move {
            let keys = self.keys().family(family);
            let invocation = REVOKE_FAMILY.on(&[&keys.last, &keys.revoked]);
            self.call(async |connection| invocation.invoke::<()>(connection).await)
                .await
        })
    }

    fn family_of<'a>(
        &'a self,
        hash: &'a str,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StoreUnavailable>> {
        Box::pin(async move {
            let Some(family) = family_of_key(hash) else {
                return Ok(None);
            };
            let key = self.keys().family(family).token(hash);
            let (family, principal): (Option<String>, Option<String>) = self
                .call(async |connection| {
                    redis::cmd("HMGET")
                        .arg(&key)
                        .arg("family")
                        .arg("principal")
                        .query_async(connection)
                        .await
                })
                .await?;
            let (Some(family), Some(principal)) = (family, principal) else {
                return Ok(None);
            };
            let owner = principal_from(&principal)?.subject;
            Ok((owner == subject).then_some(family))
        })
    }

    fn revoke_access<'a>(
        &'a self,
        jti: &'a str,
        until: u64,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        Box::pin(async move {
            let key = self.keys().revoked_access(jti);
            self.call(async |connection| {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(1)
                    .arg("EXAT")
                    .arg(until.max(1))
                    .query_async::<()>(connection)
                    .await
            })
            .await
        })
    }

    fn is_revoked<'a>(
        &'a self,
        jti: &'a str,
        _now: u64,
    ) -> BoxFuture<'a, Result<bool, StoreUnavailable>> {
        Box::pin(async move {
            // The key expires with the token: its presence is the answer.
            let key = self.keys().revoked_access(jti);
            self.call(async |connection| {
                redis::cmd("EXISTS").arg(&key).query_async(connection).await
            })
            .await
        })
    }
}
