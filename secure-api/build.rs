//! Rebuilds the crate when an embedded migration changes: `sqlx::migrate!` (feature `sqlite`)
//! reads `migrations/` at compile time, which cargo does not track on its own.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
