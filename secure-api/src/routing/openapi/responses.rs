//! What an operation answers besides success: the problems of its guard, of its inputs and
//! of its handler, all RFC 9457 problem details, and the headers some of them carry.

use crate::describe::{Description, Location};
use crate::policy::{Auth, PolicySpec, Requirement};
use serde_json::{Map, Value, json};

/// Every problem the operation can answer: the guard's, its inputs' and its handler's own.
pub(super) fn responses(
    spec: &PolicySpec,
    description: &Description,
    addresses_a_resource: bool,
) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "2XX".into(),
        json!({ "description": "The handler's answer." }),
    );
    let mut problem = |status: u16, description: &str, headers: &[&str]| {
        let mut response = json!({
            "description": description,
            "content": { "application/problem+json": {
                "schema": { "$ref": "#/components/schemas/Problem" }
            } },
        });
        if !headers.is_empty() {
            response["headers"] = headers
                .iter()
                .map(|name| {
                    let reference = json!({ "$ref": format!("#/components/headers/{name}") });
                    ((*name).to_owned(), reference)
                })
                .collect::<Map<_, _>>()
                .into();
        }
        // The first description of a status stays: the guard's says more than a handler's.
        responses.entry(status.to_string()).or_insert(response);
    };
    let has_body = description
        .inputs
        .iter()
        .any(|input| matches!(input.location, Location::Body { .. }));
    let malformed = match (spec.auth, description.inputs.is_empty()) {
        (Auth::Public, true) => None,
        (Auth::Public, false) => Some("The input could not be read."),
        _ => Some("The credentials or the input could not be read (or an API key was in the URL)."),
    };
    if let Some(description) = malformed {
        problem(400, description, &[]);
    }
    if spec.auth != Auth::Public {
        problem(
            401,
            "Credentials are missing or not valid.",
            &["WWW-Authenticate"],
        );
    }
    if spec.roles != Requirement::Nothing || spec.scopes != Requirement::Nothing {
        problem(403, "The credentials do not grant this operation.", &[]);
    }
    if addresses_a_resource {
        problem(
            404,
            "No such resource (or not one the caller may see).",
            &[],
        );
    }
    if has_body {
        problem(413, "The body is larger than the API accepts.", &[]);
        problem(
            415,
            "The body is not of the media type the operation reads.",
            &[],
        );
    }
    if !description.inputs.is_empty() {
        problem(422, "The input is not valid; `errors` says where.", &[]);
    }
    problem(
        429,
        "Too many requests: retry after `Retry-After` seconds.",
        &["Retry-After", "RateLimit", "RateLimit-Policy"],
    );
    problem(503, "A store the decision needs is unavailable.", &[]);
    // The handler's own answers, as `problems(..)` lists them.
    for &status in spec.problems {
        let reason = axum::http::StatusCode::from_u16(status)
            .ok()
            .and_then(|status| status.canonical_reason())
            .unwrap_or("Error");
        problem(status, &format!("{reason}, answered by the handler."), &[]);
    }
    Value::Object(responses)
}

/// RFC 9457 problem details, as every error of the API is answered.
pub(super) fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": { "type": "string" },
            "title": { "type": "string" },
            "status": { "type": "integer", "minimum": 100, "maximum": 599 },
            "detail": { "type": "string" },
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["pointer", "detail"],
                    "properties": {
                        "pointer": { "type": "string" },
                        "detail": { "type": "string" },
                    },
                },
            },
        },
    })
}

pub(super) fn headers() -> Value {
    json!({
        "WWW-Authenticate": {
            "description": "The challenge: `Bearer` (RFC 6750) or `ApiKey header=\"X-API-Key\"`.",
            "schema": { "type": "string" },
        },
        // Every 429 says when to come back (RFC 6585, RFC 9110 §10.2.3).
        "Retry-After": {
            "description": "Seconds until a request is admitted again.",
            "required": true,
            "schema": { "type": "integer", "minimum": 0 },
        },
        "RateLimit": {
            "description": "The remaining budget and its reset (IETF RateLimit fields).",
            "schema": { "type": "string" },
        },
        "RateLimit-Policy": {
            "description": "The limit's quota and window (IETF RateLimit fields).",
            "schema": { "type": "string" },
        },
    })
}
