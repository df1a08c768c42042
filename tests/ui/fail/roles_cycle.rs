// A hierarchy in which a role is above itself has no meaning. A handler that requires one of
// its roles is there to show what else the broken declaration causes.
use axum::{Router, routing::get};
use secure_api::{Security, secure};

secure_api::roles! { admin > editor > admin }

#[secure(role = "editor", rate = "100/15m")]
async fn edit() -> &'static str {
    "edited"
}

fn main() {
    let _app: Router<Security> = Router::new().route("/edit", get(edit));
}
