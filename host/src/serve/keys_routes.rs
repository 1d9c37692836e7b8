//! The `/v1/keys` routes: Spaces access keys through the component's `keys` interface with the service's
//! DIGITALOCEAN_TOKEN. A created or rotated key's secret is in that one answer and nowhere else (not in the
//! audit line, not in any log).

use super::problem::{Kind, Problem};
use super::App;
use crate::digitalocean::keys::{rotate, GrantView, KeyView, KeysSession, NewKeyView, Perm};
use crate::error::Failure;
use crate::runtime::bindings::exports::spaces::storage::keys::{Grant, KeyFilter, Permission};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

type Answer = Result<Response, Problem>;

/// The replacement key with its one-time secret, and whether the old key is gone.
#[derive(Serialize, ToSchema)]
pub(super) struct RotationView {
    #[serde(flatten)]
    key: NewKeyView,
    old_deleted: bool,
    /// Why the old key is still there, when it is: both keys work until it is deleted.
    warning: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct KeyQuery {
    name: Option<String>,
    bucket: Option<String>,
    permission: Option<Perm>,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct NewKeyBody {
    name: String,
    #[serde(default)]
    grants: Vec<GrantView>,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct RenameBody {
    name: String,
}

async fn session(app: &App) -> Result<KeysSession, Problem> {
    KeysSession::open(&app.runtime, &app.api).await.map_err(Problem::from)
}

#[utoipa::path(get, path = "/v1/keys", tag = "keys", operation_id = "keys_list", params(KeyQuery),
    responses((status = 200, description = "Every matching key", body = Vec<KeyView>)),
    security(("bearer" = [])))]
pub(super) async fn list(State(app): State<Arc<App>>, query: Result<Query<KeyQuery>, QueryRejection>) -> Answer {
    let Query(q) = query?;
    let filter = KeyFilter { name: q.name, bucket: q.bucket, permission: q.permission.map(Permission::from) };
    let _slot = app.admission.admit().await?;
    let keys = session(&app).await?.list(&filter).await.map_err(Problem::from)?;
    Ok(Json(keys.into_iter().map(KeyView::from).collect::<Vec<_>>()).into_response())
}

#[utoipa::path(post, path = "/v1/keys", tag = "keys", operation_id = "keys_create", request_body = NewKeyBody,
    responses((status = 201, description = "Created; the secret is shown this once", body = NewKeyView),
              (status = 400, description = "Invalid name or grants (full access mixed with scoped)",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn create(State(app): State<Arc<App>>, body: Result<Json<NewKeyBody>, JsonRejection>) -> Answer {
    let Json(req) = body?;
    let grants: Vec<Grant> = req.grants.into_iter().map(Grant::from).collect();
    let _slot = app.admission.admit().await?;
    let made = session(&app).await?.create(&req.name, &grants).await.map_err(Problem::from);
    let what = made.as_ref().map_or_else(|_| req.name.clone(), |n| n.key.access_key.clone());
    app.audit("keys-create", &what, made.as_ref().map_or_else(|p| p.status(), |_| 201), 0);
    Ok((StatusCode::CREATED, Json(NewKeyView::from(made?))).into_response())
}

#[utoipa::path(get, path = "/v1/keys/{access_key}", tag = "keys", operation_id = "keys_get",
    params(("access_key" = String, Path, description = "Access key id")),
    responses((status = 200, description = "The key", body = KeyView),
              (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn get(State(app): State<Arc<App>>, key: Result<Path<String>, PathRejection>) -> Answer {
    let Path(key) = key?;
    let _slot = app.admission.admit().await?;
    let k = session(&app).await?.get(&key).await.map_err(Problem::from)?;
    Ok(Json(KeyView::from(k)).into_response())
}

#[utoipa::path(put, path = "/v1/keys/{access_key}", tag = "keys", operation_id = "keys_rename",
 request_body = RenameBody,
    params(("access_key" = String, Path, description = "Access key id")),
    responses((status = 200, description = "Renamed", body = KeyView)),
    security(("bearer" = [])))]
pub(super) async fn rename(
    State(app): State<Arc<App>>,
    key: Result<Path<String>, PathRejection>,
    body: Result<Json<RenameBody>, JsonRejection>,
) -> Answer {
    let Path(key) = key?;
    let Json(req) = body?;
    let _slot = app.admission.admit().await?;
    let k = session(&app).await?.rename(&key, &req.name).await.map_err(Problem::from);
    app.audit("keys-rename", &key, k.as_ref().map_or_else(|p| p.status(), |_| 200), 0);
    Ok(Json(KeyView::from(k?)).into_response())
}

#[utoipa::path(delete, path = "/v1/keys/{access_key}", tag = "keys", operation_id = "keys_delete",
    params(("access_key" = String, Path, description = "Access key id")),
    responses((status = 204, description = "Deleted")),
    security(("bearer" = [])))]
pub(super) async fn delete(State(app): State<Arc<App>>, key: Result<Path<String>, PathRejection>) -> Answer {
    let Path(key) = key?;
    let _slot = app.admission.admit().await?;
    let done = session(&app).await?.delete(&key).await.map_err(Problem::from);
    app.audit("keys-delete", &key, done.as_ref().map_or_else(|p| p.status(), |_| 204), 0);
    done?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/v1/keys/{access_key}/rotate", tag = "keys", operation_id = "keys_rotate",
    description = "Creates a key with the same name and grants, proves it with a signed request to the service's \
        storage endpoint, then deletes the old key. `old_deleted: false` (with `warning`) means both keys work.",
    params(("access_key" = String, Path, description = "Access key id to replace")),
    responses((status = 200, description = "The working replacement, with its secret shown this once",
     body = RotationView),
              (status = 502, description = "The new key did not work and was deleted; the old key is unchanged",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(super) async fn rotate_key(State(app): State<Arc<App>>, key: Result<Path<String>, PathRejection>) -> Answer {
    let Path(key) = key?;
    let _slot = app.admission.admit().await?;
    let mut s = session(&app).await?;
    // The component's typed errors (no token, no such key) answer as on every route; a rotation that could not
    // be proven (the new key did not work) is the rotation's own failure.
    let rotation = rotate(&app.runtime, &app.cfg, &mut s, &key).await.map_err(|e| match e {
        Failure::Host(h) => Problem::new(Kind::RotationFailed, h.to_string()),
        other => Problem::from(other),
    });
    app.audit("keys-rotate", &key, rotation.as_ref().map_or_else(|p| p.status(), |_| 200), 0);
    let rotation = rotation?;
    let body = RotationView {
        key: rotation.new.into(),
        old_deleted: rotation.old_deleted.is_ok(),
        warning: rotation.old_deleted.err().map(|e| e.to_string()),
    };
    Ok(Json(body).into_response())
}
