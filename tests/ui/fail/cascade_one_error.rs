// One mistake, one error: the handler with the typo in its rate is still mounted on a router
// with state, next to a correct handler, and nothing else is reported.
use axum::extract::State;
use axum::{Json, Router, routing::get};
use secure_api::{AuthUser, Security, secure};

secure_api::roles! { user }

#[derive(Clone)]
struct AppState {
    security: Security,
    motd: &'static str,
}

impl axum::extract::FromRef<AppState> for Security {
    fn from_ref(state: &AppState) -> Security {
        state.security.clone()
    }
}

#[secure(role = "user", rate = "100/15min")]
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
        .unwrap();
    let _app: Router = Router::new()
        .route("/motd", get(motd))
        .route("/health", get(health))
        .with_state(AppState {
            security,
            motd: "welcome",
        });
}
