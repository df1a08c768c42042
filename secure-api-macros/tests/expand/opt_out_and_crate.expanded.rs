#[doc(hidden)]
#[allow(non_camel_case_types)]
struct __secure_policy_upload;
impl ::my_api::security::__private::Policy for __secure_policy_upload {
    const SPEC: ::my_api::security::__private::PolicySpec = ::my_api::security::__private::PolicySpec::bearer(
            "upload",
        )
        .all_roles(
            &[crate::__secure_role!("uploader"), crate::__secure_role!("verified")],
        )
        .skip_validation("the payload is opaque and streamed to object storage");
    fn describe(description: &mut ::my_api::security::__private::Description) {
        use ::my_api::security::__private::{
            DescribeAnswer as _, DescribeInput as _, DescribeNothing as _,
        };
        (&::my_api::security::__private::Probe::<Json<serde_json::Value>>::new())
            .describe_input(description);
        (&::my_api::security::__private::Probe::<StatusCode>::new())
            .describe_answer(description);
    }
}
async fn upload(
    _: ::my_api::security::__private::Guard<__secure_policy_upload>,
    ::my_api::security::__private::Parsed(
        Json(blob),
    ): ::my_api::security::__private::Parsed<Json<serde_json::Value>>,
) -> StatusCode {
    store(blob).await
}
