// A scalar `Path` needs no validation (its parse is the check); the `Query` and the
// struct-typed `Path` are validated.
use axum::extract::{Path, Query};
use axum::{Json, Router, routing::get};
use secure_api::{Security, secure};

secure_api::roles! { user }

#[derive(serde::Deserialize, garde::Validate)]
struct Page {
    #[garde(range(min = 1, max = 100))]
    limit: u32,
    #[garde(skip)]
    offset: u64,
}

#[derive(serde::Deserialize, garde::Validate)]
struct OrderRef {
    #[garde(range(min = 1))]
    customer: u64,
    #[garde(length(min = 1, max = 32))]
    order: String,
}

#[secure(role = "user", rate = "100/15m", validate)]
async fn list_items(Path(user_id): Path<u64>, Query(page): Query<Page>) -> Json<Vec<u64>> {
    Json(vec![user_id, u64::from(page.limit), page.offset])
}

#[secure(role = "user", validate)]
async fn order(Path(order): Path<OrderRef>) -> String {
    format!("{}/{}", order.customer, order.order)
}

#[secure(role = "user")]
async fn item(Path((user_id, item_id)): Path<(u64, String)>) -> String {
    format!("{user_id}/{item_id}")
}

fn main() {
    let security = Security::builder()
        .issuer("https://issuer.example")
        .audience("api")
        .ephemeral_key()
        .build()
        .expect("a valid configuration");
    let _app: Router = Router::new()
        .route("/users/{user_id}/items", get(list_items))
        .route("/customers/{customer}/orders/{order}", get(order))
        .route("/users/{user_id}/items/{item_id}", get(item))
        .with_state(security);
}
