//! The `SECURE_API_*` environment, read once: the one table of the variables
//! [`Security::from_env`](crate::Security::from_env) reads, each with the feature it needs,
//! and the refusal of every variable that would otherwise be ignored without a word — a name
//! secure-api does not read, a feature this build lacks, a key setting made moot by fetched
//! keys, or anything this configuration left unread.

use crate::error::ConfigError;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// The namespace secure-api owns: every variable in it must be one of [`VARIABLES`].
const PREFIX: &str = "SECURE_API_";

/// The names of the variables; the table in `Security::from_env`'s documentation gives
/// their meaning.
pub(in crate::config) mod var {
    pub(in crate::config) const ISSUER: &str = "SECURE_API_ISSUER";
    pub(in crate::config) const AUDIENCE: &str = "SECURE_API_AUDIENCE";
    pub(in crate::config) const JWT_ALGORITHM: &str = "SECURE_API_JWT_ALGORITHM";
    pub(in crate::config) const JWT_SECRET_FILE: &str = "SECURE_API_JWT_SECRET_FILE";
    pub(in crate::config) const JWT_SECRET: &str = "SECURE_API_JWT_SECRET";
    pub(in crate::config) const JWT_PUBLIC_KEY_FILE: &str = "SECURE_API_JWT_PUBLIC_KEY_FILE";
    pub(in crate::config) const JWT_PRIVATE_KEY_FILE: &str = "SECURE_API_JWT_PRIVATE_KEY_FILE";
    pub(in crate::config) const JWT_KID: &str = "SECURE_API_JWT_KID";
    pub(in crate::config) const JWKS_URL: &str = "SECURE_API_JWKS_URL";
    pub(in crate::config) const OIDC_ISSUER: &str = "SECURE_API_OIDC_ISSUER";
    pub(in crate::config) const LEEWAY_SECS: &str = "SECURE_API_LEEWAY_SECS";
    pub(in crate::config) const TRUSTED_PROXIES: &str = "SECURE_API_TRUSTED_PROXIES";
    pub(in crate::config) const TOKEN_TYPES: &str = "SECURE_API_TOKEN_TYPES";
    pub(in crate::config) const REDIS_URL: &str = "SECURE_API_REDIS_URL";
    pub(in crate::config) const CLAIMS_PROFILE: &str = "SECURE_API_CLAIMS_PROFILE";
    pub(in crate::config) const ROLES_CLAIMS: &str = "SECURE_API_ROLES_CLAIMS";
    pub(in crate::config) const SCOPES_CLAIMS: &str = "SECURE_API_SCOPES_CLAIMS";
    pub(in crate::config) const KEYCLOAK_CLIENT: &str = "SECURE_API_KEYCLOAK_CLIENT";
    pub(in crate::config) const CLIENT_IDS: &str = "SECURE_API_CLIENT_IDS";
    pub(in crate::config) const MFA_ACR: &str = "SECURE_API_MFA_ACR";
}

/// Every variable of every build, with the cargo feature of secure-api it needs: a build
/// without that feature refuses the variable instead of not reading it.
const VARIABLES: &[(&str, Option<&str>)] = &[
    (var::ISSUER, None),
    (var::AUDIENCE, None),
    (var::JWT_ALGORITHM, None),
    (var::JWT_SECRET_FILE, None),
    (var::JWT_SECRET, None),
    (var::JWT_PUBLIC_KEY_FILE, Some("pem")),
    (var::JWT_PRIVATE_KEY_FILE, Some("pem")),
    (var::JWT_KID, None),
    (var::JWKS_URL, Some("jwks")),
    (var::OIDC_ISSUER, Some("jwks")),
    (var::LEEWAY_SECS, None),
    (var::TRUSTED_PROXIES, None),
    (var::TOKEN_TYPES, None),
    (var::REDIS_URL, Some("redis")),
    (var::CLAIMS_PROFILE, None),
    (var::ROLES_CLAIMS, None),
    (var::SCOPES_CLAIMS, None),
    (var::KEYCLOAK_CLIENT, None),
    (var::CLIENT_IDS, None),
    (var::MFA_ACR, None),
];

/// The variables that describe one configured key; with fetched keys, none of them is read.
const KEY_VARIABLES: [&str; 5] = [
    var::JWT_SECRET,
    var::JWT_SECRET_FILE,
    var::JWT_PUBLIC_KEY_FILE,
    var::JWT_PRIVATE_KEY_FILE,
    var::JWT_KID,
];

/// The features [`VARIABLES`] name, and whether this build has each.
const FEATURES: [(&str, bool); 3] = [
    ("pem", cfg!(feature = "pem")),
    ("jwks", cfg!(feature = "jwks")),
    ("redis", cfg!(feature = "redis")),
];

/// Whether this build has the feature a variable of [`VARIABLES`] needs.
pub(super) fn enabled(feature: &str) -> bool {
    FEATURES.contains(&(feature, true))
}

/// The `SECURE_API_*` variables that are set (an empty value is the same as unset), and which
/// of them the configuration read.
pub(super) struct Env {
    vars: BTreeMap<String, String>,
    read: RefCell<BTreeSet<String>>,
}

impl Env {
    /// The process environment. A variable of the namespace whose value is not UTF-8 is
    /// refused: `std::env::var` would make it look unset.
    pub(super) fn from_process() -> Result<Self, ConfigError> {
        let mut vars = Vec::new();
        for (name, value) in std::env::vars_os() {
            // A name that is not UTF-8 cannot be one of ours; kept (lossily) if it looks
            // like one, so that it is refused as unknown.
            let name = name.to_string_lossy().into_owned();
            if !in_namespace(&name) {
                continue;
            }
            let value = value
                .into_string()
                .map_err(|_| ConfigError::invalid(&name, "the value is not UTF-8"))?;
            vars.push((name, value));
        }
        Ok(Self::new(vars))
    }

    /// These variables as the environment; names outside the namespace are left out.
    pub(super) fn new<N: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        Self {
            vars: vars
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .filter(|(name, value)| in_namespace(name) && !value.is_empty())
                .collect(),
            read: RefCell::default(),
        }
    }

    /// A variable's value, now counted as read.
    pub(super) fn get(&self, name: &str) -> Option<String> {
        let value = self.vars.get(name)?;
        self.read.borrow_mut().insert(name.to_owned());
        Some(value.clone())
    }

    fn is_set(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    /// Refuses what no reading of the variables could use: an unknown name (with the nearest
    /// known one), a variable of a feature `enabled` says this build lacks, and key variables
    /// beside fetched keys.
    pub(super) fn check(&self, enabled: impl Fn(&str) -> bool) -> Result<(), ConfigError> {
        for name in self.vars.keys() {
            if !VARIABLES.iter().any(|(known, _)| known == name) {
                return Err(unknown(name));
            }
        }
        for (name, feature) in VARIABLES {
            if let Some(feature) = feature
                && self.is_set(name)
                && !enabled(feature)
            {
                return Err(ConfigError::unused(
                    *name,
                    format!(
                        "is set, but this build of secure-api has no `{feature}` feature: enable \
                         it (secure-api = {{ features = [\"{feature}\"] }} in Cargo.toml) or \
                         unset {name}"
                    ),
                ));
            }
        }
        self.check_key_source()
    }

    /// Keys come from one place: a JWK Set URL, an OpenID provider, or the key variables.
    fn check_key_source(&self) -> Result<(), ConfigError> {
        let source = match (self.is_set(var::JWKS_URL), self.is_set(var::OIDC_ISSUER)) {
            (true, true) => {
                return Err(ConfigError::unused(
                    var::JWKS_URL,
                    format!(
                        "is set, but so is {}, whose discovery document names the key set: \
                         keys come from one source, remove one",
                        var::OIDC_ISSUER
                    ),
                ));
            }
            (true, false) => var::JWKS_URL,
            (false, true) => var::OIDC_ISSUER,
            (false, false) => return Ok(()),
        };
        match KEY_VARIABLES.into_iter().find(|name| self.is_set(name)) {
            Some(name) => Err(ConfigError::unused(
                name,
                format!("is set, but keys are fetched from {source}: remove one"),
            )),
            None => Ok(()),
        }
    }

    /// Refuses a variable the configuration did not read: whatever the reason, its setting
    /// would not count.
    pub(super) fn check_all_read(&self) -> Result<(), ConfigError> {
        let read = self.read.borrow();
        match self.vars.keys().find(|name| !read.contains(*name)) {
            Some(name) => Err(ConfigError::unused(
                name,
                "is set, but this configuration does not read it: unset it",
            )),
            None => Ok(()),
        }
    }
}

/// Whether a variable belongs to secure-api; the case is ignored, since `secure_api_issuer`
/// is a mistake to point out rather than another program's setting.
fn in_namespace(name: &str) -> bool {
    name.get(..PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(PREFIX))
}

/// The refusal of a name in the namespace that secure-api does not read, with the known name
/// it most likely misspells.
fn unknown(name: &str) -> ConfigError {
    let upper = name.to_ascii_uppercase();
    let nearest = VARIABLES
        .iter()
        .map(|(known, _)| (distance(&upper, known), *known))
        .min();
    let reason = match nearest {
        // Close enough to be the same name mistyped: at most half the distinctive part.
        Some((distance, known)) if distance * 2 <= known.len() - PREFIX.len() => {
            format!("is not a variable secure-api reads; did you mean {known}?")
        }
        _ => format!(
            "is not a variable secure-api reads (Security::from_env lists them): unset it, or \
             name a setting of your own outside the {PREFIX} prefix"
        ),
    };
    ConfigError::unused(name, reason)
}

/// The edit distance between two names (insertions, deletions, substitutions).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests;
