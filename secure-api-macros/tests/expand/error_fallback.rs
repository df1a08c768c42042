/// On a mistake the handler is emitted next to the errors with its guard, on a placeholder
/// policy, and made `async` (which is one of the errors), so that the router that mounts it
/// reports nothing more.
#[secure(role = "admin", rate = "100/15x")]
fn list_users(State(db): State<Db>) -> Json<Vec<User>> {
    Json(db.users())
}
