// axum's classic ordering mistake: only the last argument can read the body. The error says
// which argument must move, and the router says nothing more.
use axum::extract::State;
use axum::{Json, Router, routing::post};
use secure_api::{Security, secure};

secure_api::roles! { admin }

#[derive(serde::Deserialize, garde::Validate)]
struct NewUser {
    #[garde(length(min = 1, max = 64))]
    name: String,
}

#[secure(role = "admin", rate = "100/15m", validate)]
async fn create_user(Json(user): Json<NewUser>, State(_security): State<Security>) -> String {
    user.name
}

fn main() {
    let _app: Router<Security> = Router::new().route("/users", post(create_user));
}
