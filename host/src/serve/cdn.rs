//! The `/v1/cdn` routes: DigitalOcean CDN endpoints and cache purges through the component's `cdn` interface,
//! with the service's DIGITALOCEAN_TOKEN. Purges are paced to DigitalOcean's limit, so a large one holds its
//! request (and slot) for 20 s per 50 files.

use super::problem::Problem;
use super::App;
use crate::digitalocean::cdn::{bucket_origin, CdnSession, EndpointView};
use crate::runtime::bindings::exports::spaces::storage::cdn::EndpointSettings;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

type Answer = Result<Response, Problem>;

#[derive(Deserialize, ToSchema)]
pub(super) struct NewEndpoint {
    /// The Space's host name [default: the service's bucket, BUCKET.REGION.digitaloceanspaces.com].
    origin: Option<String>,
    /// 60, 600, 3600, 86400 or 604800 seconds [default: 3600].
    ttl: Option<u32>,
    certificate_id: Option<String>,
    custom_domain: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct Settings {
    ttl: Option<u32>,
    certificate_id: Option<String>,
    custom_domain: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct PurgeRequest {
    /// The endpoint [default: the one whose origin is the service's bucket].
    id: Option<String>,
    /// Object keys, `dir/*` wildcards, or `*` for everything.
    paths: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct Purged {
    id: String,
    /// Distinct paths purged.
    files: u32,
    /// Requests sent to DigitalOcean (50 files each at most).
    requests: u32,
}

async fn session(app: &App) -> Result<CdnSession, Problem> {
    CdnSession::open(&app.runtime, &app.api).await.map_err(Problem::from)
}

#[utoipa::path(get, path = "/v1/cdn/endpoints", tag = "cdn", operation_id = "cdn_list",
    responses((status = 200, description = "Every CDN endpoint of the account", body = Vec<EndpointView>),
              (status = 403, description = "No or a refused DIGITALOCEAN_TOKEN",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn list(State(app): State<Arc<App>>) -> Answer {
    let _slot = app.admission.admit().await?;
    let all = session(&app).await?.list().await.map_err(Problem::from)?;
    Ok(Json(all.into_iter().map(EndpointView::from).collect::<Vec<_>>()).into_response())
}

#[utoipa::path(post, path = "/v1/cdn/endpoints", tag = "cdn", operation_id = "cdn_create", request_body = NewEndpoint,
    responses((status = 201, description = "Created", body = EndpointView),
              (status = 400, description = "Invalid settings",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn create(State(app): State<Arc<App>>, body: Result<Json<NewEndpoint>, JsonRejection>) -> Answer {
    let Json(req) = body?;
    let origin = req.origin.unwrap_or_else(|| bucket_origin(&app.cfg.bucket, &app.cfg.region));
    let settings =
        EndpointSettings { ttl: req.ttl, certificate_id: req.certificate_id, custom_domain: req.custom_domain };
    let _slot = app.admission.admit().await?;
    let made = session(&app).await?.create(&origin, &settings).await.map_err(Problem::from);
    app.audit("cdn-create", &origin, made.as_ref().map_or_else(|p| p.status(), |_| 201), 0);
    Ok((StatusCode::CREATED, Json(EndpointView::from(made?))).into_response())
}

#[utoipa::path(get, path = "/v1/cdn/endpoints/{id}", tag = "cdn", operation_id = "cdn_get",
 params(("id" = String, Path, description = "Endpoint id (UUID)")),
    responses((status = 200, description = "The endpoint", body = EndpointView),
              (status = 404, description = "No such endpoint",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn get(State(app): State<Arc<App>>, id: Result<Path<String>, PathRejection>) -> Answer {
    let Path(id) = id?;
    let _slot = app.admission.admit().await?;
    let e = session(&app).await?.get(&id).await.map_err(Problem::from)?;
    Ok(Json(EndpointView::from(e)).into_response())
}

#[utoipa::path(put, path = "/v1/cdn/endpoints/{id}", tag = "cdn", operation_id = "cdn_update",
 params(("id" = String, Path, description = "Endpoint id (UUID)")),
    request_body = Settings,
    responses((status = 200, description = "Updated", body = EndpointView),
              (status = 404, description = "No such endpoint",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn update(
    State(app): State<Arc<App>>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<Settings>, JsonRejection>,
) -> Answer {
    let Path(id) = id?;
    let Json(req) = body?;
    let settings =
        EndpointSettings { ttl: req.ttl, certificate_id: req.certificate_id, custom_domain: req.custom_domain };
    let _slot = app.admission.admit().await?;
    let e = session(&app).await?.update(&id, &settings).await.map_err(Problem::from);
    app.audit("cdn-update", &id, e.as_ref().map_or_else(|p| p.status(), |_| 200), 0);
    Ok(Json(EndpointView::from(e?)).into_response())
}

#[utoipa::path(delete, path = "/v1/cdn/endpoints/{id}", tag = "cdn", operation_id = "cdn_delete",
 params(("id" = String, Path, description = "Endpoint id (UUID)")),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such endpoint",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn delete(State(app): State<Arc<App>>, id: Result<Path<String>, PathRejection>) -> Answer {
    let Path(id) = id?;
    let _slot = app.admission.admit().await?;
    let done = session(&app).await?.delete(&id).await.map_err(Problem::from);
    app.audit("cdn-delete", &id, done.as_ref().map_or_else(|p| p.status(), |_| 204), 0);
    done?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/v1/cdn/purge", tag = "cdn", operation_id = "cdn_purge", request_body = PurgeRequest,
    description = "Purges cached copies: paths normalised and de-duplicated, 50 per request to DigitalOcean, paced to \
        50 files per 20 s.",
    responses((status = 200, description = "Purged", body = Purged),
              (status = 400, description = "No or invalid paths",
               body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No endpoint for the service's bucket",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn purge(State(app): State<Arc<App>>, body: Result<Json<PurgeRequest>, JsonRejection>) -> Answer {
    let Json(req) = body?;
    let _slot = app.admission.admit().await?;
    let mut s = session(&app).await?;
    let origin = bucket_origin(&app.cfg.bucket, &app.cfg.region);
    let id = s.resolve(req.id.as_deref(), &origin).await.map_err(Problem::from)?;
    let report = s.purge(&id, &req.paths).await.map_err(Problem::from);
    let what = format!("{id} ({} paths)", req.paths.len());
    app.audit("cdn-purge", &what, report.as_ref().map_or_else(|p| p.status(), |_| 200), 0);
    let r = report?;
    Ok(Json(Purged { id, files: r.files, requests: r.requests }).into_response())
}
