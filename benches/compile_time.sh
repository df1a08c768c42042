#!/usr/bin/env bash
# Compile-time cost of #[secure] (BENCHMARKS.md §3): two throwaway crates with the same 100
# handlers, generated under target/compile-bench/ (never committed):
#
# - annotated: each handler `#[secure(role = "admin", rate = "100/1m", validate)]` with a
#   `Json` body, mounted on a `SecureRouter`;
# - handwired: the same handlers with what a user writes today for the same protections:
#   one JWT middleware on jsonwebtoken, a role check, a `tower_governor` layer per route (each
#   route has its own limit, as each `rate` above) and `axum_valid::Garde<Json<_>>`.
#
# Each crate gets its own target directory; it is built with its dependencies from nothing
# (the "cold" figure) COLD_RUNS times, in alternating order, then the crate alone is rebuilt
# from clean (`cargo clean -p`) and incrementally (touch one file of handlers), RUNS times
# each, alternating between the two crates. Debug profile, as a developer builds.
#
#   benches/compile_time.sh              # RUNS=3 COLD_RUNS=2 HANDLERS=100 FEATURES=minimal
#   FEATURES=default benches/compile_time.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-3}
HANDLERS=${HANDLERS:-100}
FILES=10 # handlers are spread over this many modules; one of them is touched
BASE=$ROOT/target/compile-bench
rm -rf "$BASE"
mkdir -p "$BASE"

# Versions as the workspace pins them.
version() { sed -n "s/^$1 = .*version = \"\\([^\"]*\\)\".*/\\1/p; s/^$1 = \"\\([^\"]*\\)\"/\\1/p" "$ROOT/Cargo.toml" | head -1; }
AXUM=$(version axum)
TOKIO=$(version tokio)
GARDE=$(version garde)
SERDE=$(version serde)
JWT=$(version jsonwebtoken)
GOVERNOR=$(version tower_governor)
VALID=$(version axum-valid)

common_deps() {
  cat <<EOF
axum = { version = "$AXUM", default-features = false, features = ["http1", "tokio", "json"] }
tokio = { version = "$TOKIO", features = ["macros", "rt-multi-thread", "net"] }
garde = { version = "$GARDE", default-features = false, features = ["derive"] }
serde = { version = "$SERDE", features = ["derive"] }
EOF
}

gen_crate() { # name, extra deps
  local dir=$BASE/$1
  mkdir -p "$dir/src"
  cat >"$dir/Cargo.toml" <<EOF
[package]
name = "$1"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
$(common_deps)
$2
EOF
  cp "$ROOT/Cargo.lock" "$dir/Cargo.lock"
}

body_struct() { # i
  cat <<EOF
#[derive(serde::Deserialize, garde::Validate)]
pub struct Body$1 {
    #[garde(length(chars, min = 1, max = 280))]
    pub text: String,
    #[garde(range(min = 1, max = 100))]
    pub count: u32,
}
EOF
}

# ---- annotated ----
# FEATURES=minimal (the default): only what the hand-wired crate does too — HMAC token
# verification, roles, limits, validation (`default-features = false`). FEATURES=default: the
# crate's default features. Anything else is a comma-separated list of features added to the
# defaults, e.g. FEATURES=pem,jwks.
case ${FEATURES:=minimal} in
  minimal) gen_crate annotated "secure-api = { path = \"$ROOT/secure-api\", default-features = false }" ;;
  default) gen_crate annotated "secure-api = { path = \"$ROOT/secure-api\" }" ;;
  *) gen_crate annotated "secure-api = { path = \"$ROOT/secure-api\", features = [\"${FEATURES//,/\", \"}\"] }" ;;
esac
for ((i = 0; i < HANDLERS; i++)); do
  if ((i % (HANDLERS / FILES) == 0)); then
    f=$((i / (HANDLERS / FILES)))
    exec 3>"$BASE/annotated/src/handlers$f.rs"
    printf 'use axum::Json;\nuse secure_api::{AuthUser, secure};\n\n' >&3
  fi
  body_struct "$i" >&3
  cat >&3 <<EOF

#[secure(role = "admin", rate = "100/1m", validate)]
pub async fn handler$i(user: AuthUser, Json(body): Json<Body$i>) -> String {
    format!("{} {} {}", user.subject(), body.text, body.count)
}

EOF
done
exec 3>&-
{
  echo 'secure_api::roles! { admin }'
  for ((f = 0; f < FILES; f++)); do echo "mod handlers$f;"; done
  cat <<'EOF'

use secure_api::Security;
use secure_api::routing::{SecureRouter, post};

fn app(security: Security) -> axum::Router {
    SecureRouter::new()
EOF
  for ((i = 0; i < HANDLERS; i++)); do
    echo "        .route(\"/h$i\", post(handlers$((i / (HANDLERS / FILES)))::handler$i))"
  done
  cat <<'EOF'
        .with_state(security)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = app(Security::from_env()?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
    Ok(())
}
EOF
} >"$BASE/annotated/src/main.rs"

# ---- hand-wired ----
gen_crate handwired "jsonwebtoken = { version = \"$JWT\", default-features = false, features = [\"rust_crypto\"] }
tower_governor = { version = \"$GOVERNOR\", default-features = false, features = [\"axum\"] }
axum-valid = { version = \"$VALID\", default-features = false, features = [\"garde\", \"basic\"] }
serde_json = \"1\""
for ((i = 0; i < HANDLERS; i++)); do
  if ((i % (HANDLERS / FILES) == 0)); then
    f=$((i / (HANDLERS / FILES)))
    exec 3>"$BASE/handwired/src/handlers$f.rs"
    printf 'use crate::{Claims, rate_limit, require_role};\nuse axum::extract::Request;\nuse axum::middleware::{self, Next};\nuse axum::routing::{MethodRouter, post};\nuse axum::{Extension, Json};\nuse axum_valid::Garde;\n\n' >&3
  fi
  body_struct "$i" >&3
  cat >&3 <<EOF

pub async fn handler$i(
    Extension(claims): Extension<Claims>,
    Garde(Json(body)): Garde<Json<Body$i>>,
) -> String {
    format!("{} {} {}", claims.sub, body.text, body.count)
}

pub fn route$i() -> MethodRouter {
    post(handler$i)
        .layer(rate_limit(100, 60))
        .layer(middleware::from_fn(|request: Request, next: Next| require_role("admin", request, next)))
}

EOF
done
exec 3>&-
{
  for ((f = 0; f < FILES; f++)); do echo "mod handlers$f;"; done
  cat <<'EOF'

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::sync::Arc;
use std::time::Duration;
use tower_governor::GovernorLayer;
use tower_governor::errors::GovernorError;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    pub roles: Vec<String>,
}

pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

async fn authenticate(State(verifier): State<Arc<Verifier>>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(token) = token else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match jsonwebtoken::decode::<Claims>(token, &verifier.key, &verifier.validation) {
        Ok(data) => {
            request.extensions_mut().insert(data.claims);
            next.run(request).await
        }
        Err(_) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

pub async fn require_role(role: &'static str, request: Request, next: Next) -> Response {
    match request.extensions().get::<Claims>() {
        Some(claims) if claims.roles.iter().any(|held| held == role) => next.run(request).await,
        Some(_) => StatusCode::FORBIDDEN.into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

#[derive(Clone)]
pub struct SubjectKey;

impl KeyExtractor for SubjectKey {
    type Key = String;
    fn extract<T>(&self, request: &axum::http::Request<T>) -> Result<String, GovernorError> {
        request
            .extensions()
            .get::<Claims>()
            .map(|claims| claims.sub.clone())
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

pub fn rate_limit(
    max: u32,
    window_secs: u64,
) -> GovernorLayer<SubjectKey, governor::middleware::NoOpMiddleware<governor::clock::QuantaInstant>, axum::body::Body> {
    let config = GovernorConfigBuilder::default()
        .period(Duration::from_secs(window_secs) / max)
        .burst_size(max)
        .key_extractor(SubjectKey)
        .finish()
        .expect("rate");
    GovernorLayer::new(config)
}

fn app(verifier: Arc<Verifier>) -> Router {
    Router::new()
EOF
  for ((i = 0; i < HANDLERS; i++)); do
    echo "        .route(\"/h$i\", handlers$((i / (HANDLERS / FILES)))::route$i())"
  done
  cat <<'EOF'
        .layer(middleware::from_fn_with_state(verifier, authenticate))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::fs::read(std::env::var("JWT_SECRET_FILE")?)?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 10;
    validation.validate_nbf = true;
    validation.set_issuer(&[std::env::var("JWT_ISSUER")?]);
    validation.set_audience(&[std::env::var("JWT_AUDIENCE")?]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let verifier = Arc::new(Verifier { key: DecodingKey::from_secret(&secret), validation });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app(verifier).into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
    Ok(())
}
EOF
} >"$BASE/handwired/src/main.rs"
# tower_governor's types name governor's; a user adds it too.
GOV_CORE=$(sed -n 's/^governor = .*version = "\([^"]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -1)
echo "governor = { version = \"$GOV_CORE\", default-features = false, features = [\"std\", \"quanta\"] }" >>"$BASE/handwired/Cargo.toml"

build() { # crate -> seconds
  local start end
  start=$(date +%s.%N)
  (cd "$BASE/$1" && CARGO_TARGET_DIR="$BASE/$1/target" cargo build --offline -q 2>"$BASE/$1.err") ||
    { cat "$BASE/$1.err" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }'
}

echo "== secure-api features: ${FEATURES:-minimal}"
echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# Cold builds in alternating order (the first build of a round also warms the page cache for
# the sources both crates share), COLD_RUNS rounds; the mean of each crate's.
COLD_RUNS=${COLD_RUNS:-2}
declare -A COLD=([annotated]=0 [handwired]=0)
for round in $(seq "$COLD_RUNS"); do
  order="annotated handwired"
  ((round % 2 == 0)) && order="handwired annotated"
  for crate in $order; do
    rm -rf "$BASE/$crate/target"
    seconds=$(build $crate)
    echo "  round $round $crate: cold build, dependencies included: $seconds s"
    COLD[$crate]=$(awk -v sum="${COLD[$crate]}" -v s="$seconds" -v n="$COLD_RUNS" 'BEGIN { printf "%.2f", sum + s / n }')
  done
done

: >"$BASE/times"
for run in $(seq "$RUNS"); do
  for crate in annotated handwired; do
    (cd "$BASE/$crate" && CARGO_TARGET_DIR="$BASE/$crate/target" cargo clean -q -p $crate)
    clean=$(build $crate)
    touch "$BASE/$crate/src/handlers3.rs"
    incremental=$(build $crate)
    echo "  run $run $crate: crate from clean $clean s, incremental $incremental s"
    echo "$run $crate $clean $incremental" >>"$BASE/times"
  done
done

echo
echo "== results ($HANDLERS handlers, median of $RUNS runs, debug profile)"
awk -v cold_a="${COLD[annotated]}" -v cold_h="${COLD[handwired]}" '
  { clean[$2, $1] = $3; inc[$2, $1] = $4; if ($1 > n) n = $1 }
  function median(arr, k,   i, j, t, v) {
    for (i = 1; i <= n; i++) v[i] = arr[k, i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  END {
    ca = median(clean, "annotated"); ch = median(clean, "handwired")
    ia = median(inc, "annotated"); ih = median(inc, "handwired")
    printf "| build | #[secure] (s) | hand-wired (s) | ratio |\n|---|---:|---:|---:|\n"
    printf "| cold, dependencies included (mean) | %.1f | %.1f | %.2f |\n", cold_a, cold_h, cold_a / cold_h
    printf "| the crate from clean | %.2f | %.2f | %.2f |\n", ca, ch, ca / ch
    printf "| incremental (one file touched) | %.2f | %.2f | %.2f |\n", ia, ih, ia / ih
    printf "\ntarget: <= 1.15 x hand-wired (clean and incremental)\n"
  }' "$BASE/times"
