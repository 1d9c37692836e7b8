//! The routes for the bucket itself rather than its objects' bytes: the buckets these credentials own, an
//! object's ACL, the bucket's CORS rules (which any browser upload from a web page needs) and signed browser upload
//! forms. Shapes are `http_api::bucket`'s, shared with the CLI's `--json` and the MCP tools; changes are audited.

use super::problem::Problem;
use super::App;
use crate::views;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_api::bodies;
use http_api::bucket::{Access, BucketEntry, Buckets, CorsRule, CorsRules, PresignPostBody, PresignedPost, SetAccess};
use http_api::routes::ACLS;
use std::sync::Arc;

type Answer = Result<Response, Problem>;

/// Audits a change to the bucket's settings, then answers 204 or the failure.
fn audited(app: &App, op: &str, what: &str, outcome: Result<(), Problem>) -> Answer {
    app.audit(op, what, outcome.as_ref().map_or_else(Problem::status, |()| 204), 0);
    outcome?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/v1/buckets", tag = "buckets", operation_id = "buckets_list",
    description = "Every bucket the service's credentials own at its endpoint.",
    responses((status = 200, description = "The buckets", body = Buckets)),
    security(("bearer" = [])))]
pub(super) async fn list(State(app): State<Arc<App>>) -> Answer {
    let buckets = app.with_session(async |s| s.list_buckets().await).await?;
    Ok(Json(Buckets { buckets: buckets.into_iter().map(BucketEntry::from).collect() }).into_response())
}

#[utoipa::path(get, path = "/v1/acl/{key}", tag = "buckets", operation_id = "acl_get",
    description = "Who may read the object: `public` (anyone, at its URL) or `private`, with its owner and grants.",
    params(("key" = String, Path, description = "Object key")),
    responses((status = 200, description = "The object's ACL", body = Access),
              (status = 404, description = "No such object", body = Problem, content_type = "application/problem+json"),
              (status = 501, description = "The store keeps no ACLs (the embedded store)",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn get_acl(State(app): State<Arc<App>>, uri: Uri) -> Answer {
    let key = http_api::key_from_path(uri.path(), ACLS).map_err(Problem::bad_request)?;
    let access = app.with_session(async |s| s.get_access(&key).await).await?;
    Ok(Json(views::access(key, access)).into_response())
}

#[utoipa::path(put, path = "/v1/acl/{key}", tag = "buckets", operation_id = "acl_set", request_body = SetAccess,
    description = "Sets the object's canned ACL: `public` lets anyone read it at its URL, `private` only the owner \
                   (and presigned URLs).",
    params(("key" = String, Path, description = "Object key")),
    responses((status = 204, description = "Set"),
              (status = 404, description = "No such object", body = Problem, content_type = "application/problem+json"),
              (status = 501, description = "The store keeps no ACLs (the embedded store)",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn set_acl(State(app): State<Arc<App>>, uri: Uri, body: Result<Bytes, BytesRejection>) -> Answer {
    let key = http_api::key_from_path(uri.path(), ACLS).map_err(Problem::bad_request)?;
    let req: SetAccess = bodies::parse(&body?).map_err(Problem::bad_request)?;
    let outcome = app.with_session(async |s| s.set_access(&key, views::acl(req.acl)).await).await;
    audited(&app, &format!("acl-{}", req.acl.word()), &key, outcome)
}

#[utoipa::path(get, path = "/v1/cors", tag = "buckets", operation_id = "cors_get",
    description = "The bucket's CORS rules, as `aws s3api get-bucket-cors` prints them; none is an empty list.",
    responses((status = 200, description = "The rules", body = CorsRules),
              (status = 501, description = "The store keeps no CORS rules (the embedded store)",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn get_cors(State(app): State<Arc<App>>) -> Answer {
    let rules = app.with_session(async |s| s.get_cors().await).await?;
    Ok(Json(CorsRules { cors_rules: rules.into_iter().map(CorsRule::from).collect() }).into_response())
}

#[utoipa::path(put, path = "/v1/cors", tag = "buckets", operation_id = "cors_set", request_body = CorsRules,
    description = "Replaces the bucket's CORS rules (checked before anything is sent: origins, methods, at most \
                   100 rules). An empty list removes them.",
    responses((status = 204, description = "Set"),
              (status = 501, description = "The store keeps no CORS rules (the embedded store)",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn set_cors(State(app): State<Arc<App>>, body: Result<Bytes, BytesRejection>) -> Answer {
    let rules: CorsRules = bodies::parse(&body?).map_err(Problem::bad_request)?;
    let rules: Vec<_> = rules.cors_rules.into_iter().map(Into::into).collect();
    let what = format!("{} CORS rule{}", rules.len(), if rules.len() == 1 { "" } else { "s" });
    let outcome = app.with_session(async |s| s.set_cors(&rules).await).await;
    audited(&app, "cors-set", &what, outcome)
}

#[utoipa::path(delete, path = "/v1/cors", tag = "buckets", operation_id = "cors_delete",
    description = "Removes the bucket's CORS configuration; none is not an error.",
    responses((status = 204, description = "Removed"),
              (status = 501, description = "The store keeps no CORS rules (the embedded store)",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn delete_cors(State(app): State<Arc<App>>) -> Answer {
    let outcome = app.with_session(async |s| s.delete_cors().await).await;
    audited(&app, "cors-delete", "-", outcome)
}

#[utoipa::path(post, path = "/v1/presign-post", tag = "urls", operation_id = "presign_post", request_body = PresignPostBody,
    description = "A signed form a browser uploads one file with straight to the bucket (SigV4 POST policy: the key \
                   or a prefix, a size limit, the content type, an expiry). POST it as multipart/form-data: the \
                   fields, then the file as `file`. Signing happens locally; nothing is sent.",
    responses((status = 200, description = "The form", body = PresignedPost)),
    security(("bearer" = [])))]
pub(super) async fn presign_post(State(app): State<Arc<App>>, body: Result<Bytes, BytesRejection>) -> Answer {
    let req: PresignPostBody = bodies::parse(&body?).map_err(Problem::bad_request)?;
    req.check().map_err(Problem::bad_request)?;
    let form = app.with_session(async |s| s.presign_post(&views::post_request(req)).await).await?;
    Ok(Json(PresignedPost::from(form)).into_response())
}
