#[doc(hidden)]
#[allow(non_camel_case_types)]
struct __secure_policy_login;
impl ::secure_api::__private::Policy for __secure_policy_login {
    const SPEC: ::secure_api::__private::PolicySpec = ::secure_api::__private::PolicySpec::public(
            "login",
        )
        .rate(30, 900, ::secure_api::__private::RateKey::Ip)
        .problems(&[401])
        .validated();
    fn describe(description: &mut ::secure_api::__private::Description) {
        use ::secure_api::__private::{
            DescribeAnswer as _, DescribeInput as _, DescribeNothing as _,
        };
        (&::secure_api::__private::Probe::<State<Accounts>>::new())
            .describe_input(description);
        (&::secure_api::__private::Probe::<Json<LoginForm>>::new())
            .describe_input(description);
        (&::secure_api::__private::Probe::<Result<Json<TokenPair>, Problem>>::new())
            .describe_answer(description);
    }
}
const _: () = {
    ::secure_api::__private::admit::<State<Accounts>>();
};
/// Signs a user in; a wrong password is the handler's own 401, so it says so.
async fn login(
    _: ::secure_api::__private::Guard<__secure_policy_login>,
    State(accounts): State<Accounts>,
    ::secure_api::__private::Valid(
        Json(form),
    ): ::secure_api::__private::Valid<
        Json<LoginForm>,
        { ::secure_api::__private::validatable::<LoginForm>() },
    >,
) -> Result<Json<TokenPair>, Problem> {
    accounts.sign_in(&form).await
}
