// A window without a unit is ambiguous.
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::roles! { admin }

#[secure(role = "admin", rate = "10/15")]
async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/users", get(list_users));
}
