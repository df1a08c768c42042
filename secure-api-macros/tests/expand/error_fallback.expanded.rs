::core::compile_error! {
    "#[secure] handlers must be `async fn`: write `async fn` here"
}
::core::compile_error! {
    "unknown unit `x` in rate `100/15x`; use s (seconds), m (minutes), h (hours) or d (days)"
}
/// On a mistake the handler is emitted as written (made `async`, which is one of the errors)
/// next to the errors, so that the router that mounts it reports nothing more.
async fn list_users(State(db): State<Db>) -> Json<Vec<User>> {
    Json(db.users())
}
