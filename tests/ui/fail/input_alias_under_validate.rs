// With `validate`, an input the macro cannot recognise is not silently left out: its type
// must be admissible, and the error says how to validate it (`Valid<Json<NewUser>>`).
use axum::{Json, Router, routing::post};
use secure_api::{Security, secure};

secure_api::roles! { admin }

#[derive(serde::Deserialize, garde::Validate)]
struct NewUser {
    #[garde(length(min = 1, max = 64))]
    name: String,
}

type Body = Json<NewUser>;

#[secure(role = "admin", rate = "100/15m", validate)]
async fn create_user(Json(user): Body) -> String {
    user.name
}

fn main() {
    let _app: Router<Security> = Router::new().route("/users", post(create_user));
}
