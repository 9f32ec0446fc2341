//! `POST /v1/models/{name}/infer`: integer inference, a signed receipt, the request stored
//! before the answer; `?prove=true` also queues its proof.

use super::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct InferQuery {
    #[serde(default)]
    prove: bool,
}

pub async fn infer(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<InferQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<crate::node::InferAnswer>, ApiError> {
    s.authorize(&headers).map_err(|e| s.refused(e))?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| {
            s.refused(ApiError(
                StatusCode::BAD_REQUEST,
                "the body is not UTF-8".into(),
            ))
        })?
        .to_string();
    let node = s.node.clone();
    // Inference is CPU work: off the async threads.
    let answer = tokio::task::spawn_blocking(move || node.infer(&name, &text, q.prove))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| s.refused(e.into()))?;
    Ok(Json(answer))
}
