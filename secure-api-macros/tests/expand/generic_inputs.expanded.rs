#[doc(hidden)]
#[allow(non_camel_case_types)]
pub struct __secure_policy_import;
impl ::secure_api::__private::Policy for __secure_policy_import {
    const SPEC: ::secure_api::__private::PolicySpec = ::secure_api::__private::PolicySpec::bearer(
            "import",
        )
        .all_roles(&[crate::__secure_role!("admin")])
        .rate(100, 900, ::secure_api::__private::RateKey::User)
        .validated();
    fn describe(description: &mut ::secure_api::__private::Description) {
        use ::secure_api::__private::{
            DescribeAnswer as _, DescribeInput as _, DescribeNothing as _,
        };
        (&::secure_api::__private::Probe::<State<Db>>::new())
            .describe_input(description);
        (&::secure_api::__private::Probe::<StatusCode>::new())
            .describe_answer(description);
    }
}
const _: () = {
    ::secure_api::__private::admit::<State<Db>>();
    #[allow(dead_code)]
    fn inputs<T, const N: usize>()
    where
        T: Item,
    {
        ::secure_api::__private::admit::<Extension<Batch<T, N>>>();
    }
};
/// A generic handler: an input that names `T` is judged in a function with the handler's
/// bounds; the others in the constant. The payload `T` is proven where the handler is mounted.
pub async fn import<T, const N: usize>(
    _: ::secure_api::__private::Guard<__secure_policy_import>,
    State(db): State<Db>,
    Extension(batch): Extension<Batch<T, N>>,
    ::secure_api::__private::Valid(
        Json(items),
    ): ::secure_api::__private::Valid<Json<Vec<T>>>,
) -> StatusCode
where
    T: Item,
{
    db.import(batch, items).await
}
