// One mistake, one error, on the secure router too: the handler with the misspelt argument
// still takes its guard (with a placeholder policy), so `SecureRouter` mounts it next to a
// correct handler and nothing else is reported.
use axum::Json;
use axum::extract::{FromRef, State};
use secure_api::routing::{SecureRouter, get};
use secure_api::{AuthUser, Security, secure};

secure_api::roles! { admin > user }

#[derive(Clone)]
struct AppState {
    security: Security,
    motd: &'static str,
}

impl FromRef<AppState> for Security {
    fn from_ref(state: &AppState) -> Security {
        state.security.clone()
    }
}

#[secure(role = "user", rate = "100/15m", rate_kye = "user")]
async fn motd(user: AuthUser, State(state): State<AppState>) -> Json<String> {
    Json(format!("{}, {}", state.motd, user.subject()))
}

#[secure(public, rate = "60/1m")]
async fn health() -> &'static str {
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
        .route("/motd", get(motd))
        .route("/health", get(health))
        .with_state(AppState {
            security,
            motd: "welcome",
        });
}
