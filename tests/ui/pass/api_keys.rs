// Handlers for machine clients: keys only, counted per key; either credential, counted per
// owner or subject; the identity reaches the handler with its key id.
use secure_api::routing::{SecureRouter, get};
use secure_api::{AuthUser, Security, secure};

secure_api::scopes! { "reports:read" }

#[secure(api_key, scope = "reports:read", rate = "1000/1h")]
async fn export(user: AuthUser) -> String {
    user.api_key_id().unwrap_or_default().to_owned()
}

#[secure(bearer_or_api_key, scope = "reports:read", rate = "100/1m", rate_key = "user")]
async fn usage(user: AuthUser) -> String {
    user.subject().to_owned()
}

#[secure(bearer_or_api_key, rate = "100/1m", rate_key = "key")]
async fn status() -> &'static str {
    "ok"
}

fn main() {
    let security = Security::builder()
        .issuer("https://issuer.example")
        .audience("api")
        .ephemeral_key()
        .build()
        .expect("a valid configuration");
    let _app: axum::Router = SecureRouter::new()
        .route("/export", get(export))
        .route("/usage", get(usage))
        .route("/status", get(status))
        .with_state(security);
}
