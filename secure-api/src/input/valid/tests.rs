use super::*;
use axum::http::StatusCode;

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

#[derive(Debug, serde::Deserialize, garde::Validate)]
struct Comment {
    #[garde(length(min = 1))]
    text: String,
}

const JSON: Option<&str> = Some("application/json");

fn request(content_type: Option<&str>, body: &'static str) -> Request {
    let mut request = Request::builder();
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.body(axum::body::Body::from(body)).expect("request")
}

#[tokio::test]
async fn an_optional_json_body_is_absent_without_a_content_type() {
    // axum's rule: the content type says whether there is a body, not the bytes.
    for body in ["", r#"{"text":"hi"}"#] {
        let Valid(comment) = Valid::<Option<Json<Comment>>>::from_request(request(None, body), &())
            .await
            .expect("absent");
        assert!(comment.is_none(), "{body}");
    }
}

#[tokio::test]
async fn an_optional_json_body_that_is_present_is_closed_and_validated() {
    let optional = |content_type: Option<&'static str>, body: &'static str| {
        Valid::<Option<Json<Comment>>>::from_request(request(content_type, body), &())
    };
    let Valid(Some(Json(comment))) = optional(JSON, r#"{"text":"hi"}"#).await.expect("valid")
    else {
        panic!("present")
    };
    assert_eq!(comment.text, "hi");
    for (body, pointer, detail) in [
        (r#"{"text":""}"#, "#/text", "length is lower than 1"),
        (
            r#"{"text":"hi","author_id":1}"#,
            "#/author_id",
            "this field is not accepted here",
        ),
    ] {
        let problem = optional(JSON, body).await.expect_err("refused");
        assert_eq!(problem.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let [error] = problem.errors() else {
            panic!("one error: {:?}", problem.errors())
        };
        assert_eq!(
            (error.pointer.as_str(), error.detail.as_str()),
            (pointer, detail)
        );
    }
    let problem = optional(Some("text/plain"), "hi")
        .await
        .expect_err("not JSON");
    assert_eq!(problem.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let problem = optional(JSON, "").await.expect_err("empty");
    assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn parsed_json_stays_open() {
    let extra = r#"{"text":"hi","author_id":1}"#;
    let Parsed(Json(comment)) = Parsed::<Json<Comment>>::from_request(request(JSON, extra), &())
        .await
        .expect("open");
    assert_eq!(comment.text, "hi");

    let optional = |content_type: Option<&'static str>, body: &'static str| {
        Parsed::<Option<Json<Comment>>>::from_request(request(content_type, body), &())
    };
    assert!(optional(None, extra).await.expect("absent").0.is_none());
    let Parsed(Some(Json(comment))) = optional(JSON, extra).await.expect("open") else {
        panic!("present")
    };
    assert_eq!(comment.text, "hi");
    let problem = optional(JSON, "{").await.expect_err("not JSON");
    assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
    let problem = optional(Some("text/plain"), extra)
        .await
        .expect_err("not JSON");
    assert_eq!(problem.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
