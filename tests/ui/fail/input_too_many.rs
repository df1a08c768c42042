// axum calls handlers of at most 16 arguments; with the guard first, a #[secure] handler
// takes at most 15. One error, on the first argument too many.
use axum::extract::State;
use axum::{Router, routing::get};
use secure_api::{AuthUser, Security, secure};

secure_api::roles! { admin }

#[secure(role = "admin", rate = "100/15m")]
#[allow(clippy::too_many_arguments)]
async fn everything(
    _a: AuthUser,
    _b: AuthUser,
    _c: AuthUser,
    _d: AuthUser,
    _e: AuthUser,
    _f: AuthUser,
    _g: AuthUser,
    _h: AuthUser,
    _i: AuthUser,
    _j: AuthUser,
    _k: AuthUser,
    _l: AuthUser,
    _m: AuthUser,
    _n: AuthUser,
    _o: AuthUser,
    State(_security): State<Security>,
) {
}

fn main() {
    let _app: Router<Security> = Router::new().route("/", get(everything));
}
