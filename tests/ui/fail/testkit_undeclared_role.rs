// A test's token for a misspelt role would prove nothing: `principal!` takes the names the
// crate declared, and suggests the nearest one.
use secure_api::test::principal;

secure_api::roles! { admin }

fn main() {
    let _alice = principal!("alice", roles = ["admn"]);
}
