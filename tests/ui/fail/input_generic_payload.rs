// A generic handler's input is judged where the handler is instantiated: `Json<T>` is never
// admissible without `validate`, whatever `T` turns out to be.
use axum::{Json, Router, routing::post};
use secure_api::{Security, secure};

secure_api::roles! { admin }

#[derive(serde::Deserialize)]
struct NewUser {
    name: String,
}

#[secure(role = "admin", rate = "100/15m")]
async fn create<T: serde::de::DeserializeOwned + Send + 'static>(Json(_item): Json<T>) {}

fn main() {
    let _app: Router<Security> = Router::new().route("/users", post(create::<NewUser>));
}
