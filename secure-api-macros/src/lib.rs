//! The `#[secure]` attribute of [secure-api](https://docs.rs/secure-api).
//!
//! Depend on `secure-api`, not on this crate: the attribute is documented and re-exported
//! there, and the code it generates names `secure-api`'s runtime.
//!
//! `#[secure]` is a pipeline, one module per stage: `item` parses the function leniently,
//! `attr` the arguments, `check` applies the rules and builds the `model`, and `expand`
//! generates the code; `secure` runs it and holds the error fallback. Names and durations
//! have one grammar each (`names`, `duration`); `declare` is `roles!` / `scopes!`.

mod attr;
mod check;
mod declare;
mod duration;
mod expand;
mod inputs;
mod item;
mod model;
mod names;
mod secure;

/// See `secure_api::secure` for the documentation of this attribute.
#[proc_macro_attribute]
pub fn secure(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    secure::secure(args.into(), item.into()).into()
}

/// See `secure_api::roles` for the documentation of this macro.
#[proc_macro]
pub fn roles(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    declare::declare(names::Kind::Role, input.into()).into()
}

/// See `secure_api::scopes` for the documentation of this macro.
#[proc_macro]
pub fn scopes(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    declare::declare(names::Kind::Scope, input.into()).into()
}

/// The compile error for a role or scope that no declaration has; called by the checkers
/// that `roles!` and `scopes!` generate.
#[doc(hidden)]
#[proc_macro]
pub fn undeclared(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    declare::undeclared(input.into()).into()
}
