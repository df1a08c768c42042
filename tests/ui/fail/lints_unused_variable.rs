// Lints reach the user's code through the macro, at the user's own spans.
#![deny(unused_variables, unused_mut)]

use axum::{Router, routing::get};
use secure_api::{AuthUser, Security, secure};

secure_api::roles! { user }

#[secure(role = "user", rate = "100/15m")]
async fn profile(user: AuthUser) -> String {
    let mut greeting = String::from("hello");
    let forgotten = user.roles().len();
    greeting
}

fn main() {
    let _app: Router<Security> = Router::new().route("/profile", get(profile));
}
