//! The OpenAPI 3.1 document, generated from the handlers' annotations and types (utoipa) and served at
//! `/openapi.json`. The route table in `routes.rs` is checked against it, so no route goes undocumented.

use super::{bucket_routes, cdn, health, keys_routes, objects, problem, uploads};
use axum::response::{IntoResponse, Response};
use std::sync::LazyLock;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "spaces",
        description = "Object storage on DigitalOcean Spaces (or any S3-compatible store) over a small JSON API. \
            Every /v1 route needs `Authorization: Bearer <token>`. Errors are RFC 9457 problem documents."
    ),
    paths(
        objects::put,
        objects::get,
        objects::head,
        objects::delete,
        objects::list,
        objects::delete_many,
        objects::presign,
        objects::url,
        uploads::list,
        uploads::abort,
        bucket_routes::presign_post,
        bucket_routes::get_acl,
        bucket_routes::set_acl,
        bucket_routes::get_cors,
        bucket_routes::set_cors,
        bucket_routes::delete_cors,
        bucket_routes::list,
        cdn::list,
        cdn::create,
        cdn::get,
        cdn::update,
        cdn::delete,
        cdn::purge,
        keys_routes::list,
        keys_routes::create,
        keys_routes::get,
        keys_routes::rename,
        keys_routes::delete,
        keys_routes::rotate_key,
        health::healthz,
        health::readyz,
        health::metrics,
        document,
    ),
    components(schemas(problem::Problem)),
    modifiers(&BearerAuth, &CommonProblems),
    tags(
        (name = "objects", description = "Store, fetch, list and delete objects"),
        (name = "urls", description = "Public, CDN and presigned URLs, and signed browser upload forms"),
        (name = "buckets", description = "The buckets, object ACLs and the bucket's CORS rules"),
        (name = "cdn", description = "DigitalOcean CDN endpoints and cache purges (needs DIGITALOCEAN_TOKEN)"),
        (name = "keys", description = "Spaces access keys, incl. rotation (needs DIGITALOCEAN_TOKEN)"),
        (name = "health", description = "Liveness, readiness, metrics and this document"),
    )
)]
pub(super) struct Doc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// What any `/v1` operation can answer besides its own statuses: the token check (401), a request the API or
/// the store refuses (400, 403), the upstream failing (502, 504), the service at its limit or a circuit open
/// (503). Documented once here rather than on every handler.
struct CommonProblems;

impl Modify for CommonProblems {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let common = [
            ("400", "The request is malformed: a bad key, header, parameter or body"),
            ("401", "Missing or wrong bearer token"),
            ("403", "The store refused the service's credentials for this"),
            ("502", "The upstream store failed or could not be reached"),
            ("503", "The service is at its limit of requests, or the upstream's circuit is open; see Retry-After"),
            ("504", "The upstream store did not answer in time"),
        ];
        for (path, item) in doc.paths.paths.iter_mut() {
            if !path.starts_with("/v1/") {
                continue;
            }
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.head];
            for operation in operations.into_iter().flatten() {
                for (status, description) in common {
                    let problem = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
                    let response =
                        ResponseBuilder::new().description(description).content("application/problem+json", problem);
                    operation.responses.responses.entry(status.to_string()).or_insert_with(|| response.build().into());
                }
            }
        }
    }
}

#[utoipa::path(get, path = "/openapi.json", tag = "health",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")))]
pub(super) async fn document() -> Response {
    static JSON: LazyLock<String> = LazyLock::new(|| Doc::openapi().to_json().unwrap_or_default());
    ([(axum::http::header::CONTENT_TYPE, "application/json")], JSON.as_str()).into_response()
}
