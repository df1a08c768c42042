// A JSON body that reaches the handler without being validated (REQUIREMENTS V1).
use axum::{Json, Router, routing::post};
use secure_api::secure;

secure_api::roles! { admin }

#[derive(serde::Deserialize)]
struct NewUser {
    name: String,
}

#[secure(role = "admin", rate = "100/15m")]
async fn create_user(Json(user): Json<NewUser>) -> String {
    user.name
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/users", post(create_user));
}
