//! What may reach a `#[secure]` handler: the closed set of admissible inputs, decided by
//! type, and the extractors that make client input admissible ([`Valid`], [`Parsed`]).
//!
//! Every argument of a `#[secure]` handler after its guard is one of:
//!
//! - a **validated** input: [`Valid<E>`](Valid), which `#[secure(validate)]` puts around
//!   every `Json`, `Query`, `Form`, struct-typed `Path` and `Option<Json>` argument;
//! - an input that carries **no client-controlled payload**: [`State`], [`Extension`]
//!   (both set by the server), [`ConnectInfo`] (the peer address), [`Method`], [`Version`],
//!   [`MatchedPath`] and [`NestedPath`] (the route's own template, not the request's path),
//!   and this crate's [`AuthUser`], [`ClientIp`] and [`Claims`] (read from the token the
//!   guard verified), or an `Option` or `Result` of one of these;
//! - a **parsed scalar path**: `Path<T>` where `T` is a [`PathParam`] — an integer, float,
//!   `bool`, `char`, `String`, a tuple of these, or a type of yours that declares itself one;
//! - any input at all on a handler that opts out with
//!   `#[secure(skip_validation = "<why>")]`.
//!
//! Anything else — a raw body (`String`, `Bytes`, `Body`, `Request`, `Multipart`), the
//! headers, the URI, an unvalidated `Json<T>` however it is aliased or wrapped — does not
//! compile: the error is on the argument's type and names both fixes.
//!
//! An extractor of your own is admitted by implementing [`SecureInput`] for it, a deliberate
//! act that states it carries no client payload, or validates what it extracts.

mod closed;
mod numbers;
mod rejection;
mod valid;

pub use valid::{Parsed, Valid, ValidatedInput};

use crate::extract::{AuthUser, Claims, ClientIp};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Extension, MatchedPath, NestedPath, Path, State};
use axum::http::{Method, Version};

/// An extractor that may reach a `#[secure]` handler unchanged: it carries no
/// client-controlled payload, or what it carries has already been checked.
///
/// `#[secure]` requires it of every argument after the guard, unless the handler opts out
/// with `skip_validation`. Implement it for an extractor of your own only when that is
/// true of it: the implementation is your statement that nothing unchecked gets through.
///
/// ```
/// use axum::extract::FromRequestParts;
/// use axum::http::request::Parts;
///
/// /// The tenant, taken from the server's own configuration rather than the request.
/// struct Tenant(&'static str);
///
/// impl<S: Send + Sync> FromRequestParts<S> for Tenant {
///     type Rejection = std::convert::Infallible;
///     async fn from_request_parts(_: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
///         Ok(Tenant("main"))
///     }
/// }
///
/// impl secure_api::SecureInput for Tenant {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` would reach a #[secure] handler unchecked",
    label = "client input that nothing validates",
    note = "validate it: add `validate` to #[secure(...)] and take it as `Json<T>`, `Query<T>`, \
            `Form<T>` or `Path<T>`, or take `secure_api::Valid<{Self}>`; its payload derives \
            `garde::Validate`",
    note = "or opt the handler out: `#[secure(skip_validation = \"<why this input is safe>\")]`",
    note = "an extractor of your own that carries no client payload is admitted by \
            `impl secure_api::SecureInput for YourExtractor {{}}`"
)]
pub trait SecureInput {}

/// A path segment type whose parse is its whole contract: a request whose segment does not
/// parse is refused with a 400 problem, and every value that parses is acceptable.
///
/// Implemented for the integers, floats, `bool`, `char`, `String` and tuples of up to four
/// of them. Implement it for a type of yours (an id newtype, say) to take it as `Path<T>`
/// without `validate`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a scalar path parameter",
    label = "a path parameter that is neither scalar nor validated",
    note = "add `validate` to #[secure(...)] and `#[derive(garde::Validate)]` to it, or \
            `impl secure_api::input::PathParam for {Self} {{}}` if every value that parses is \
            acceptable"
)]
pub trait PathParam {}

macro_rules! admitted {
    ($($ty:ty),* $(,)?) => {$(
        impl SecureInput for $ty {}
    )*};
}
admitted!(AuthUser, ClientIp, Method, Version, MatchedPath, NestedPath);

impl<T> SecureInput for State<T> {}
impl<T> SecureInput for Extension<T> {}
impl<T> SecureInput for ConnectInfo<T> {}
impl<T> SecureInput for Claims<T> {}

#[diagnostic::do_not_recommend]
impl<T: SecureInput> SecureInput for Option<T> {}

/// The handler answers the rejection itself; what it extracts is still judged.
#[diagnostic::do_not_recommend]
impl<T: SecureInput, E> SecureInput for Result<T, E> {}

#[diagnostic::do_not_recommend]
impl<T: PathParam> SecureInput for Path<T> {}

#[diagnostic::do_not_recommend]
impl<T: PathParam> SecureInput for Parsed<Path<T>> {}

#[diagnostic::do_not_recommend]
impl<E: ValidatedInput, const CHECKED: bool> SecureInput for Valid<E, CHECKED> {}

macro_rules! path_params {
    ($($ty:ty),* $(,)?) => {$(
        impl PathParam for $ty {}
    )*};
}
path_params!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64, bool, char, String,
);
impl<A: PathParam, B: PathParam> PathParam for (A, B) {}
impl<A: PathParam, B: PathParam, C: PathParam> PathParam for (A, B, C) {}
impl<A: PathParam, B: PathParam, C: PathParam, D: PathParam> PathParam for (A, B, C, D) {}

/// A payload that `validate` can check: it implements `garde::Validate` with a context that
/// can be made up (`Default`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be validated: it does not implement `garde::Validate`",
    label = "`validate` checks this type with garde",
    note = "derive it: `#[derive(serde::Deserialize, garde::Validate)]`, with a rule on each \
            field (`#[garde(skip)]` for a field that needs none)"
)]
pub trait Validatable {}

#[diagnostic::do_not_recommend]
impl<T> Validatable for T
where
    T: garde::Validate,
    T::Context: Default,
{
}

/// The expansion's check that an argument is admissible: a call in a constant, so that an
/// inadmissible type is one error on that type.
#[doc(hidden)]
pub const fn admit<T: SecureInput + ?Sized>() {}

/// The expansion's proof that a payload it wraps in [`Valid`] can be validated. It is the
/// `CHECKED` argument of that `Valid`, so that when the proof fails, the error on the
/// payload is the only one: the handler's type then carries the error, and the router that
/// mounts it says nothing more.
#[doc(hidden)]
pub const fn validatable<T: Validatable + ?Sized>() -> bool {
    true
}
