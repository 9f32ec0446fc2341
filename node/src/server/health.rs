//! `GET /healthz` and `GET /metrics`.

use super::{ApiError, AppState};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

pub async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({
        "status": "ok",
        "node": s.node.key.public_hex(),
        "models": s.node.models.iter().map(|(n, m)| (n.clone(), m.digest.clone())).collect::<std::collections::BTreeMap<_, _>>(),
    }))
}

pub async fn metrics(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let node = s.node.clone();
    let text = tokio::task::spawn_blocking(move || {
        let jobs = node.store.counts()?;
        let n = node.store.request_count()?;
        Ok::<_, rusqlite::Error>(node.metrics.render(jobs, n))
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("store: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}
