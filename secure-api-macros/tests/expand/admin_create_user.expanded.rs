#[doc(hidden)]
#[allow(non_camel_case_types)]
struct __secure_policy_create_user;
impl ::secure_api::__private::Policy for __secure_policy_create_user {
    const SPEC: ::secure_api::__private::PolicySpec = ::secure_api::__private::PolicySpec::bearer(
            "create_user",
        )
        .all_roles(&[crate::__secure_role!("admin")])
        .rate(100, 900, ::secure_api::__private::RateKey::User)
        .validated();
    fn describe(description: &mut ::secure_api::__private::Description) {
        use ::secure_api::__private::{DescribeInput as _, DescribeNothing as _};
        (&::secure_api::__private::Probe::<State<Db>>::new())
            .describe_input(description);
        (&::secure_api::__private::Probe::<Json<NewUser>>::new())
            .describe_input(description);
    }
}
const _: () = {
    ::secure_api::__private::admit::<State<Db>>();
};
async fn create_user(
    _: ::secure_api::__private::Guard<__secure_policy_create_user>,
    State(db): State<Db>,
    ::secure_api::__private::Valid(
        Json(body),
    ): ::secure_api::__private::Valid<
        Json<NewUser>,
        { ::secure_api::__private::validatable::<NewUser>() },
    >,
) -> impl IntoResponse {
    db.insert(body).await
}
