//! A real OpenID provider's tokens through `#[secure]` handlers, end to end over HTTP on
//! loopback: the API discovers the provider's keys (`oidc_issuer`), verifies its RFC 9068
//! access tokens with roles and scopes from their claims, follows its key rotations without a
//! restart, outlives its outages without ever admitting a token it cannot verify, and does
//! not let a flood of unknown key ids turn into a flood of fetches.

use crate::common::{Answer, client, serve};
use crate::oidc::{OidcProvider, ProviderKey, ProviderKeys, RESOURCE};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use jsonwebtoken::Algorithm;
use secure_api::routing::SecureRouter;
use secure_api::{AuthUser, Security, secure};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[secure(role = "editor", scope = "notes:write", rate = "10000/1m")]
async fn write_note(user: AuthUser) -> String {
    user.subject().to_owned()
}

#[secure(role = "admin", rate = "10000/1m")]
async fn purge() -> &'static str {
    "purged"
}

/// The API, its keys fetched from `configure`'s source; short intervals for the tests.
async fn api(
    configure: impl FnOnce(secure_api::SecurityBuilder) -> secure_api::SecurityBuilder,
) -> String {
    let security = configure(
        Security::builder()
            .audience(RESOURCE)
            .key_algorithms([Algorithm::ES256, Algorithm::RS256])
            .key_refetch_interval(Duration::from_millis(300))
            .key_refresh(Duration::from_millis(500), Duration::from_millis(500))
            .failed_auth_rate(100_000, Duration::from_secs(60)),
    )
    .build()
    .expect("configuration");
    let app = SecureRouter::new()
        .route("/notes", secure_api::routing::post(write_note))
        .route("/purge", secure_api::routing::post(purge))
        .with_state(security);
    format!("http://{}", serve(app).await)
}

async fn call(url: &str, token: &str) -> Answer {
    Answer::from(
        client()
            .post(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("request"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_tokens_pass_with_the_roles_and_scopes_they_carry() {
    let keys = ProviderKeys::new(vec![ProviderKey::es256("es-1")]);
    let Some(provider) = OidcProvider::start(&keys) else {
        return;
    };
    let api = api(|builder| builder.oidc_issuer(provider.issuer())).await;
    let writer = provider.access_token("notes:read notes:write").await;
    let answer = call(&format!("{api}/notes"), &writer).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, crate::oidc::CLIENT_ID);
    // The provider gave the role `editor`, not `admin`; and a token without the scope
    // does not write.
    call(&format!("{api}/purge"), &writer)
        .await
        .assert_problem(403);
    let reader = provider.access_token("notes:read").await;
    call(&format!("{api}/notes"), &reader)
        .await
        .assert_problem(403);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_is_picked_up_and_a_retired_key_refused_without_a_restart() {
    let (old, new) = (ProviderKey::es256("es-old"), ProviderKey::rs256("rs-new"));
    let Some(mut provider) = OidcProvider::start(&ProviderKeys::new(vec![old.clone()])) else {
        return;
    };
    let api = api(|builder| builder.oidc_issuer(provider.issuer())).await;
    let notes = format!("{api}/notes");
    let before = provider.access_token("notes:write").await;
    assert_eq!(call(&notes, &before).await.status, 200);

    // Overlap: the new key signs, the old one is still published.
    provider.restart_with(&ProviderKeys::new(vec![new.clone(), old.clone()]));
    let after = provider.access_token("notes:write").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        call(&notes, &after).await.status,
        200,
        "the new key was fetched"
    );
    assert_eq!(
        call(&notes, &before).await.status,
        200,
        "the old one still holds"
    );

    // Retirement: the old key is gone from the provider, and from the API after a refresh.
    provider.restart_with(&ProviderKeys::new(vec![new]));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    call(&notes, &before).await.assert_problem(401);
    assert_eq!(call(&notes, &after).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_outage_keeps_the_fetched_keys_and_admits_nothing_unverifiable() {
    let keys = ProviderKeys::new(vec![ProviderKey::es256("es-1")]);
    let Some(mut provider) = OidcProvider::start(&keys) else {
        return;
    };
    let api = api(|builder| builder.oidc_issuer(provider.issuer())).await;
    let notes = format!("{api}/notes");
    let used = provider.access_token("notes:write").await;
    let unused = provider.access_token("notes:write").await;
    assert_eq!(call(&notes, &used).await.status, 200);

    provider.stop();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // A token never seen before is verified with the keys kept through the outage.
    assert_eq!(call(&notes, &unused).await.status, 200);
    // One that names a key the set lacks cannot be verified: refused, not admitted.
    let forged = with_kid(&unused, "es-2");
    call(&notes, &forged).await.assert_problem(401);
}

/// `token` with its header rewritten to name `kid` (the signature no longer matters: a kid
/// the set lacks is refused before any signature is checked).
fn with_kid(token: &str, kid: &str) -> String {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (header, rest) = token.split_once('.').expect("a JWS");
    let mut header: serde_json::Value =
        serde_json::from_slice(&engine.decode(header).expect("base64url")).expect("JSON");
    header["kid"] = kid.into();
    format!("{}.{rest}", engine.encode(header.to_string()))
}

/// The provider's JWKS endpoint behind a counting pass-through, so that the fetches the API
/// makes can be counted.
async fn counting_proxy(jwks_uri: String) -> (String, Arc<AtomicUsize>) {
    let fetches = Arc::new(AtomicUsize::new(0));
    let state = (jwks_uri, Arc::clone(&fetches));
    let proxy = Router::new()
        .route(
            "/jwks",
            get(
                |State((upstream, fetches)): State<(String, Arc<AtomicUsize>)>| async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    match client().get(upstream).send().await {
                        Ok(response) => {
                            let body = response.bytes().await.unwrap_or_default();
                            ([("content-type", "application/json")], body).into_response()
                        }
                        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
                    }
                },
            ),
        )
        .with_state(state);
    let address = serve(proxy).await;
    (format!("http://{address}/jwks"), fetches)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_unknown_kids_causes_a_bounded_number_of_fetches() {
    let keys = ProviderKeys::new(vec![ProviderKey::es256("es-1")]);
    let Some(provider) = OidcProvider::start(&keys) else {
        return;
    };
    let (jwks_url, fetches) = counting_proxy(provider.jwks_uri()).await;
    let issuer = provider.issuer();
    let api = api(|builder| builder.jwks_url(jwks_url).issuer(issuer)).await;
    let notes = format!("{api}/notes");
    let token = provider.access_token("notes:write").await;
    assert_eq!(call(&notes, &token).await.status, 200);
    let before = fetches.load(Ordering::SeqCst);
    let started = std::time::Instant::now();
    let flood: Vec<_> = (0..300)
        .map(|n| {
            let (notes, forged) = (notes.clone(), with_kid(&token, &format!("kid-{n}")));
            tokio::spawn(async move { call(&notes, &forged).await.status })
        })
        .collect();
    for request in flood {
        assert_eq!(request.await.expect("task"), 401);
    }
    // At most one fetch per 300 ms refetch interval, plus the scheduled refreshes (every
    // 500 ms), however many requests asked.
    let elapsed = started.elapsed().as_millis();
    let bound = elapsed / 300 + elapsed / 500 + 2;
    let fetched = fetches.load(Ordering::SeqCst) - before;
    assert!(
        fetched as u128 <= bound,
        "{fetched} fetches in {elapsed} ms"
    );
}
