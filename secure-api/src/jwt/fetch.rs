//! Fetching a provider's documents: HTTPS with the platform's roots (plain HTTP only on
//! loopback), timeouts, a size cap, redirects only to the same host and port.

use axum::body::Bytes;
use axum::http::{Request, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;
use url::Url;

use super::jwk::MAX_DOCUMENT_BYTES;
use crate::error::ConfigError;

pub(super) type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// How long a fetch may take, connection included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Redirects followed, and only to the same host and port.
const MAX_REDIRECTS: usize = 3;

/// GETs a JSON document of bounded size, following redirects only to the same host;
/// returns it and its `Cache-Control: max-age`.
pub(super) async fn get(
    client: &HttpClient,
    url: &Url,
) -> Result<(Vec<u8>, Option<Duration>), String> {
    let mut url = url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let request = Request::get(url.as_str())
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, USER_AGENT)
            .body(Empty::new())
            .map_err(|_| format!("`{url}` cannot be requested"))?;
        let fetched = tokio::time::timeout(FETCH_TIMEOUT, async {
            let response = client
                .request(request)
                .await
                .map_err(|error| format!("GET {url} failed: {error}"))?;
            let (parts, body) = response.into_parts();
            if parts.status.is_redirection() {
                return Ok(Err(parts.headers.get(header::LOCATION).cloned()));
            }
            if !parts.status.is_success() {
                return Err(format!("GET {url} answered {}", parts.status));
            }
            let body = Limited::new(body, MAX_DOCUMENT_BYTES)
                .collect()
                .await
                .map_err(|_| {
                    format!(
                        "GET {url}: the document is over {MAX_DOCUMENT_BYTES} bytes, or broken off"
                    )
                })?
                .to_bytes();
            let max_age = parts
                .headers
                .get_all(header::CACHE_CONTROL)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .find_map(max_age);
            Ok(Ok((body.to_vec(), max_age)))
        })
        .await
        .map_err(|_| format!("GET {url} took over {FETCH_TIMEOUT:?}"))??;
        let location = match fetched {
            Ok(document) => return Ok(document),
            Err(location) => location,
        };
        let next = location
            .and_then(|location| location.to_str().ok().map(str::to_owned))
            .and_then(|location| url.join(&location).ok())
            .ok_or_else(|| format!("GET {url}: a redirect without a usable Location"))?;
        if next.host_str() != url.host_str()
            || next.port_or_known_default() != url.port_or_known_default()
        {
            return Err(format!(
                "GET {url}: redirected to another host, not followed"
            ));
        }
        url = allowed_url(next.as_str())?;
    }
    Err(format!("GET {url}: more than {MAX_REDIRECTS} redirects"))
}

/// `max-age=300` out of a `Cache-Control` value.
fn max_age(value: &str) -> Option<Duration> {
    value.split(',').find_map(|directive| {
        let (name, seconds) = directive.trim().split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("max-age") {
            return None;
        }
        seconds
            .trim()
            .trim_matches('"')
            .parse()
            .ok()
            .map(Duration::from_secs)
    })
}

/// HTTPS, or HTTP to a loopback address (a provider on the same machine, or a test).
pub(super) fn allowed_url(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|_| format!("`{url}` is not a URL"))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        _ => Err(format!(
            "`{url}` must use https (plain http is allowed only on a loopback address)"
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.parse::<std::net::IpAddr>().map_or_else(
        |_| host.eq_ignore_ascii_case("localhost"),
        |ip| ip.is_loopback(),
    )
}

const USER_AGENT: &str = concat!("secure-api/", env!("CARGO_PKG_VERSION"));

/// The HTTP client keys are fetched with: certificates always verified against the
/// platform's roots (ring as the crypto provider, whatever the process default is), a
/// connect timeout, HTTP/1.1. Redirects and the overall timeout are `get`'s.
pub(super) fn http_client() -> Result<HttpClient, ConfigError> {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_platform_verifier(rustls::crypto::ring::default_provider())
        .map_err(|error| ConfigError::invalid("JWKS TLS", error.to_string()))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            max_age("MAX-AGE=\"60\", must-revalidate"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(max_age("no-cache"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn only_https_or_loopback_http() {
        assert!(allowed_url("https://idp.example/jwks").is_ok());
        assert!(allowed_url("http://127.0.0.1:8080/jwks").is_ok());
        assert!(allowed_url("http://[::1]/jwks").is_ok());
        assert!(allowed_url("http://localhost/jwks").is_ok());
        for refused in [
            "http://idp.example/jwks",
            "http://10.0.0.1/jwks",
            "ftp://idp.example/jwks",
            "file:///etc/jwks.json",
            "idp.example/jwks",
        ] {
            assert!(allowed_url(refused).is_err(), "{refused}");
        }
    }
}
