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
                Some(error) => {
                    json_data_error(path_pointer(error.path()), &error.inner().to_string())
                }
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

/// Maps serde_json's error for the JSON body `json`: 422 for data that does not fit the type,
/// located by [`pointer_at`] the error's position; 400 for input that is not JSON.
pub(super) fn json_error(json: &[u8], error: &serde_json::Error) -> Problem {
    match error.classify() {
        serde_json::error::Category::Data => Problem::unprocessable(vec![json_data_error(
            pointer_at(json, error.line(), error.column()),
            &error.to_string(),
        )]),
        serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof
        | serde_json::error::Category::Io => not_json(),
    }
}

/// The JSON pointer of the member or element that holds the byte at `line` and `column` (as
/// serde_json counts them) of `json`, a well-formed prefix at least up to there: the keys and
/// indices of the objects and arrays still open. serde_json places a type error just after
/// the value, an unknown field just after its key, and a missing field just after the
/// object's `}` — so each is located at the member it concerns. Working from the position
/// keeps `serde_path_to_error` off a body type's deserializer, which it would wrap on every
/// type of every handler (BENCHMARKS.md §3).
fn pointer_at(json: &[u8], line: usize, column: usize) -> String {
    enum Open {
        /// An object, and the key of the member being read, once read.
        Object(Option<String>),
        Array(usize),
    }
    let line_start = match line {
        0 | 1 => 0,
        line => json
            .iter()
            .enumerate()
            .filter(|(_, byte)| **byte == b'\n')
            .nth(line - 2)
            .map_or(json.len(), |(at, _)| at + 1),
    };
    let end = (line_start + column).min(json.len());
    let mut open: Vec<Open> = Vec::new();
    let mut at = 0;
    while at < end {
        match json[at] {
            b'{' => open.push(Open::Object(None)),
            b'[' => open.push(Open::Array(0)),
            b'}' | b']' => drop(open.pop()),
            b',' => match open.last_mut() {
                Some(Open::Object(key)) => *key = None,
                Some(Open::Array(index)) => *index += 1,
                None => {}
            },
            b'"' => {
                let start = at;
                at += 1;
                while at < json.len() && json[at] != b'"' {
                    at += if json[at] == b'\\' { 2 } else { 1 };
                }
                if let Some(Open::Object(key @ None)) = open.last_mut() {
                    let text = json.get(start..=at).unwrap_or_default();
                    *key = Some(serde_json::from_slice(text).unwrap_or_default());
                }
            }
            _ => {}
        }
        at += 1;
    }
    let mut pointer = String::from("#");
    for segment in &open {
        match segment {
            Open::Object(Some(key)) => push_pointer_segment(&mut pointer, key),
            Open::Object(None) => {}
            Open::Array(index) => push_pointer_segment(&mut pointer, &index.to_string()),
        }
    }
    pointer
}

/// The JSON pointer of a path `serde_path_to_error` tracked (axum's own `Json`).
fn path_pointer(path: &serde_path_to_error::Path) -> String {
    let mut pointer = String::from("#");
    for segment in path.iter() {
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
    pointer
}

/// Where the JSON went wrong (`pointer`) and in which way (serde's `message`) — but not
/// serde's own words, which can name the server's types (`expected struct NewUser`) or quote
/// long input back.
fn json_data_error(mut pointer: String, message: &str) -> FieldError {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde::de::DeserializeOwned;
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Order {
        name: String,
        items: Vec<Item>,
        #[serde(default)]
        note: Option<Note>,
        #[serde(default)]
        labels: BTreeMap<String, u8>,
        #[serde(default)]
        shape: Option<Shape>,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    #[serde(deny_unknown_fields)]
    struct Item {
        qty: u32,
        #[serde(default)]
        pair: Option<(u8, u8)>,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Note {
        text: String,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    enum Shape {
        Circle { radius: u32 },
        Square(u32),
    }

    /// The pointer `serde_path_to_error` finds for `body`, and the one found from the position.
    fn both<T: DeserializeOwned>(body: &str) -> (String, String) {
        let tracked =
            serde_path_to_error::deserialize::<_, T>(&mut serde_json::Deserializer::from_str(body))
                .err()
                .expect("a data error");
        let mut expected = path_pointer(tracked.path());
        let mut found = String::new();
        let error = serde_json::from_str::<T>(body).err().expect("a data error");
        assert!(error.is_data(), "{body}: {error}");
        found.push_str(&pointer_at(body.as_bytes(), error.line(), error.column()));
        // A missing field is named after the pointer of its object, by both.
        for pointer in [&mut expected, &mut found] {
            *pointer = json_data_error(pointer.clone(), &error.to_string()).pointer;
        }
        (expected, found)
    }

    #[test]
    fn the_position_points_where_serde_path_to_error_does() {
        let bodies = [
            r#"{"name": 5, "items": []}"#,
            r#"{"items": []}"#,
            r#"{"name": "n", "items": [{"qty": 1}, {"qty": "x"}]}"#,
            r#"{"name": "n", "items": [{"qty": 1}, {}]}"#,
            r#"{"name": "n", "items": [{"qty": 1, "extra": true}]}"#,
            r#"{"name": "n", "items": [{"qty": 1, "pair": [1, 300]}]}"#,
            r#"{"name": "n", "items": [{"qty": 1, "pair": [1]}]}"#,
            r#"{"name": "n", "items": [], "note": {"text": ["t"]}}"#,
            r#"{"name": "n", "items": [], "note": {}}"#,
            r#"{"name": "n", "items": [], "labels": {"a/b~c": 1, "d\"e": 300}}"#,
            r#"{"name": "n", "items": [], "labels": {"a\u00e9\/": -1}}"#,
            r#"{"name": "n", "items": [], "shape": {"Circle": {"radius": "r"}}}"#,
            r#"{"name": "n", "items": [], "shape": {"Circle": {}}}"#,
            r#"{"name": "n", "items": [], "shape": {"Square": -1}}"#,
            "{\n  \"name\": \"n\",\n  \"items\": [\n    {\"qty\": 1},\n    {\"qty\": 2, \"pair\": {}}\n  ]\n}",
            "{\n  \"items\": [\n  ]\n}\n",
            r#"[1]"#,
            r#""x""#,
            r#"{"name": "\"quoted\" {[", "items": [{"qty": true}]}"#,
        ];
        for body in bodies {
            let (expected, found) = both::<Order>(body);
            assert_eq!(found, expected, "{body}");
        }
        // One place where the position says more: an unknown variant is pointed at as an
        // unknown field is, by its key; serde_path_to_error stops at the enum.
        let unknown_variant = r#"{"name": "n", "items": [], "shape": {"Triangle": 3}}"#;
        assert_eq!(
            both::<Order>(unknown_variant),
            ("#/shape".into(), "#/shape/Triangle".into())
        );
    }
}
