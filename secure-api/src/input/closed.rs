//! Closed inputs: a JSON body, form or query string is parsed into its type, and a key the
//! type does not declare is refused (422) instead of silently dropped (OWASP API3, mass
//! assignment). serde reports such keys through `serde_ignored`; a type that captures extra
//! keys itself (`#[serde(flatten)] extra: Map<..>`) ignores none, so it stays open.

use super::numbers;
use super::rejection::{
    NOT_ACCEPTED, body_problem, cap_pointer, form_mismatch, json_error, not_json,
    push_pointer_segment, query_mismatch, raw_form_problem,
};
use crate::problem::{FieldError, Problem};
use axum::body::Bytes;
use axum::extract::{FromRequest, RawForm, Request};
use axum::http::header::{CONTENT_TYPE, HeaderMap};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::borrow::Cow;

/// The most undeclared keys one answer lists; the rest are refused all the same.
const MAX_UNKNOWN: usize = 20;

/// Whether a request declares a body at all: axum's test for an `Option<Json<T>>` that is
/// present.
pub(super) fn has_content_type(headers: &HeaderMap) -> bool {
    headers.contains_key(CONTENT_TYPE)
}

/// `application/json` or `application/<anything>+json`, with any parameters, in any case:
/// the content types axum's `Json` accepts.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return false;
    };
    // What nearly every client sends, decided without parsing (which allocates).
    if value.as_bytes().eq_ignore_ascii_case(b"application/json") {
        return true;
    }
    value
        .to_str()
        .ok()
        .and_then(|value| value.parse::<mime::Mime>().ok())
        .is_some_and(|mime| {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|name| name == "json"))
        })
}

/// Reads a JSON body (within the body limit) into `T`, closed.
pub(super) async fn json_body<T, S>(request: Request, state: &S) -> Result<T, Problem>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    if !is_json(request.headers()) {
        return Err(Problem::unsupported_media_type("application/json"));
    }
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| body_problem(rejection.status()))?;
    json(&bytes)
}

/// Parses `bytes` as one JSON value of type `T`, closed.
pub(super) fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let bytes = numbers::integral_numbers_as_integers(bytes);
    let mut unknown = Unknown::default();
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    let parsed = {
        let mut report = |path: serde_ignored::Path<'_>| unknown.record(&path);
        T::deserialize(serde_ignored::Deserializer::new(
            &mut deserializer,
            &mut report,
        ))
    };
    let value = parsed.map_err(|error| json_error(&bytes, &error))?;
    deserializer.end().map_err(|_| not_json())?;
    unknown.refuse_any()?;
    Ok(value)
}

/// Reads a form into `T`, closed: from the query string of a GET, otherwise from an
/// `application/x-www-form-urlencoded` body (axum's `RawForm`, as axum's `Form` does).
pub(super) async fn form<T, S>(request: Request, state: &S) -> Result<T, Problem>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    let RawForm(bytes) = RawForm::from_request(request, state)
        .await
        .map_err(raw_form_problem)?;
    urlencoded(&bytes).map_err(|mismatch| mismatch.unwrap_or_else(form_mismatch))
}

/// Reads the query string into `T`, closed.
pub(super) fn query<T: DeserializeOwned>(parts: &Parts) -> Result<T, Problem> {
    let query = parts.uri.query().unwrap_or_default();
    urlencoded(query.as_bytes()).map_err(|mismatch| mismatch.unwrap_or_else(query_mismatch))
}

/// Parses `application/x-www-form-urlencoded` pairs into `T`, closed. `Err(None)` when the
/// values do not fit `T`, which the caller answers in its own words.
fn urlencoded<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Option<Problem>> {
    let mut unknown = Unknown::default();
    let parsed = {
        let mut report = |path: serde_ignored::Path<'_>| unknown.record(&path);
        let pairs = serde_urlencoded::Deserializer::new(form_urlencoded::parse(bytes));
        T::deserialize(serde_ignored::Deserializer::new(pairs, &mut report))
    };
    let value = parsed.map_err(|_| None)?;
    unknown.refuse_any().map_err(Some)?;
    Ok(value)
}

/// The keys serde ignored, as JSON pointers: at most [`MAX_UNKNOWN`], each once.
#[derive(Default)]
struct Unknown(Vec<String>);

impl Unknown {
    fn record(&mut self, path: &serde_ignored::Path<'_>) {
        if self.0.len() == MAX_UNKNOWN {
            return;
        }
        let pointer = pointer(path);
        if !self.0.contains(&pointer) {
            self.0.push(pointer);
        }
    }

    /// 422 with one entry per undeclared key, if there was one.
    fn refuse_any(self) -> Result<(), Problem> {
        if self.0.is_empty() {
            return Ok(());
        }
        Err(Problem::unprocessable(
            self.0
                .into_iter()
                .map(|pointer| FieldError {
                    pointer,
                    detail: NOT_ACCEPTED.into(),
                })
                .collect(),
        ))
    }
}

/// `items.0.extra` → `#/items/0/extra`, escaped and capped like every pointer we answer.
fn pointer(path: &serde_ignored::Path<'_>) -> String {
    let mut segments: Vec<Cow<'_, str>> = Vec::new();
    let mut at = path;
    loop {
        at = match at {
            serde_ignored::Path::Root => break,
            serde_ignored::Path::Seq { parent, index } => {
                segments.push(Cow::Owned(index.to_string()));
                parent
            }
            serde_ignored::Path::Map { parent, key } => {
                segments.push(Cow::Borrowed(key));
                parent
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => parent,
        };
    }
    let mut pointer = String::from("#");
    for segment in segments.iter().rev() {
        push_pointer_segment(&mut pointer, segment);
    }
    cap_pointer(&mut pointer);
    pointer
}

#[cfg(test)]
mod tests {
    use super::super::Valid;
    use super::*;
    use axum::body::Body;
    use axum::extract::{Form, Query};
    use axum::http::StatusCode;
    use axum::{Json, http};
    use serde::Deserialize;

    #[derive(Debug, Deserialize, garde::Validate)]
    struct Order {
        #[garde(length(min = 1))]
        name: String,
        #[garde(dive)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize, garde::Validate)]
    struct Item {
        #[garde(range(min = 1))]
        qty: u32,
    }

    #[derive(Debug, Deserialize, garde::Validate)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        #[garde(skip)]
        name: String,
    }

    #[derive(Debug, Deserialize, garde::Validate)]
    struct Event {
        #[garde(length(min = 1))]
        kind: String,
        #[serde(flatten)]
        #[garde(skip)]
        extra: serde_json::Map<String, serde_json::Value>,
    }

    #[derive(Debug, Deserialize, garde::Validate)]
    struct Search {
        #[garde(length(min = 1))]
        q: String,
        #[garde(range(max = 100))]
        limit: u32,
    }

    fn request(method: &str, uri: &str, content_type: Option<&str>, body: &str) -> Request {
        let mut builder = http::Request::builder().method(method).uri(uri);
        if let Some(content_type) = content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        builder.body(Body::from(body.to_owned())).expect("request")
    }

    fn json_request(body: &str) -> Request {
        request("POST", "/", Some("application/json"), body)
    }

    async fn extract<X, M>(request: Request) -> Result<X, Problem>
    where
        X: FromRequest<(), M, Rejection = Problem>,
    {
        X::from_request(request, &()).await
    }

    /// The pointers of a 422, each checked to be an undeclared field.
    fn undeclared(problem: &Problem) -> Vec<&str> {
        assert_eq!(problem.status(), StatusCode::UNPROCESSABLE_ENTITY);
        problem
            .errors()
            .iter()
            .map(|error| {
                assert_eq!(error.detail, NOT_ACCEPTED, "{}", error.pointer);
                error.pointer.as_str()
            })
            .collect()
    }

    #[tokio::test]
    async fn undeclared_json_fields_are_refused_each_with_its_pointer() {
        let body =
            r#"{"name":"n","owner_id":1,"items":[{"qty":1,"extra":true},{"qty":2}],"a/b~c":0}"#;
        let problem = extract::<Valid<Json<Order>>, _>(json_request(body))
            .await
            .expect_err("closed");
        assert_eq!(
            undeclared(&problem),
            ["#/owner_id", "#/items/0/extra", "#/a~1b~0c"]
        );
        // `deny_unknown_fields` still works, and answers the same.
        let problem =
            extract::<Valid<Json<Strict>>, _>(json_request(r#"{"name":"n","owner_id":1}"#))
                .await
                .expect_err("closed");
        assert_eq!(undeclared(&problem), ["#/owner_id"]);
        let strict = extract::<Valid<Json<Strict>>, _>(json_request(r#"{"name":"n"}"#)).await;
        assert_eq!(strict.expect("declared").0.0.name, "n");
        let Valid(Json(order)) =
            extract::<Valid<Json<Order>>, _>(json_request(r#"{"name":"n","items":[{"qty":3}]}"#))
                .await
                .expect("declared fields only");
        assert_eq!((order.name.as_str(), order.items[0].qty), ("n", 3));
    }

    #[tokio::test]
    async fn garde_runs_only_on_a_closed_body() {
        let body = r#"{"name":"","items":[{"qty":0}],"role":"admin"}"#;
        let problem = extract::<Valid<Json<Order>>, _>(json_request(body))
            .await
            .expect_err("closed");
        assert_eq!(undeclared(&problem), ["#/role"]);
        let problem =
            extract::<Valid<Json<Order>>, _>(json_request(r#"{"name":"","items":[{"qty":0}]}"#))
                .await
                .expect_err("invalid");
        let pointers: Vec<&str> = problem
            .errors()
            .iter()
            .map(|e| e.pointer.as_str())
            .collect();
        assert_eq!(pointers, ["#/items/0/qty", "#/name"]);
    }

    #[tokio::test]
    async fn undeclared_fields_are_listed_once_at_most_twenty_and_cut_short() {
        let many: Vec<String> = (0..30).map(|i| format!(r#""k{i}":{i}"#)).collect();
        let body = format!(r#"{{"name":"n","items":[],{}}}"#, many.join(","));
        let problem = extract::<Valid<Json<Order>>, _>(json_request(&body))
            .await
            .expect_err("closed");
        let pointers = undeclared(&problem);
        assert_eq!(pointers.len(), MAX_UNKNOWN);
        assert_eq!((pointers[0], pointers[19]), ("#/k0", "#/k19"));

        let body = r#"{"name":"n","items":[],"x":1,"x":2}"#;
        let problem = extract::<Valid<Json<Order>>, _>(json_request(body))
            .await
            .expect_err("closed");
        assert_eq!(undeclared(&problem), ["#/x"]);

        let body = format!(r#"{{"name":"n","items":[],"{}":1}}"#, "é".repeat(5_000));
        let problem = extract::<Valid<Json<Order>>, _>(json_request(&body))
            .await
            .expect_err("closed");
        let [pointer] = undeclared(&problem)[..] else {
            panic!("one entry")
        };
        assert!(
            pointer.len() <= 256 && pointer.starts_with("#/éé"),
            "{pointer}"
        );
    }

    #[tokio::test]
    async fn a_flattened_map_opts_out_and_takes_the_extra_fields() {
        let body = r#"{"kind":"click","x":1,"nested":{"y":2}}"#;
        let Valid(Json(event)) = extract::<Valid<Json<Event>>, _>(json_request(body))
            .await
            .expect("open by its own declaration");
        assert_eq!(event.kind, "click");
        assert_eq!(
            serde_json::Value::Object(event.extra),
            serde_json::json!({"x": 1, "nested": {"y": 2}})
        );
        // garde still runs on it.
        let problem = extract::<Valid<Json<Event>>, _>(json_request(r#"{"kind":"","x":1}"#))
            .await
            .expect_err("invalid");
        assert_eq!(problem.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.errors()[0].pointer, "#/kind");
    }

    #[tokio::test]
    async fn json_needs_a_json_content_type() {
        let body = r#"{"name":"n","items":[]}"#;
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let request = request("POST", "/", content_type, body);
            let problem = extract::<Valid<Json<Order>>, _>(request)
                .await
                .expect_err("not JSON");
            assert_eq!(
                problem.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{content_type:?}"
            );
        }
        for content_type in [
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
        ] {
            let request = request("POST", "/", Some(content_type), body);
            extract::<Valid<Json<Order>>, _>(request)
                .await
                .unwrap_or_else(|problem| panic!("{content_type}: {problem:?}"));
        }
    }

    #[tokio::test]
    async fn a_body_that_is_not_json_is_a_bad_request_and_a_large_one_too_large() {
        for body in [
            r#"{"name":"n","items":[]} x"#,
            r#"{"name":"n","items":[],"extra":1}{}"#,
            r#"{"name":"#,
            "",
        ] {
            let problem = extract::<Valid<Json<Order>>, _>(json_request(body))
                .await
                .expect_err("not JSON");
            assert_eq!(problem.status(), StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(
                problem.detail(),
                "The request body is not well-formed JSON."
            );
        }
        // axum's default limit of 2 MiB, applied by its `Bytes` extractor.
        let body = format!(r#"{{"name":"{}","items":[]}}"#, "n".repeat(3 << 20));
        let problem = extract::<Valid<Json<Order>>, _>(json_request(&body))
            .await
            .expect_err("too large");
        assert_eq!(problem.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn undeclared_form_keys_are_refused() {
        const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
        let post = request("POST", "/", FORM, "q=a&limit=1&admin=1&a%2Fb=2");
        let problem = extract::<Valid<Form<Search>>, _>(post)
            .await
            .expect_err("closed");
        assert_eq!(undeclared(&problem), ["#/admin", "#/a~1b"]);
        // A GET form is its query string, as with axum's `Form`.
        let get = request("GET", "/?q=a&limit=1&admin=1", None, "");
        let problem = extract::<Valid<Form<Search>>, _>(get)
            .await
            .expect_err("closed");
        assert_eq!(undeclared(&problem), ["#/admin"]);

        let Valid(Form(search)) =
            extract::<Valid<Form<Search>>, _>(request("POST", "/", FORM, "q=a&limit=7"))
                .await
                .expect("declared keys only");
        assert_eq!((search.q.as_str(), search.limit), ("a", 7));
        let problem = extract::<Valid<Form<Search>>, _>(request("POST", "/", None, "q=a&limit=7"))
            .await
            .expect_err("no content type");
        assert_eq!(problem.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let problem =
            extract::<Valid<Form<Search>>, _>(request("POST", "/", FORM, "q=a&limit=many"))
                .await
                .expect_err("mismatch");
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn undeclared_query_keys_are_refused() {
        let query = |uri: &str| extract::<Valid<Query<Search>>, _>(request("GET", uri, None, ""));
        let problem = query("/?q=a&limit=5&role=admin").await.expect_err("closed");
        assert_eq!(undeclared(&problem), ["#/role"]);
        let Valid(Query(search)) = query("/?q=a&limit=5").await.expect("declared keys only");
        assert_eq!((search.q.as_str(), search.limit), ("a", 5));
        let problem = query("/?q=a&limit=500").await.expect_err("invalid");
        assert_eq!(problem.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.errors()[0].pointer, "#/limit");
        let problem = query("/?q=a&limit=x").await.expect_err("mismatch");
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
    }
}
