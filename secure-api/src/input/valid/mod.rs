//! `Valid<E>`: an axum extractor that runs garde on what `E` extracted, before the handler.

use super::closed;
use super::rejection::{
    form_problem, json_problem, path_problem, push_pointer_segment, query_mismatch,
};
use crate::problem::{FieldError, Problem};
use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{
    Form, FromRequest, FromRequestParts, OptionalFromRequest, Path, Query, Request,
};
use axum::http::request::Parts;
use garde::Validate;
use serde::de::DeserializeOwned;

/// An input extractor whose payload has been validated with garde (REQUIREMENTS V1).
///
/// `#[secure(validate)]` wraps every `Json`, `Query`, `Form`, struct-typed `Path` and
/// `Option<Json>` argument in it; it can also be written by hand. Malformed input is answered
/// 400 (413 when too large, 415 for a wrong content type), input that parses but breaks a
/// rule 422 with one entry per field. An `Option<Json<T>>` is `None` when the request has no
/// `Content-Type` (axum's rule), and is otherwise parsed and checked like a `Json<T>`.
///
/// `CHECKED` is left out when written by hand. The expansion sets it to its compile-time
/// proof that the payload implements `garde::Validate`, so that a missing derive is one
/// error, on the payload type.
///
/// # Closed bodies
///
/// A `Json`, `Form` or `Query` payload is closed: a key its type does not declare is
/// refused with 422, one entry per key (`#/owner_id`, `#/items/0/extra`; at most 20), with
/// no `#[serde(deny_unknown_fields)]` needed. serde would drop such a key silently, and a
/// field added to the type later would start taking it (OWASP API3, mass assignment). garde
/// runs only on a payload that was accepted as closed.
///
/// A type that must accept keys it does not know opts out by capturing them itself; serde
/// then ignores nothing, so nothing is refused, and the handler sees what came:
///
/// ```
/// use axum::Json;
/// use secure_api::Valid;
///
/// #[derive(serde::Deserialize, garde::Validate)]
/// struct Event {
///     #[garde(length(min = 1))]
///     kind: String,
///     /// Every other key of the object, as sent.
///     #[serde(flatten)]
///     #[garde(skip)]
///     extra: serde_json::Map<String, serde_json::Value>,
/// }
///
/// async fn record(Valid(Json(event)): Valid<Json<Event>>) -> String {
///     format!("{} with {} more keys", event.kind, event.extra.len())
/// }
/// ```
///
/// The check sees the keys serde's derive skips itself, not those in what serde buffers
/// first: keys left over beside a `#[serde(flatten)]` struct field are dropped unseen
/// (capture them in a map as above and refuse a non-empty one), and so are those of
/// internally tagged and untagged enums (give these `#[serde(deny_unknown_fields)]`).
/// [`Parsed`], which carries the inputs of a `skip_validation` handler, parses as axum
/// does: open.
#[derive(Debug, Clone, Copy)]
pub struct Valid<E, const CHECKED: bool = true>(pub E);

/// An extractor whose payload garde can check: `Json<T>`, `Query<T>`, `Form<T>` or
/// `Path<T>` with `T: garde::Validate`, or an `Option` of one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be validated",
    label = "its payload must implement `garde::Validate`",
    note = "derive it: `#[derive(serde::Deserialize, garde::Validate)]` with a rule on each field"
)]
pub trait ValidatedInput {
    /// The type garde validates.
    type Payload: Validate;
    /// The extracted payload, if there is one.
    fn payload(&self) -> Option<&Self::Payload>;
}

macro_rules! validated_input {
    ($($extractor:ident),*) => {$(
        impl<T: Validate> ValidatedInput for $extractor<T> {
            type Payload = T;
            fn payload(&self) -> Option<&T> {
                Some(&self.0)
            }
        }
    )*};
}
validated_input!(Json, Query, Form, Path);

impl<E: ValidatedInput> ValidatedInput for Option<E> {
    type Payload = E::Payload;
    fn payload(&self) -> Option<&E::Payload> {
        self.as_ref().and_then(ValidatedInput::payload)
    }
}

fn validate<E, const CHECKED: bool>(input: E) -> Result<Valid<E, CHECKED>, Problem>
where
    E: ValidatedInput,
    <E::Payload as Validate>::Context: Default,
{
    match input.payload().map_or(Ok(()), Validate::validate) {
        Ok(()) => Ok(Valid(input)),
        Err(report) => Err(Problem::unprocessable(
            report
                .iter()
                .map(|(path, error)| FieldError {
                    pointer: json_pointer(path),
                    detail: error.message().to_owned(),
                })
                .collect(),
        )),
    }
}

/// `items[0].name` → `#/items/0/name` (RFC 6901, in its URI-fragment form).
fn json_pointer(path: &garde::Path) -> String {
    let mut pointer = String::from("#");
    // garde's path serializes as `[[kind, component], ..]` from the root.
    if let Ok(serde_json::Value::Array(components)) = serde_json::to_value(path) {
        for component in components {
            if let Some(name) = component.get(1).and_then(serde_json::Value::as_str) {
                push_pointer_segment(&mut pointer, name);
            }
        }
    }
    pointer
}

/// An input extractor whose failures are answered as problems, with no validation beyond
/// its type.
///
/// `#[secure]` wraps in it the inputs whose type is their whole contract (`Path<u64>`) and
/// those that opted out with `skip_validation`, so that their errors too are problem+json.
/// It parses as axum does: a JSON body, form or query string may carry keys its type does
/// not declare, which serde drops (a [`Valid`] input refuses them).
#[derive(Debug, Clone, Copy)]
pub struct Parsed<E>(pub E);

/// `Parsed<E>` extracts with `E` and answers its rejection as a problem.
macro_rules! parsed {
    ($($extractor:ident: $trait:ident::$method:ident($input:ty), $rejection:ty => $problem:expr;)*) => {$(
        impl<T, S> $trait<S> for Parsed<$extractor<T>>
        where
            $extractor<T>: $trait<S, Rejection = $rejection>,
            S: Send + Sync,
        {
            type Rejection = Problem;

            async fn $method(input: $input, state: &S) -> Result<Self, Problem> {
                $extractor::<T>::$method(input, state)
                    .await
                    .map(Parsed)
                    .map_err($problem)
            }
        }
    )*};
}
parsed! {
    Json: FromRequest::from_request(Request), JsonRejection => json_problem;
    Form: FromRequest::from_request(Request), FormRejection => form_problem;
    Query: FromRequestParts::from_request_parts(&mut Parts), QueryRejection => |_| query_mismatch();
    Path: FromRequestParts::from_request_parts(&mut Parts), PathRejection => path_problem;
}

/// `Parsed<Option<Json<T>>>`: axum's optional JSON body, its rejection answered as a problem.
impl<T, S> FromRequest<S> for Parsed<Option<Json<T>>>
where
    Json<T>: OptionalFromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        <Json<T> as OptionalFromRequest<S>>::from_request(request, state)
            .await
            .map(Parsed)
            .map_err(json_problem)
    }
}

/// `Valid<Json<T>>`: a closed JSON body, then garde.
impl<T, S, const CHECKED: bool> FromRequest<S> for Valid<Json<T>, CHECKED>
where
    T: DeserializeOwned + Validate,
    T::Context: Default,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        validate(Json(closed::json_body(request, state).await?))
    }
}

/// `Valid<Option<Json<T>>>`: `None` without a content type, as axum decides; otherwise a
/// closed JSON body, then garde.
impl<T, S, const CHECKED: bool> FromRequest<S> for Valid<Option<Json<T>>, CHECKED>
where
    T: DeserializeOwned + Validate,
    T::Context: Default,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        if !closed::has_content_type(request.headers()) {
            return Ok(Valid(None));
        }
        validate(Some(Json(closed::json_body(request, state).await?)))
    }
}

/// `Valid<Form<T>>`: a closed form, then garde.
impl<T, S, const CHECKED: bool> FromRequest<S> for Valid<Form<T>, CHECKED>
where
    T: DeserializeOwned + Validate,
    T::Context: Default,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        validate(Form(closed::form(request, state).await?))
    }
}

/// `Valid<Query<T>>`: a closed query string, then garde.
impl<T, S, const CHECKED: bool> FromRequestParts<S> for Valid<Query<T>, CHECKED>
where
    T: DeserializeOwned + Validate,
    T::Context: Default,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        validate(Query(closed::query(parts)?))
    }
}

/// `Valid<Path<T>>`: the path as axum parses it, then garde.
impl<T, S, const CHECKED: bool> FromRequestParts<S> for Valid<Path<T>, CHECKED>
where
    Parsed<Path<T>>: FromRequestParts<S, Rejection = Problem>,
    T: Validate,
    T::Context: Default,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let Parsed(extracted) = Parsed::<Path<T>>::from_request_parts(parts, state).await?;
        validate(extracted)
    }
}

// A validated or parsed input is described as the input it wraps (with the `openapi` feature).
#[cfg(feature = "openapi")]
mod described {
    use super::{Parsed, Valid};
    use crate::describe::{DescribeInput, Description, Probe};

    impl<E, const CHECKED: bool> DescribeInput for Probe<Valid<E, CHECKED>>
    where
        Probe<E>: DescribeInput,
    {
        fn describe_input(&self, description: &mut Description) {
            Probe::<E>::new().describe_input(description);
        }
    }

    impl<E> DescribeInput for Probe<Parsed<E>>
    where
        Probe<E>: DescribeInput,
    {
        fn describe_input(&self, description: &mut Description) {
            Probe::<E>::new().describe_input(description);
        }
    }
}

#[cfg(test)]
mod tests;
