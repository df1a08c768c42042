//! The `#[secure]` attribute of [secure-api](https://docs.rs/secure-api).
//!
//! Depend on `secure-api`, not on this crate: the attribute is documented and re-exported
//! there, and the code it generates names `secure-api`'s runtime.

mod attr;
mod declare;
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

/// See `secure_api::roles` for the documentation of this macro.
#[proc_macro]
pub fn roles(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    declare::declare(declare::Kind::Role, input.into()).into()
}

/// See `secure_api::scopes` for the documentation of this macro.
#[proc_macro]
pub fn scopes(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    declare::declare(declare::Kind::Scope, input.into()).into()
}

/// The compile error for a role or scope that no declaration has; called by the checkers
/// that `roles!` and `scopes!` generate.
#[doc(hidden)]
#[proc_macro]
pub fn undeclared(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    declare::undeclared(input.into()).into()
}
