// An empty list of statuses documents nothing: leave the argument out instead.
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::roles! { admin }

#[secure(role = "admin", rate = "10/1m", problems())]
async fn archive() -> &'static str {
    "archived"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/archive", get(archive));
}
