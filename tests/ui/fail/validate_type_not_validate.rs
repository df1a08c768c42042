// `validate` on a payload type that garde cannot check: the error is on `Json<NewUser>`.
use axum::{Json, Router, routing::post};
use secure_api::{Security, secure};

secure_api::roles! { admin }

#[derive(serde::Deserialize)]
struct NewUser {
    name: String,
}

#[secure(role = "admin", rate = "100/15m", validate)]
async fn create_user(Json(user): Json<NewUser>) -> String {
    user.name
}

fn main() {
    let _app: Router<Security> = Router::new().route("/users", post(create_user));
}
