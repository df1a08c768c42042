//! The key layout: `<prefix>{<tag>}` for state of one key, `<prefix>{family:<id>}:<part>`
//! for the keys of a refresh family, `<prefix>{apikeys}:<part>` for every API key.
//!
//! Redis Cluster places a key by its hash tag, the text between the first `{` and the next
//! `}`: every key a script touches carries the same tag, so each decision runs on one node,
//! and different subjects and families spread over the slots. API keys share one tag: a
//! listing reads them all, and they are few and small (records an administrator made).

use crate::limit::Subject;
use std::fmt::{self, Display, Write};

/// A subject as the last part of a rate key: `ip:…`, `user:…`, `key:…` or `global`.
struct SubjectSegment<'a>(&'a Subject);

impl Display for SubjectSegment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Subject::Ip(address) => write!(f, "ip:{address}"),
            Subject::User(user) => write!(f, "user:{user}"),
            Subject::ApiKey(id) => write!(f, "key:{id}"),
            Subject::Global => f.write_str("global"),
        }
    }
}

/// Builds the keys of one store.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    /// Braces are dropped from the prefix: the first `{…}` of a key decides its slot, and an
    /// empty `{}` there would make Redis hash whole keys, splitting a family over slots.
    pub(super) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.chars().filter(|c| !matches!(c, '{' | '}')).collect(),
        }
    }

    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<prefix>{<tag parts joined by :>}[:<part>]`, written into one string: every request
    /// that goes to Redis builds its key.
    fn tagged(&self, tag: &[&dyn Display], part: Option<&str>) -> String {
        let mut key = String::with_capacity(self.prefix.len() + 96);
        key.push_str(&self.prefix);
        key.push('{');
        for (n, segment) in tag.iter().enumerate() {
            if n > 0 {
                key.push(':');
            }
            let _infallible = write!(key, "{segment}");
        }
        key.push('}');
        if let Some(part) = part {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    /// One bucket of one subject. The rate is part of the key, so that changing a handler's
    /// rate starts a new count rather than reading the old one with the new interval.
    pub(super) fn rate(
        &self,
        bucket: &str,
        max: u32,
        window_ms: u128,
        subject: &Subject,
    ) -> String {
        let rate = format_args!("{max}/{window_ms}ms");
        let subject = SubjectSegment(subject);
        self.tagged(&[&"rate", &bucket, &rate, &subject], None)
    }

    pub(super) fn failures(&self, name: &str, key: &str) -> String {
        self.tagged(&[&"failures", &name, &key], None)
    }

    pub(super) fn once(&self, name: &str, key: &str) -> String {
        self.tagged(&[&"once", &name, &key], None)
    }

    pub(super) fn revoked_access(&self, jti: &str) -> String {
        self.tagged(&[&"revoked_access", &jti], None)
    }

    /// The keys of one refresh family, which every token script declares together.
    pub(super) fn family(&self, family: &str) -> FamilyKeys {
        FamilyKeys {
            last: self.tagged(&[&"family", &family], Some("last")),
            revoked: self.tagged(&[&"family", &family], Some("revoked")),
            token_prefix: self.tagged(&[&"family", &family], Some("token:")),
        }
    }

    /// The keys of every API key, which every API key script declares together.
    pub(super) fn api_keys(&self) -> ApiKeyKeys {
        ApiKeyKeys {
            records: self.tagged(&[&"apikeys"], Some("records")),
            revoked: self.tagged(&[&"apikeys"], Some("revoked")),
            last_used: self.tagged(&[&"apikeys"], Some("last_used")),
            all: self.tagged(&[&"apikeys"], Some("ids")),
            owner_prefix: self.tagged(&[&"apikeys"], Some("owner:")),
        }
    }
}

/// The keys of API keys, all with the tag `apikeys`. Each is a hash or a sorted set with a
/// field or member per key id; none expires.
pub(super) struct ApiKeyKeys {
    /// Key id → what never changes of the key (JSON, with the SHA-256 of the key in hex).
    pub(super) records: String,
    /// Key id → when it was first revoked.
    pub(super) revoked: String,
    /// Key id → when it last authenticated a request.
    pub(super) last_used: String,
    /// Every key id, scored by its creation time: the order of listings.
    pub(super) all: String,
    owner_prefix: String,
}

impl ApiKeyKeys {
    /// The key ids of one owner, scored by creation time.
    pub(super) fn owner(&self, owner: &str) -> String {
        format!("{}{owner}", self.owner_prefix)
    }
}

/// The keys of one refresh family, all with the tag `family:<id>`.
pub(super) struct FamilyKeys {
    /// The expiry of the family's newest token: how long a revocation must last.
    pub(super) last: String,
    /// Present while the family is revoked.
    pub(super) revoked: String,
    token_prefix: String,
}

impl FamilyKeys {
    /// A token of the family, by the key its issuer gave it.
    pub(super) fn token(&self, key: &str) -> String {
        format!("{}{key}", self.token_prefix)
    }
}

/// The family a token's store key names: `<family>.<hash>` (`tokens::refresh` makes them).
pub(super) fn family_of_key(key: &str) -> Option<&str> {
    key.split_once('.')
        .map(|(family, _)| family)
        .filter(|family| !family.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slot-deciding part of a key, as Redis Cluster reads it.
    fn hash_tag(key: &str) -> &str {
        let Some(open) = key.find('{') else {
            return key;
        };
        match key[open + 1..].find('}') {
            Some(0) | None => key,
            Some(close) => &key[open + 1..open + 1 + close],
        }
    }

    #[test]
    fn a_family_shares_one_tag_whatever_the_prefix() {
        for prefix in ["secure_api:", "", "a{}b:", "x{y", "}{"] {
            let keys = Keys::new(prefix);
            let family = keys.family("0123abcd");
            let token = family.token("0123abcd.ff00");
            let tags = [
                hash_tag(&family.last),
                hash_tag(&family.revoked),
                hash_tag(&token),
            ];
            assert!(tags.iter().all(|tag| *tag == "family:0123abcd"), "{tags:?}");
        }
    }

    #[test]
    fn every_api_key_shares_one_tag_whatever_the_prefix_or_owner() {
        for prefix in ["secure_api:", "", "a{}b:", "x{y", "}{"] {
            let keys = Keys::new(prefix).api_keys();
            let owner = keys.owner("svc-{reports}");
            let all = [
                &keys.records,
                &keys.revoked,
                &keys.last_used,
                &keys.all,
                &owner,
            ];
            assert!(
                all.iter().all(|key| hash_tag(key) == "apikeys"),
                "{prefix:?}: {all:?}"
            );
        }
    }

    #[test]
    fn single_keys_are_tagged_by_their_whole_identity() {
        let keys = Keys::new("app:");
        assert_eq!(
            keys.failures("login_account", "h1"),
            "app:{failures:login_account:h1}"
        );
        assert_eq!(keys.once("totp", "bob"), "app:{once:totp:bob}");
        assert_eq!(
            keys.rate("api", 30, 60_000, &Subject::Global),
            "app:{rate:api:30/60000ms:global}"
        );
        assert_eq!(
            keys.rate("api", 30, 60_000, &Subject::User("eve".into())),
            "app:{rate:api:30/60000ms:user:eve}"
        );
        assert_eq!(
            keys.rate("api", 30, 60_000, &Subject::Ip([10, 0, 0, 1].into())),
            "app:{rate:api:30/60000ms:ip:10.0.0.1}"
        );
        assert_eq!(
            keys.rate("api", 30, 60_000, &Subject::ApiKey("k1".into())),
            "app:{rate:api:30/60000ms:key:k1}"
        );
        assert_eq!(family_of_key("f00.abc"), Some("f00"));
        assert_eq!(family_of_key("nodot"), None);
        assert_eq!(family_of_key(".abc"), None);
    }
}
