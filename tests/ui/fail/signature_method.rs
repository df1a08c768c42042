// Handlers are free functions: a method with `self` cannot be mounted.
use secure_api::secure;

secure_api::roles! { admin }

struct Users;

impl Users {
    #[secure(role = "admin", rate = "100/15m")]
    async fn list(&self) -> &'static str {
        "users"
    }
}

fn main() {
    let _ = Users.list();
}
