// #[secure] goes on a handler, not on a type.
use secure_api::secure;

secure_api::roles! { admin }

#[secure(role = "admin", rate = "100/15m")]
struct Users;

fn main() {
    let _ = Users;
}
