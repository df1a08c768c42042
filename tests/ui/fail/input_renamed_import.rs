// `Json` imported under another name: the macro cannot see it is `Json`, the type check can.
use axum::Json as Payload;
use axum::{Router, routing::post};
use secure_api::{Security, secure};

secure_api::roles! { admin }

#[derive(serde::Deserialize)]
struct NewUser {
    name: String,
}

#[secure(role = "admin", rate = "100/15m")]
async fn create_user(Payload(user): Payload<NewUser>) -> String {
    user.name
}

fn main() {
    let _app: Router<Security> = Router::new().route("/users", post(create_user));
}
