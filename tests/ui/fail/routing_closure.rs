// A closure cannot carry `#[secure]`, so the secure router does not mount it.
use secure_api::Security;
use secure_api::routing::{SecureRouter, get};

fn main() {
    let _routes: SecureRouter<Security> = SecureRouter::new().route("/hi", get(|| async { "hi" }));
}
