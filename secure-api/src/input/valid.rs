//! `Valid<E>`: an axum extractor that runs garde on what `E` extracted, before the handler.

use crate::problem::{FieldError, Problem};
use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Form, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use garde::Validate;

/// An input extractor whose payload has been validated with garde (REQUIREMENTS V1).
///
/// `#[secure(validate)]` wraps every `Json`, `Query`, `Form`, struct-typed `Path` and
/// `Option<Json>` argument in it; it can also be written by hand. Malformed input is answered
/// 400 (413 when too large, 415 for a wrong content type), input that parses but breaks a
/// rule 422 with one entry per field.
///
/// `CHECKED` is left out when written by hand. The expansion sets it to its compile-time
/// proof that the payload implements `garde::Validate`, so that a missing derive is one
/// error, on the payload type.
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

/// Appends `/segment` to a JSON pointer, escaped as RFC 6901 says (`~` → `~0`, `/` → `~1`).
fn push_pointer_segment(pointer: &mut String, segment: &str) {
    pointer.push('/');
    pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
}

/// An input extractor whose failures are answered as problems, with no validation beyond
/// its type.
///
/// `#[secure]` wraps in it the inputs whose type is their whole contract (`Path<u64>`) and
/// those that opted out with `skip_validation`, so that their errors too are problem+json.
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
    Query: FromRequestParts::from_request_parts(&mut Parts), QueryRejection => |_| {
        Problem::bad_request("The query string does not match what this resource expects.")
    };
    Path: FromRequestParts::from_request_parts(&mut Parts), PathRejection => path_problem;
}

fn path_problem(rejection: PathRejection) -> Problem {
    match rejection.status() {
        StatusCode::INTERNAL_SERVER_ERROR => {
            tracing::error!(target: "secure_api", %rejection, "path extraction misconfigured");
            Problem::internal()
        }
        _ => Problem::bad_request("The URL path does not match what this resource expects."),
    }
}

/// `Valid<E>` extracts through `Parsed<E>`, then validates.
macro_rules! valid_through_parsed {
    ($($extractor:ident: $trait:ident :: $method:ident($input:ty)),* $(,)?) => {$(
        impl<T, S, const CHECKED: bool> $trait<S> for Valid<$extractor<T>, CHECKED>
        where
            Parsed<$extractor<T>>: $trait<S, Rejection = Problem>,
            T: Validate,
            T::Context: Default,
            S: Send + Sync,
        {
            type Rejection = Problem;

            async fn $method(input: $input, state: &S) -> Result<Self, Problem> {
                let Parsed(extracted) = Parsed::<$extractor<T>>::$method(input, state).await?;
                validate(extracted)
            }
        }
    )*};
}
valid_through_parsed!(
    Json: FromRequest::from_request(Request),
    Form: FromRequest::from_request(Request),
    Query: FromRequestParts::from_request_parts(&mut Parts),
    Path: FromRequestParts::from_request_parts(&mut Parts),
);

/// Maps axum's JSON rejections to problems.
fn json_problem(rejection: JsonRejection) -> Problem {
    match rejection {
        JsonRejection::JsonDataError(error) => {
            // axum's rejection → axum_core::Error → what `serde_path_to_error` reported.
            let located = std::error::Error::source(&error)
                .and_then(std::error::Error::source)
                .and_then(|error| {
                    error.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>()
                });
            Problem::unprocessable(vec![match located {
                Some(error) => json_data_error(error),
                None => FieldError {
                    pointer: "#".into(),
                    detail: "the JSON does not have the fields and types this resource expects"
                        .into(),
                },
            }])
        }
        JsonRejection::JsonSyntaxError(_) => {
            Problem::bad_request("The request body is not well-formed JSON.")
        }
        JsonRejection::MissingJsonContentType(_) => {
            Problem::unsupported_media_type("application/json")
        }
        other => body_problem(other.status()),
    }
}

/// Where the JSON went wrong and in which way — but not serde's own message, which can name
/// the server's types (`expected struct NewUser`) or quote long input back.
fn json_data_error(error: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    /// Keys are the client's input: a pointer is cut before it grows into an echo chamber.
    const MAX_POINTER: usize = 256;
    let mut pointer = String::from("#");
    for segment in error.path().iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => {
                push_pointer_segment(&mut pointer, &index.to_string());
            }
            serde_path_to_error::Segment::Map { key } => push_pointer_segment(&mut pointer, key),
            serde_path_to_error::Segment::Enum { variant } => {
                push_pointer_segment(&mut pointer, variant);
            }
            serde_path_to_error::Segment::Unknown => push_pointer_segment(&mut pointer, "-"),
        }
    }
    let message = error.inner().to_string();
    let detail = if message.starts_with("unknown field") {
        "this field is not accepted here"
    } else if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(field, _)| field)
    {
        push_pointer_segment(&mut pointer, field);
        "this field is required"
    } else if message.starts_with("invalid type") {
        "this value has the wrong type"
    } else if message.starts_with("invalid length") {
        "this value has the wrong number of elements"
    } else {
        "this value is not one this resource accepts"
    };
    if pointer.len() > MAX_POINTER {
        let mut end = MAX_POINTER;
        while !pointer.is_char_boundary(end) {
            end -= 1;
        }
        pointer.truncate(end);
    }
    FieldError {
        pointer,
        detail: detail.into(),
    }
}

fn form_problem(rejection: FormRejection) -> Problem {
    match rejection {
        FormRejection::InvalidFormContentType(_) => {
            Problem::unsupported_media_type("application/x-www-form-urlencoded")
        }
        FormRejection::FailedToDeserializeForm(_)
        | FormRejection::FailedToDeserializeFormBody(_) => Problem::bad_request(
            "The form does not have the fields and types this resource expects.",
        ),
        other => body_problem(other.status()),
    }
}

fn body_problem(status: StatusCode) -> Problem {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::payload_too_large(),
        status if status.is_server_error() => Problem::internal(),
        _ => Problem::bad_request("The request body could not be read."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, garde::Validate)]
    struct Signup {
        #[garde(length(min = 3))]
        name: String,
        #[garde(dive)]
        tags: Vec<Tag>,
    }

    #[derive(Debug, garde::Validate)]
    struct Tag {
        #[garde(length(max = 2))]
        label: String,
    }

    #[derive(Debug, serde::Deserialize, garde::Validate)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read by garde only
    struct Note {
        #[garde(skip)]
        title: String,
        #[garde(skip)]
        tags: Vec<u32>,
    }

    /// The one field error for `body` sent to a `Valid<Json<Note>>`.
    async fn json_error(body: &str) -> FieldError {
        let request = Request::builder()
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_owned()))
            .expect("request");
        let problem = Valid::<Json<Note>>::from_request(request, &())
            .await
            .expect_err("refused");
        assert_eq!(problem.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let [error] = problem.errors() else {
            panic!("one error: {:?}", problem.errors())
        };
        error.clone()
    }

    #[tokio::test]
    async fn json_data_errors_point_at_the_field_without_serde_s_words() {
        let cases = [
            (
                r#"{"title":"t","tags":[],"owner_id":1}"#,
                "#/owner_id",
                "this field is not accepted here",
            ),
            (r#"{"tags":[]}"#, "#/title", "this field is required"),
            (
                r#"{"title":"t","tags":[1,"x"]}"#,
                "#/tags/1",
                "this value has the wrong type",
            ),
            ("1", "#", "this value has the wrong type"),
        ];
        for (body, pointer, detail) in cases {
            let error = json_error(body).await;
            assert_eq!(
                (error.pointer.as_str(), error.detail.as_str()),
                (pointer, detail),
                "{body}"
            );
        }
        // A client's absurd key is not echoed back whole.
        let long = format!(r#"{{"{}":1}}"#, "k".repeat(10_000));
        assert!(json_error(&long).await.pointer.len() <= 256);
    }

    #[test]
    fn reports_json_pointers_per_field() {
        let signup = Signup {
            name: "x".into(),
            tags: vec![
                Tag { label: "ok".into() },
                Tag {
                    label: "long".into(),
                },
            ],
        };
        let problem = validate::<_, true>(Json(signup)).expect_err("invalid");
        assert_eq!(problem.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let pointers: Vec<&str> = problem
            .errors()
            .iter()
            .map(|e| e.pointer.as_str())
            .collect();
        assert_eq!(pointers, ["#/name", "#/tags/1/label"]);
    }
}
