//! `POST /v1/requests/{id}/prove` (a challenge) and `GET /v1/jobs/{id}`.

use super::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

pub async fn challenge(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    s.authorize(&headers).map_err(|e| s.refused(e))?;
    let node = s.node.clone();
    let (job, new) = tokio::task::spawn_blocking(move || node.challenge(&id))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| s.refused(e.into()))?;
    let status = if new {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"job_id": job.id, "request_id": job.request_id, "status": job.status})),
    ))
}

pub async fn job(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let node = s.node.clone();
    let job = tokio::task::spawn_blocking(move || node.job(&id))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| s.refused(e.into()))?;
    let mut v = json!({
        "job_id": job.id,
        "request_id": job.request_id,
        "status": job.status,
        "attempts": job.attempts,
    });
    if let Some(p) = &job.proof_json {
        v["proof"] = serde_json::from_str(p).unwrap_or(Value::Null);
    }
    if let Some(e) = &job.error {
        v["error"] = json!(e);
    }
    if let Some(t) = job.prove_seconds {
        v["prove_seconds"] = json!(t);
    }
    Ok(Json(v))
}
