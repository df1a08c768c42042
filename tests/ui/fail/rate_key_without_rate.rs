// `rate_key` alone sets no limit.
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::roles! { admin }

#[secure(role = "admin", rate_key = "ip")]
async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/users", get(list_users));
}
