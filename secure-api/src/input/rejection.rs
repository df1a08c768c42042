//! Why an input was refused, as a problem: axum's rejections and serde's errors mapped to
//! RFC 9457 answers that locate the fault without echoing serde's words or the input.

use crate::problem::{FieldError, Problem};
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, RawFormRejection};
use axum::http::StatusCode;

/// The detail of a field the target type does not declare.
pub(super) const NOT_ACCEPTED: &str = "this field is not accepted here";

/// The answer to a body that is not JSON at all (syntax, early end, trailing characters).
pub(super) fn not_json() -> Problem {
    Problem::bad_request("The request body is not well-formed JSON.")
}

/// The answer to a form whose values do not fit the target type.
pub(super) fn form_mismatch() -> Problem {
    Problem::bad_request("The form does not have the fields and types this resource expects.")
}

/// The answer to a query string whose values do not fit the target type.
pub(super) fn query_mismatch() -> Problem {
    Problem::bad_request("The query string does not match what this resource expects.")
}

/// Appends `/segment` to a JSON pointer, escaped as RFC 6901 says (`~` → `~0`, `/` → `~1`).
pub(super) fn push_pointer_segment(pointer: &mut String, segment: &str) {
    pointer.push('/');
    pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
}

/// Keys are the client's input: a pointer is cut before it grows into an echo chamber.
pub(super) fn cap_pointer(pointer: &mut String) {
    const MAX_POINTER: usize = 256;
    if pointer.len() > MAX_POINTER {
        let mut end = MAX_POINTER;
        while !pointer.is_char_boundary(end) {
            end -= 1;
        }
        pointer.truncate(end);
    }
}

/// Maps axum's JSON rejections to problems.
pub(super) fn json_problem(rejection: JsonRejection) -> Problem {
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
        JsonRejection::JsonSyntaxError(_) => not_json(),
        JsonRejection::MissingJsonContentType(_) => {
            Problem::unsupported_media_type("application/json")
        }
        other => body_problem(other.status()),
    }
}

/// Maps what `serde_path_to_error` reports of a JSON body: 422 for data that does not fit
/// the type, 400 for input that is not JSON.
pub(super) fn json_error(error: &serde_path_to_error::Error<serde_json::Error>) -> Problem {
    match error.inner().classify() {
        serde_json::error::Category::Data => Problem::unprocessable(vec![json_data_error(error)]),
        serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof
        | serde_json::error::Category::Io => not_json(),
    }
}

/// Where the JSON went wrong and in which way — but not serde's own message, which can name
/// the server's types (`expected struct NewUser`) or quote long input back.
fn json_data_error(error: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
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
        NOT_ACCEPTED
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
    cap_pointer(&mut pointer);
    FieldError {
        pointer,
        detail: detail.into(),
    }
}

pub(super) fn form_problem(rejection: FormRejection) -> Problem {
    match rejection {
        FormRejection::InvalidFormContentType(_) => {
            Problem::unsupported_media_type("application/x-www-form-urlencoded")
        }
        FormRejection::FailedToDeserializeForm(_)
        | FormRejection::FailedToDeserializeFormBody(_) => form_mismatch(),
        other => body_problem(other.status()),
    }
}

pub(super) fn raw_form_problem(rejection: RawFormRejection) -> Problem {
    match rejection {
        RawFormRejection::InvalidFormContentType(_) => {
            Problem::unsupported_media_type("application/x-www-form-urlencoded")
        }
        other => body_problem(other.status()),
    }
}

pub(super) fn path_problem(rejection: PathRejection) -> Problem {
    match rejection.status() {
        StatusCode::INTERNAL_SERVER_ERROR => {
            tracing::error!(target: "secure_api", %rejection, "path extraction misconfigured");
            Problem::internal()
        }
        _ => Problem::bad_request("The URL path does not match what this resource expects."),
    }
}

pub(super) fn body_problem(status: StatusCode) -> Problem {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::payload_too_large(),
        status if status.is_server_error() => Problem::internal(),
        _ => Problem::bad_request("The request body could not be read."),
    }
}
