//! The route table: every method and path the service answers, in OpenAPI's path syntax, with its handler. The
//! router is built from this table alone, and a test checks the table against the OpenAPI document both ways.
//! `/v1` routes sit behind the bearer-token check; every route is timed into the metrics.

use super::problem::Problem;
use super::{cdn, health, keys_routes, objects, openapi, App};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{self, MethodRouter};
use axum::Router;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// JSON request bodies (batch delete, presign) above this are refused; object bodies stream and have their own
/// limit.
const MAX_JSON_BODY: usize = 4 << 20;

struct Route {
    method: Method,
    /// OpenAPI syntax; `{key}` is an object key and may contain `/`.
    path: &'static str,
    handler: fn() -> MethodRouter<Arc<App>>,
}

const ROUTES: &[Route] = &[
    Route { method: Method::PUT, path: "/v1/objects/{key}", handler: || routing::put(objects::put) },
    Route { method: Method::GET, path: "/v1/objects/{key}", handler: || routing::get(objects::get) },
    Route { method: Method::HEAD, path: "/v1/objects/{key}", handler: || routing::head(objects::head) },
    Route { method: Method::DELETE, path: "/v1/objects/{key}", handler: || routing::delete(objects::delete) },
    Route { method: Method::GET, path: "/v1/objects", handler: || routing::get(objects::list) },
    Route { method: Method::POST, path: "/v1/objects/delete", handler: || routing::post(objects::delete_many) },
    Route { method: Method::POST, path: "/v1/presign", handler: || routing::post(objects::presign) },
    Route { method: Method::GET, path: "/v1/url/{key}", handler: || routing::get(objects::url) },
    Route { method: Method::GET, path: "/v1/cdn/endpoints", handler: || routing::get(cdn::list) },
    Route { method: Method::POST, path: "/v1/cdn/endpoints", handler: || routing::post(cdn::create) },
    Route { method: Method::GET, path: "/v1/cdn/endpoints/{id}", handler: || routing::get(cdn::get) },
    Route { method: Method::PUT, path: "/v1/cdn/endpoints/{id}", handler: || routing::put(cdn::update) },
    Route { method: Method::DELETE, path: "/v1/cdn/endpoints/{id}", handler: || routing::delete(cdn::delete) },
    Route { method: Method::POST, path: "/v1/cdn/purge", handler: || routing::post(cdn::purge) },
    Route { method: Method::GET, path: "/v1/keys", handler: || routing::get(keys_routes::list) },
    Route { method: Method::POST, path: "/v1/keys", handler: || routing::post(keys_routes::create) },
    Route { method: Method::GET, path: "/v1/keys/{access_key}", handler: || routing::get(keys_routes::get) },
    Route { method: Method::PUT, path: "/v1/keys/{access_key}", handler: || routing::put(keys_routes::rename) },
    Route { method: Method::DELETE, path: "/v1/keys/{access_key}", handler: || routing::delete(keys_routes::delete) },
    Route {
        method: Method::POST,
        path: "/v1/keys/{access_key}/rotate",
        handler: || routing::post(keys_routes::rotate_key),
    },
    Route { method: Method::GET, path: "/healthz", handler: || routing::get(health::healthz) },
    Route { method: Method::GET, path: "/readyz", handler: || routing::get(health::readyz) },
    Route { method: Method::GET, path: "/metrics", handler: || routing::get(health::metrics) },
    Route { method: Method::GET, path: "/openapi.json", handler: || routing::get(openapi::document) },
];

/// The router's path syntax: a key takes the rest of the path.
fn axum_path(path: &str) -> String {
    path.replace("{key}", "{*key}")
}

/// Method routers per path. A fixed path under a key route (`/v1/objects/delete`) also answers the key route's
/// other methods, so an object named `delete` stays reachable.
fn method_routers() -> BTreeMap<&'static str, MethodRouter<Arc<App>>> {
    let mut paths: BTreeMap<&'static str, Vec<&Route>> = BTreeMap::new();
    for r in ROUTES {
        paths.entry(r.path).or_default().push(r);
    }
    let mut routers = BTreeMap::new();
    for (path, own) in &paths {
        let mut router = MethodRouter::new();
        for r in own {
            router = router.merge((r.handler)());
        }
        for (key_path, key_routes) in &paths {
            let Some(prefix) = key_path.strip_suffix("{key}") else { continue };
            if path.starts_with(prefix) && !path.contains('{') {
                for r in key_routes.iter().filter(|k| own.iter().all(|o| o.method != k.method)) {
                    router = router.merge((r.handler)());
                }
            }
        }
        routers.insert(*path, router);
    }
    routers
}

pub fn router(app: Arc<App>) -> Router {
    let mut api = Router::new();
    let mut public = Router::new();
    for (path, router) in method_routers() {
        if path.starts_with("/v1/") {
            api = api.route(&axum_path(path), router);
        } else {
            public = public.route(&axum_path(path), router);
        }
    }
    let api = api.route_layer(middleware::from_fn_with_state(Arc::clone(&app), require_token));
    api.merge(public)
        .fallback(no_route)
        .layer(middleware::from_fn_with_state(Arc::clone(&app), observe))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_JSON_BODY))
        .with_state(app)
}

async fn require_token(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if app.token.accepts(req.headers().get(header::AUTHORIZATION).map(HeaderValue::as_bytes)) {
        return next.run(req).await;
    }
    if matches!(*req.method(), Method::PUT | Method::POST | Method::DELETE) {
        tracing::info!(target: "spaces::audit", op = %req.method(), path = %req.uri().path(), status = 401, caller = "-", "audit");
    }
    let mut response = Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "missing or wrong bearer token: send `Authorization: Bearer TOKEN` with the token from SPACES_TOKEN or the token file",
    )
    .into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"spaces\""));
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

async fn no_route(method: Method, uri: axum::http::Uri) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no-route",
        format!("no route for {method} {}; /openapi.json lists them", uri.path()),
    )
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
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if ["get", "put", "post", "delete", "head", "patch", "options"].contains(&method.as_str()) {
                    documented.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        let routed: BTreeSet<_> = ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_string())).collect();
        assert_eq!(routed.difference(&documented).collect::<Vec<_>>(), Vec::<&(String, String)>::new(), "undocumented");
        assert_eq!(documented.difference(&routed).collect::<Vec<_>>(), Vec::<&(String, String)>::new(), "unrouted");
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
