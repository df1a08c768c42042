// A query string that reaches the handler without being validated.
use axum::extract::Query;
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::roles! { user }

#[derive(serde::Deserialize)]
struct Search {
    q: String,
}

#[secure(role = "user", rate = "100/15m")]
async fn search(Query(search): Query<Search>) -> String {
    search.q
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/search", get(search));
}
