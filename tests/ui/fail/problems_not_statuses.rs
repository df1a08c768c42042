// `problems(..)` lists the error statuses the handler answers with itself, as numbers, each
// once: every mistake in the list is reported in one pass, on its own token.
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::roles! { admin }

#[secure(role = "admin", rate = "10/1m", problems(200, "404", 409, 409, 600))]
async fn archive() -> &'static str {
    "archived"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/archive", get(archive));
}
