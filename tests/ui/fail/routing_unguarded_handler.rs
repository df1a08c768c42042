// The secure router mounts only `#[secure]` handlers: a plain handler has no declared policy,
// so it would be open to anyone, and mounting it does not compile.
use secure_api::Security;
use secure_api::routing::{SecureRouter, get};

async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let security = Security::builder()
        .issuer("https://issuer.example")
        .audience("api")
        .ephemeral_key()
        .build()
        .expect("a valid configuration");
    let _app: axum::Router = SecureRouter::new()
        .route("/users", get(list_users))
        .with_state(security);
}
