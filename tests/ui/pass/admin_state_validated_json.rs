// The full shape: an application state that holds `Security`, a role, a rate and a validated
// JSON body, with `State` extracted next to the guard.
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::{Json, Router, routing::post};
use secure_api::{Security, secure};
use std::sync::{Arc, Mutex};

secure_api::roles! { admin }

#[derive(Clone)]
struct AppState {
    security: Security,
    users: Arc<Mutex<Vec<String>>>,
}

impl FromRef<AppState> for Security {
    fn from_ref(state: &AppState) -> Security {
        state.security.clone()
    }
}

#[derive(serde::Deserialize, garde::Validate)]
struct NewUser {
    #[garde(length(min = 1, max = 64))]
    name: String,
    #[garde(email)]
    email: String,
}

#[secure(role = "admin", rate = "100/15m", validate)]
async fn create_user(
    State(state): State<AppState>,
    Json(user): Json<NewUser>,
) -> (StatusCode, String) {
    if let Ok(mut users) = state.users.lock() {
        users.push(user.name);
    }
    (StatusCode::CREATED, user.email)
}

fn main() {
    let security = Security::builder()
        .issuer("https://issuer.example")
        .audience("api")
        .ephemeral_key()
        .build()
        .expect("a valid configuration");
    let _app: Router = Router::new()
        .route("/users", post(create_user))
        .with_state(AppState {
            security,
            users: Arc::default(),
        });
}
