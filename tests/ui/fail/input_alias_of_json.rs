// A body spelled through a type alias is still an unvalidated body: its type decides, so the
// error is on the alias, once, and the router that mounts the handler says nothing more.
use axum::Json;
use secure_api::routing::{SecureRouter, post};
use secure_api::{Security, secure};

secure_api::roles! { admin }

#[derive(serde::Deserialize)]
struct NewUser {
    name: String,
}

type Body = Json<NewUser>;

#[secure(role = "admin", rate = "100/15m")]
async fn create_user(Json(user): Body) -> String {
    user.name
}

fn main() {
    let _app: axum::Router = SecureRouter::new()
        .route("/users", post(create_user))
        .with_state(Security::builder().ephemeral_key().build().unwrap());
}
