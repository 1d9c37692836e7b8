//! The router, built from the API's route table (`http_api::routes::TABLE`, shared with the edge component) with
//! one handler per operation; a test checks the table against the OpenAPI document both ways. `/v1` routes sit
//! behind the bearer-token check; every route is timed into the metrics. The web console's three files (`console`)
//! sit beside the API, outside the table: they are the service's page, not its API.

use super::problem::{Kind, Problem};
use super::{bucket_routes, cdn, console, health, keys_routes, objects, openapi, uploads, App};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{self, MethodRouter};
use axum::Router;
use http_api::routes::{Op, Refusal, Route, TABLE};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// The handler of each operation of the API's route table.
fn handler(op: Op) -> MethodRouter<Arc<App>> {
    match op {
        Op::PutObject => routing::put(objects::put),
        Op::GetObject => routing::get(objects::get),
        Op::HeadObject => routing::head(objects::head),
        Op::DeleteObject => routing::delete(objects::delete),
        Op::ListObjects => routing::get(objects::list),
        Op::DeleteObjects => routing::post(objects::delete_many),
        Op::Presign => routing::post(objects::presign),
        Op::Url => routing::get(objects::url),
        Op::ListUploads => routing::get(uploads::list),
        Op::AbortUpload => routing::delete(uploads::abort),
        Op::PresignPost => routing::post(bucket_routes::presign_post),
        Op::GetAcl => routing::get(bucket_routes::get_acl),
        Op::SetAcl => routing::put(bucket_routes::set_acl),
        Op::GetCors => routing::get(bucket_routes::get_cors),
        Op::SetCors => routing::put(bucket_routes::set_cors),
        Op::DeleteCors => routing::delete(bucket_routes::delete_cors),
        Op::ListBuckets => routing::get(bucket_routes::list),
        Op::ListCdnEndpoints => routing::get(cdn::list),
        Op::CreateCdnEndpoint => routing::post(cdn::create),
        Op::GetCdnEndpoint => routing::get(cdn::get),
        Op::UpdateCdnEndpoint => routing::put(cdn::update),
        Op::DeleteCdnEndpoint => routing::delete(cdn::delete),
        Op::PurgeCdn => routing::post(cdn::purge),
        Op::ListKeys => routing::get(keys_routes::list),
        Op::CreateKey => routing::post(keys_routes::create),
        Op::GetKey => routing::get(keys_routes::get),
        Op::RenameKey => routing::put(keys_routes::rename),
        Op::DeleteKey => routing::delete(keys_routes::delete),
        Op::RotateKey => routing::post(keys_routes::rotate_key),
        Op::Health => routing::get(health::healthz),
        Op::Ready => routing::get(health::readyz),
        Op::Metrics => routing::get(health::metrics),
        Op::OpenApi => routing::get(openapi::document),
    }
}

/// The router's path syntax: a key takes the rest of the path.
fn axum_path(path: &str) -> String {
    path.replace("{key}", "{*key}")
}

/// Method routers per path. A fixed path under a key route (`/v1/objects/delete`) also answers the key route's
/// other methods, so an object named `delete` stays reachable.
/// A method the path does not offer gets the same 405 problem the edge gives (`no_route`).
fn method_routers() -> BTreeMap<&'static str, MethodRouter<Arc<App>>> {
    let mut paths: BTreeMap<&'static str, Vec<&Route>> = BTreeMap::new();
    for r in TABLE {
        paths.entry(r.path).or_default().push(r);
    }
    let mut routers = BTreeMap::new();
    for (path, own) in &paths {
        let mut router = MethodRouter::new();
        for r in own {
            router = router.merge(handler(r.op));
        }
        for (key_path, key_routes) in &paths {
            let Some(prefix) = key_path.strip_suffix("{key}") else { continue };
            if path.starts_with(prefix) && !path.contains('{') {
                for r in key_routes.iter().filter(|k| own.iter().all(|o| o.method != k.method)) {
                    router = router.merge(handler(r.op));
                }
            }
        }
        routers.insert(*path, router.fallback(no_route));
    }
    routers
}

pub(super) fn router(app: Arc<App>) -> Router {
    let mut api = Router::new();
    let mut public = Router::new();
    for (path, router) in method_routers() {
        if path.starts_with("/v1/") {
            api = api.route(&axum_path(path), router);
        } else {
            public = public.route(&axum_path(path), router);
        }
    }
    for (path, router) in console::routes() {
        public = public.route(path, router);
    }
    let api = api.route_layer(middleware::from_fn_with_state(Arc::clone(&app), require_token));
    api.merge(public)
        .fallback(no_route)
        .layer(middleware::from_fn_with_state(Arc::clone(&app), observe))
        .layer(axum::extract::DefaultBodyLimit::max(http_api::bodies::MAX_JSON_BODY))
        .with_state(app)
}

async fn require_token(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if app.token.accepts(req.headers().get(header::AUTHORIZATION).map(HeaderValue::as_bytes)) {
        return next.run(req).await;
    }
    if matches!(*req.method(), Method::PUT | Method::POST | Method::DELETE) {
        let (op, path) = (req.method(), req.uri().path());
        tracing::info!(target: "spaces::audit", %op, %path, status = 401, caller = "-", "audit");
    }
    let mut response = Problem::new(Kind::Unauthorized, http_api::auth::UNAUTHORIZED).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(http_api::auth::CHALLENGE));
    response
}

/// Times each request to its response head, by route and status class.
async fn observe(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = req.method().clone();
    let mut response = next.run(req).await;
    let status = response.status();
    app.runtime.shared().metrics.record_served(method.as_str(), &route, status.as_u16(), started.elapsed());
    // A refused upload may leave its body unread, and the server then closes the connection; saying so keeps a
    // pooling client from sending its next request into a closed connection.
    if (status.is_client_error() || status.is_server_error()) && matches!(method, Method::PUT | Method::POST) {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// 404 for a path the API does not have, 405 (with `Allow`) for a method a path does not offer: the API's own
/// verdict (`http_api::routes::route`), as the edge gives it.
async fn no_route(method: Method, uri: axum::http::Uri) -> Response {
    match http_api::routes::route(method.as_str(), uri.path()) {
        Err(Refusal::Method(allow)) => {
            let detail = format!("{} allows {allow}, not {method}", uri.path());
            let mut response = Problem::new(Kind::MethodNotAllowed, detail).into_response();
            if let Ok(v) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, v);
            }
            response
        }
        _ => Problem::new(Kind::NoRoute, format!("no route for {method} {}; /openapi.json lists them", uri.path()))
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use utoipa::OpenApi;

    #[test]
    fn the_route_table_and_the_openapi_document_agree() {
        let doc = serde_json::to_value(openapi::Doc::openapi()).unwrap();
        let mut documented = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                if ["get", "put", "post", "delete", "head", "patch", "options"].contains(&method.as_str()) {
                    documented.insert((method.to_uppercase(), path.clone()));
                    let id = operation["operationId"].as_str().unwrap_or_default().to_string();
                    assert!(ids.insert(id.clone()), "operation id {id:?} of {method} {path} is used twice");
                }
            }
        }
        let routed: BTreeSet<_> = TABLE.iter().map(|r| (r.method.to_string(), r.path.to_string())).collect();
        assert_eq!(routed.difference(&documented).collect::<Vec<_>>(), Vec::<&(String, String)>::new(), "undocumented");
        assert_eq!(documented.difference(&routed).collect::<Vec<_>>(), Vec::<&(String, String)>::new(), "unrouted");
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
