//! The HTTP face of a node (axum): one file per endpoint family, this file the router, the
//! shared state, authentication and error mapping.
//!
//! - `POST /v1/models/{name}/infer[?prove=true]` → `{request_id, output, receipt[, job_id]}`
//! - `POST /v1/requests/{id}/prove` → `{job_id, status}` (a challenge)
//! - `GET /v1/jobs/{id}` → `{job_id, request_id, status, proof?, error?, prove_seconds?}`
//! - `GET /healthz`, `GET /metrics`
//!
//! Mutating endpoints take `Authorization: Bearer TOKEN` when the node has a token. Every
//! refusal is a 4xx with `{"error": "..."}`.

mod health;
mod infer;
mod jobs;

use crate::node::{Node, NodeError};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::Arc;

/// What every handler sees.
#[derive(Clone)]
pub struct AppState {
    pub node: Arc<Node>,
    /// The bearer token mutating endpoints require, if any.
    pub token: Option<Arc<str>>,
}

/// A refusal or failure as an HTTP response.
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        let status = match &e {
            NodeError::BadRequest(_) => StatusCode::BAD_REQUEST,
            NodeError::NotFound(_) => StatusCode::NOT_FOUND,
            NodeError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            NodeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

impl AppState {
    /// Checks the bearer token of a mutating request.
    fn authorize(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given.map(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) == Some(true) {
            Ok(())
        } else {
            Err(ApiError(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token (Authorization: Bearer TOKEN)".into(),
            ))
        }
    }

    /// Counts a refusal in the metrics and passes it on.
    fn refused(&self, e: ApiError) -> ApiError {
        if e.0.is_client_error() {
            self.node
                .metrics
                .rejected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        e
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The router, with a body limit of `max_body` bytes (larger bodies get 413).
pub fn router(state: AppState, max_body: usize) -> Router {
    Router::new()
        .route("/v1/models/{name}/infer", post(infer::infer))
        .route("/v1/requests/{id}/prove", post(jobs::challenge))
        .route("/v1/jobs/{id}", get(jobs::job))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .fallback(|State(s): State<AppState>| async move {
            s.refused(ApiError(
                StatusCode::NOT_FOUND,
                "no such endpoint (see the README's API section)".into(),
            ))
        })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}
