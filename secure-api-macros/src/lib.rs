//! The `#[secure]` attribute of [secure-api](https://docs.rs/secure-api).
//!
//! Depend on `secure-api`, not on this crate: the attribute is documented and re-exported
//! there, and the code it generates names `secure-api`'s runtime.

mod attr;
mod expand;
mod validate;

/// See `secure_api::secure` for the documentation of this attribute.
#[proc_macro_attribute]
pub fn secure(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    expand::secure(args.into(), item.into()).into()
}
