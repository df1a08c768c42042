//! The demo's settings, all read here from the environment:
//!
//! | variable | meaning |
//! |---|---|
//! | `SECURE_API_*` | the token keys (see `Security::from_env`), one that signs since the demo issues tokens; without `SECURE_API_ISSUER`, keys made up for this process, and any other `SECURE_API_*` variable is refused |
//! | `DEMO_SEAL_KEY_FILE` | 32-byte key sealing e-mail addresses and TOTP secrets; required with `SECURE_API_*` |
//! | `DEMO_ADMIN_PASSWORD_FILE` | creates the `admin` account on the first start (with `SECURE_API_*`) |
//! | `DEMO_ADDR` | where to listen, default `127.0.0.1:3000` |
//! | `DEMO_DB` | the SQLite database of accounts and notes, default `demo.db` |
//! | `DEMO_TOKEN_DB` | a SQLite file of its own for refresh tokens, revocations and API keys; unset: in memory |
//! | `DEMO_CORS_ORIGINS` | comma-separated origins that browsers may call the API from |
//! | `TLS_CERT_FILE`, `TLS_KEY_FILE` | serve TLS 1.3 only (see `tls.rs`) |

use crate::{db, tls};
use secure_api::seal::Sealer;
use secure_api::store::SqliteTokenStore;
use secure_api::{Secret, Security};
use std::error::Error;
use std::ffi::OsString;
use std::net::SocketAddr;

/// Everything the demo needs to start.
pub(crate) struct Config {
    /// No `SECURE_API_*` keys: keys for this process alone, so the databases start empty
    /// (what was sealed or issued under an earlier run's keys would be orphaned).
    pub(crate) ephemeral: bool,
    pub(crate) security: Security,
    pub(crate) sealer: Sealer,
    pub(crate) db: String,
    pub(crate) address: SocketAddr,
    pub(crate) cors_origins: Vec<String>,
    pub(crate) admin_password_file: Option<OsString>,
    pub(crate) tls: Option<rustls::ServerConfig>,
}

impl Config {
    /// Reads and checks every setting; `Err` names the variable at fault.
    pub(crate) async fn from_env() -> Result<Self, Box<dyn Error>> {
        let tls = tls::config_from_env()?;
        let ephemeral = std::env::var_os("SECURE_API_ISSUER").is_none();
        if ephemeral {
            refuse_library_variables()?;
        }
        let mut security = if ephemeral {
            Security::builder()
                .issuer("secure-api-demo")
                .audience("secure-api-demo")
                .ephemeral_key()
        } else {
            Security::builder().from_env()?
        };
        // Refresh families and revoked access tokens: in memory (lost on restart), in Redis
        // with SECURE_API_REDIS_URL (shared by several instances), or in a SQLite file. The
        // token store keeps a database of its own, beside the demo's.
        if let Some(path) = std::env::var_os("DEMO_TOKEN_DB") {
            if std::env::var_os("SECURE_API_REDIS_URL").is_some() {
                return Err(
                    "DEMO_TOKEN_DB and SECURE_API_REDIS_URL both hold token state: \
                            set one of them"
                        .into(),
                );
            }
            let path = path.to_str().ok_or("DEMO_TOKEN_DB is not UTF-8")?;
            if ephemeral {
                // A refresh token of an earlier run would name a user id that a new
                // account may now have.
                db::remove_files(path)?;
            }
            // The same file keeps the API keys (their hashes), so they survive a restart too.
            let store = SqliteTokenStore::open(path).await?;
            security = security.token_store(store.clone()).api_key_store(store);
        }
        let seal_key = match std::env::var_os("DEMO_SEAL_KEY_FILE") {
            Some(path) => Secret::from_file(path)?,
            None if !ephemeral => return Err("DEMO_SEAL_KEY_FILE is not set".into()),
            None => Secret::generate(32),
        };
        let address = std::env::var("DEMO_ADDR")
            .unwrap_or_else(|_| "127.0.0.1:3000".into())
            .parse()
            .map_err(|error| format!("DEMO_ADDR is not a socket address: {error}"))?;
        let cors_origins = std::env::var("DEMO_CORS_ORIGINS").unwrap_or_default();
        let security = security.build()?;
        // /login and /refresh sign tokens: a configuration that only verifies would start,
        // then answer 500 to every login.
        if !security.can_issue_tokens() {
            return Err(match security.audience() {
                None => "the demo issues tokens, which name their audience: set \
                         SECURE_API_AUDIENCE"
                    .into(),
                Some(_) => "the demo issues tokens, and no configured key can sign (a public \
                            key or fetched keys only verify): set SECURE_API_JWT_PRIVATE_KEY_FILE \
                            (with SECURE_API_JWT_ALGORITHM) or an HMAC secret \
                            (SECURE_API_JWT_SECRET_FILE)"
                    .into(),
            });
        }
        Ok(Self {
            ephemeral,
            security,
            sealer: Sealer::new().key("demo-1", seal_key)?,
            db: std::env::var("DEMO_DB").unwrap_or_else(|_| "demo.db".into()),
            address,
            cors_origins: cors_origins
                .split(',')
                .filter(|origin| !origin.is_empty())
                .map(str::to_owned)
                .collect(),
            admin_password_file: std::env::var_os("DEMO_ADMIN_PASSWORD_FILE"),
            tls,
        })
    }
}

/// Without `SECURE_API_ISSUER` the demo makes its keys up and reads no `SECURE_API_*`
/// variable: one that is set was meant to count (a Redis, trusted proxies, a key), so the
/// demo refuses to start rather than run without it. Empty counts as unset, as in
/// `Security::from_env`.
fn refuse_library_variables() -> Result<(), String> {
    let set = std::env::vars_os()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, _)| name.to_string_lossy().into_owned())
        .find(|name| name.to_ascii_uppercase().starts_with("SECURE_API_"));
    match set {
        Some(name) => Err(format!(
            "{name} is set, but SECURE_API_ISSUER is not: without it the demo runs on keys made \
             up for this process and reads no SECURE_API_* variable. Set SECURE_API_ISSUER and \
             the keys (see Security::from_env) for a persistent run, or unset {name}"
        )),
        None => Ok(()),
    }
}
