::core::compile_error! {
    "#[secure] handlers must be `async fn`: write `async fn` here"
}
::core::compile_error! {
    "unknown unit `x` in rate `100/15x`; use s (seconds), m (minutes), h (hours) or d (days)"
}
#[doc(hidden)]
#[allow(non_camel_case_types)]
struct __secure_policy_list_users;
impl ::secure_api::__private::Policy for __secure_policy_list_users {
    const SPEC: ::secure_api::__private::PolicySpec = ::secure_api::__private::PolicySpec::bearer(
        "list_users",
    );
}
/// On a mistake the handler is emitted next to the errors with its guard, on a placeholder
/// policy, and made `async` (which is one of the errors), so that the router that mounts it
/// reports nothing more.
async fn list_users(
    _: ::secure_api::__private::Guard<__secure_policy_list_users>,
    State(db): State<Db>,
) -> Json<Vec<User>> {
    Json(db.users())
}
