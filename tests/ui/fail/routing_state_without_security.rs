// The secure router's state carries no `Security`, so the guard has nothing to check tokens
// against: mounting the handler fails at `get(..)`, where the `GuardedHandler` note should
// say which `FromRef` impl is missing.
use axum::extract::State;
use secure_api::routing::{SecureRouter, get};
use secure_api::secure;

secure_api::roles! { admin }

#[derive(Clone)]
struct AppState {
    greeting: &'static str,
}

#[secure(role = "admin", rate = "100/15m")]
async fn greet(State(state): State<AppState>) -> &'static str {
    state.greeting
}

fn main() {
    let _app: axum::Router = SecureRouter::<AppState>::new()
        .route("/greet", get(greet))
        .with_state(AppState { greeting: "hello" });
}
