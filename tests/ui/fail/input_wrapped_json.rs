// Wrapping `Json` does not hide it: `Option<Json<T>>` without `validate`, `Result<Json<T>, _>`
// even with it, and an extractor of the user's own that wraps `Json` are each one error.
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::{Json, Router, routing::post};
use secure_api::{Security, secure};

secure_api::roles! { admin }

#[derive(serde::Deserialize, garde::Validate)]
struct NewUser {
    #[garde(length(min = 1, max = 64))]
    name: String,
}

struct Envelope(NewUser);

impl<S: Send + Sync> FromRequest<S> for Envelope {
    type Rejection = JsonRejection;
    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(user) = Json::<NewUser>::from_request(request, state).await?;
        Ok(Envelope(user))
    }
}

#[secure(role = "admin", rate = "100/15m")]
async fn maybe_create(user: Option<Json<NewUser>>) -> String {
    user.map(|Json(user)| user.name).unwrap_or_default()
}

#[secure(role = "admin", rate = "100/15m", validate)]
async fn create_or_explain(user: Result<Json<NewUser>, JsonRejection>) -> String {
    user.map(|Json(user)| user.name).unwrap_or_default()
}

#[secure(role = "admin", rate = "100/15m")]
async fn create_enveloped(Envelope(user): Envelope) -> String {
    user.name
}

fn main() {
    let _app: Router<Security> = Router::new()
        .route("/a", post(maybe_create))
        .route("/b", post(create_or_explain))
        .route("/c", post(create_enveloped));
}
