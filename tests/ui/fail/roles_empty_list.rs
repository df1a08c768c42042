// An empty list of roles could be read as "no role needed".
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::roles! { admin }

#[secure(any_role(), rate = "100/15m")]
async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/users", get(list_users));
}
