/// On a mistake the handler is emitted as written (made `async`, which is one of the errors)
/// next to the errors, so that the router that mounts it reports nothing more.
#[secure(role = "admin", rate = "100/15x")]
fn list_users(State(db): State<Db>) -> Json<Vec<User>> {
    Json(db.users())
}
