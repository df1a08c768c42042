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
    fn describe_inputs(inputs: &mut ::my_api::security::__private::Inputs) {
        use ::my_api::security::__private::{DescribeInput as _, DescribeNothing as _};
        (&::my_api::security::__private::Probe::<Json<serde_json::Value>>::new())
            .describe(inputs);
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
