//! The `/v1/uploads` routes: the bucket's incomplete multipart uploads, which cost storage until completed or
//! aborted — listed, and aborted one at a time.

use super::problem::Problem;
use super::App;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_api::bodies::{Pending, PendingUploads};
use serde::Deserialize;
use std::sync::Arc;
use utoipa::IntoParams;

type Answer = Result<Response, Problem>;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct UploadsQuery {
    /// Only uploads whose key starts with this.
    prefix: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct AbortQuery {
    /// The key the upload is for.
    key: String,
}

#[utoipa::path(get, path = "/v1/uploads", tag = "objects", operation_id = "uploads_list", params(UploadsQuery),
    description = "Incomplete multipart uploads (started, neither completed nor aborted), in key order.",
    responses((status = 200, description = "Every incomplete upload under the prefix", body = PendingUploads),
              (status = 501, description = "The store does not list multipart uploads (the embedded store)",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn list(State(app): State<Arc<App>>, query: Result<Query<UploadsQuery>, QueryRejection>) -> Answer {
    let Query(q) = query?;
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let uploads = session.list_uploads(q.prefix.as_deref()).await;
    app.recycle(session);
    let uploads = uploads.map_err(Problem::from)?;
    Ok(Json(PendingUploads { uploads: uploads.into_iter().map(Pending::from).collect() }).into_response())
}

#[utoipa::path(delete, path = "/v1/uploads/{upload_id}", tag = "objects", operation_id = "uploads_abort",
    params(AbortQuery,
        ("upload_id" = String, Path, description = "The upload's id, as listed")),
    description = "Aborts an incomplete multipart upload and frees its parts; one already gone counts as aborted.",
    responses((status = 204, description = "Aborted, or already gone"),
              (status = 400, description = "No key, or an invalid one",
               body = Problem, content_type = "application/problem+json"),
              (status = 501, description = "The store does not abort multipart uploads",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn abort(
    State(app): State<Arc<App>>,
    upload_id: Result<Path<String>, PathRejection>,
    query: Result<Query<AbortQuery>, QueryRejection>,
) -> Answer {
    let (Path(upload_id), Query(q)) = (upload_id?, query?);
    http_api::check_key(&q.key).map_err(Problem::bad_request)?;
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let outcome = session.abort_upload(&q.key, &upload_id).await.map_err(Problem::from);
    app.recycle(session);
    app.audit("abort-upload", &q.key, outcome.as_ref().map_or_else(|p| p.status(), |_| 204), 0);
    outcome?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn views_fill_the_api_shape() {
        let u = crate::runtime::bindings::storage::UploadSummary {
            key: "k".into(),
            upload_id: "2~x".into(),
            initiated: "2026-12-02T01:00:00.000Z".into(),
        };
        let json = serde_json::to_value(super::Pending::from(u)).unwrap();
        assert_eq!(json, serde_json::json!({"key": "k", "upload_id": "2~x", "initiated": "2026-12-02T01:00:00.000Z"}));
    }
}
