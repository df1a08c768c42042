// Windows are counted in s, m, h or d.
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::roles! { admin }

#[secure(role = "admin", rate = "10/15x")]
async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/users", get(list_users));
}
