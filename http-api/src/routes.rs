//! Which operation a request names: the one route table of the service, in OpenAPI's path syntax, and the
//! matcher the edge component routes with. `spaces serve` builds its axum router from the same [`TABLE`], so a
//! route added here is a route in both (the edge answers `no-route` for the operations it does not offer).

/// Every operation of the HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// `PUT /v1/objects/{key}`.
    PutObject,
    /// `GET /v1/objects/{key}`.
    GetObject,
    /// `HEAD /v1/objects/{key}`.
    HeadObject,
    /// `DELETE /v1/objects/{key}`.
    DeleteObject,
    /// `GET /v1/objects`.
    ListObjects,
    /// `POST /v1/objects/delete`.
    DeleteObjects,
    /// `POST /v1/presign`.
    Presign,
    /// `GET /v1/url/{key}`.
    Url,
    /// `GET /v1/uploads`.
    ListUploads,
    /// `DELETE /v1/uploads/{upload_id}`.
    AbortUpload,
    /// `POST /v1/presign-post`.
    PresignPost,
    /// `GET /v1/acl/{key}`.
    GetAcl,
    /// `PUT /v1/acl/{key}`.
    SetAcl,
    /// `GET /v1/cors`.
    GetCors,
    /// `PUT /v1/cors`.
    SetCors,
    /// `DELETE /v1/cors`.
    DeleteCors,
    /// `GET /v1/buckets`.
    ListBuckets,
    /// `GET /v1/cdn/endpoints`.
    ListCdnEndpoints,
    /// `POST /v1/cdn/endpoints`.
    CreateCdnEndpoint,
    /// `GET /v1/cdn/endpoints/{id}`.
    GetCdnEndpoint,
    /// `PUT /v1/cdn/endpoints/{id}`.
    UpdateCdnEndpoint,
    /// `DELETE /v1/cdn/endpoints/{id}`.
    DeleteCdnEndpoint,
    /// `POST /v1/cdn/purge`.
    PurgeCdn,
    /// `GET /v1/keys`.
    ListKeys,
    /// `POST /v1/keys`.
    CreateKey,
    /// `GET /v1/keys/{access_key}`.
    GetKey,
    /// `PUT /v1/keys/{access_key}`.
    RenameKey,
    /// `DELETE /v1/keys/{access_key}`.
    DeleteKey,
    /// `POST /v1/keys/{access_key}/rotate`.
    RotateKey,
    /// `GET /healthz`.
    Health,
    /// `GET /readyz`.
    Ready,
    /// `GET /metrics`.
    Metrics,
    /// `GET /openapi.json`.
    OpenApi,
}

/// One route: a method on a path pattern. `{key}` takes the rest of the path (keys contain `/`); any other
/// `{name}` takes one segment.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// OpenAPI path syntax.
    pub path: &'static str,
    /// What it does.
    pub op: Op,
}

const fn r(method: &'static str, path: &'static str, op: Op) -> Route {
    Route { method, path, op }
}

/// The path prefix of object routes.
pub const OBJECTS: &str = "/v1/objects/";
/// The path prefix of URL routes.
pub const URLS: &str = "/v1/url/";
/// The path prefix of object ACL routes.
pub const ACLS: &str = "/v1/acl/";

/// Every route the service answers. A fixed path below a key route (`/v1/objects/delete`) answers the key
/// route's other methods too, so an object named `delete` stays reachable.
pub const TABLE: &[Route] = &[
    r("PUT", "/v1/objects/{key}", Op::PutObject),
    r("GET", "/v1/objects/{key}", Op::GetObject),
    r("HEAD", "/v1/objects/{key}", Op::HeadObject),
    r("DELETE", "/v1/objects/{key}", Op::DeleteObject),
    r("GET", "/v1/objects", Op::ListObjects),
    r("POST", "/v1/objects/delete", Op::DeleteObjects),
    r("POST", "/v1/presign", Op::Presign),
    r("GET", "/v1/url/{key}", Op::Url),
    r("GET", "/v1/uploads", Op::ListUploads),
    r("DELETE", "/v1/uploads/{upload_id}", Op::AbortUpload),
    r("POST", "/v1/presign-post", Op::PresignPost),
    r("GET", "/v1/acl/{key}", Op::GetAcl),
    r("PUT", "/v1/acl/{key}", Op::SetAcl),
    r("GET", "/v1/cors", Op::GetCors),
    r("PUT", "/v1/cors", Op::SetCors),
    r("DELETE", "/v1/cors", Op::DeleteCors),
    r("GET", "/v1/buckets", Op::ListBuckets),
    r("GET", "/v1/cdn/endpoints", Op::ListCdnEndpoints),
    r("POST", "/v1/cdn/endpoints", Op::CreateCdnEndpoint),
    r("GET", "/v1/cdn/endpoints/{id}", Op::GetCdnEndpoint),
    r("PUT", "/v1/cdn/endpoints/{id}", Op::UpdateCdnEndpoint),
    r("DELETE", "/v1/cdn/endpoints/{id}", Op::DeleteCdnEndpoint),
    r("POST", "/v1/cdn/purge", Op::PurgeCdn),
    r("GET", "/v1/keys", Op::ListKeys),
    r("POST", "/v1/keys", Op::CreateKey),
    r("GET", "/v1/keys/{access_key}", Op::GetKey),
    r("PUT", "/v1/keys/{access_key}", Op::RenameKey),
    r("DELETE", "/v1/keys/{access_key}", Op::DeleteKey),
    r("POST", "/v1/keys/{access_key}/rotate", Op::RotateKey),
    r("GET", "/healthz", Op::Health),
    r("GET", "/readyz", Op::Ready),
    r("GET", "/metrics", Op::Metrics),
    r("GET", "/openapi.json", Op::OpenApi),
];

impl Route {
    /// Needs the bearer token: everything under `/v1`.
    pub fn guarded(&self) -> bool {
        self.path.starts_with("/v1/")
    }
}

/// A request matched to its route.
#[derive(Debug, PartialEq, Eq)]
pub struct Matched {
    /// The operation.
    pub op: Op,
    /// The path parameter (object key, endpoint id, access key), percent-decoded; object keys are checked.
    pub param: Option<String>,
    /// The query string's pairs, decoded.
    pub query: Vec<(String, String)>,
}

impl Matched {
    /// The first value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Why a request has no route.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 400: the path or query is malformed (a bad key, bad percent-encoding).
    BadRequest(String),
    /// 404: nothing lives at this path.
    NoRoute,
    /// 405, with the methods the path allows (as for `Allow`).
    Method(String),
}

/// Does `pattern` match `path`? `Some(parameter)` when it does (`None` inside for a fixed path).
fn matches(pattern: &str, path: &str) -> Option<Option<String>> {
    let Some(open) = pattern.find('{') else { return (pattern == path).then_some(None) };
    let close = open + pattern[open..].find('}')?;
    let (before, after) = (&pattern[..open], &pattern[close + 1..]);
    let rest = path.strip_prefix(before)?;
    if &pattern[open..=close] == "{key}" {
        return (!rest.is_empty()).then(|| Some(rest.to_string()));
    }
    let segment = rest.strip_suffix(after)?;
    (!segment.is_empty() && !segment.contains('/')).then(|| Some(segment.to_string()))
}

/// The route for `method` on `path_and_query`. Fixed paths win over parameter patterns for their own methods.
pub fn route(method: &str, path_and_query: &str) -> Result<Matched, Refusal> {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let mut hits: Vec<(&Route, Option<String>)> =
        TABLE.iter().filter_map(|r| matches(r.path, path).map(|p| (r, p))).collect();
    if hits.is_empty() {
        return Err(Refusal::NoRoute);
    }
    // Fixed routes first, so `POST /v1/objects/delete` is the batch and `GET` on it an object named `delete`.
    hits.sort_by_key(|(r, _)| r.path.contains('{'));
    let Some((route, raw)) = hits.iter().find(|(r, _)| r.method == method) else {
        let mut allow: Vec<&str> = hits.iter().map(|(r, _)| r.method).collect();
        allow.dedup();
        return Err(Refusal::Method(allow.join(", ")));
    };
    let param = match raw {
        None => None,
        Some(raw) if route.path.contains("{key}") => {
            Some(object_keys::from_path(raw, "").map_err(Refusal::BadRequest)?)
        }
        Some(raw) => Some(object_keys::percent_decode(raw).map_err(Refusal::BadRequest)?),
    };
    Ok(Matched { op: route.op, param, query: query_params(query).map_err(Refusal::BadRequest)? })
}

/// `a=1&b=x%20y` as decoded pairs (`+` is a space, as in forms).
pub fn query_params(query: &str) -> Result<Vec<(String, String)>, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| object_keys::percent_decode(&s.replace('+', " "));
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: &str, path: &str) -> (Op, Option<String>) {
        let m = route(method, path).unwrap();
        (m.op, m.param)
    }

    #[test]
    fn object_routes_take_the_rest_of_the_path_as_a_decoded_key() {
        assert_eq!(op("PUT", "/v1/objects/a/caf%C3%A9.txt"), (Op::PutObject, Some("a/café.txt".into())));
        assert_eq!(op("HEAD", "/v1/objects/k"), (Op::HeadObject, Some("k".into())));
        assert_eq!(op("GET", "/v1/url/k?cdn=true"), (Op::Url, Some("k".into())));
        assert_eq!(op("PUT", "/v1/acl/a/b.txt"), (Op::SetAcl, Some("a/b.txt".into())));
        assert!(matches!(route("GET", "/v1/acl/a//b"), Err(Refusal::BadRequest(_))));
        assert!(matches!(route("GET", "/v1/objects/a/../b"), Err(Refusal::BadRequest(_))));
        assert!(matches!(route("GET", "/v1/objects/a%2"), Err(Refusal::BadRequest(_))));
    }

    #[test]
    fn a_fixed_path_below_a_key_route_keeps_the_key_routes_other_methods() {
        assert_eq!(op("POST", "/v1/objects/delete"), (Op::DeleteObjects, None));
        assert_eq!(op("GET", "/v1/objects/delete"), (Op::GetObject, Some("delete".into())));
        assert_eq!(op("DELETE", "/v1/objects/delete"), (Op::DeleteObject, Some("delete".into())));
    }

    #[test]
    fn segment_parameters_take_one_segment() {
        assert_eq!(op("POST", "/v1/keys/DO123/rotate"), (Op::RotateKey, Some("DO123".into())));
        assert_eq!(op("PUT", "/v1/keys/DO123"), (Op::RenameKey, Some("DO123".into())));
        assert_eq!(op("DELETE", "/v1/cdn/endpoints/e-1"), (Op::DeleteCdnEndpoint, Some("e-1".into())));
        assert_eq!(route("GET", "/v1/keys/a/b"), Err(Refusal::NoRoute));
    }

    #[test]
    fn queries_are_decoded_and_unknown_paths_and_methods_refused() {
        let m = route("GET", "/v1/objects?prefix=a%2Fb&delimiter=/&limit=2&cursor=x+y").unwrap();
        assert_eq!(m.op, Op::ListObjects);
        assert_eq!((m.query_param("prefix"), m.query_param("cursor")), (Some("a/b"), Some("x y")));
        assert_eq!(route("POST", "/v1/objects/k"), Err(Refusal::Method("PUT, GET, HEAD, DELETE".into())));
        assert_eq!(route("DELETE", "/healthz"), Err(Refusal::Method("GET".into())));
        assert_eq!(route("PATCH", "/v1/objects"), Err(Refusal::Method("GET".into())));
        assert_eq!(route("GET", "/v2/whatever"), Err(Refusal::NoRoute));
    }

    #[test]
    fn every_route_is_reachable_through_the_matcher() {
        for r in TABLE {
            let path = r.path.replace("{key}", "some/key").replace("{id}", "e1").replace("{access_key}", "AK");
            assert_eq!(route(r.method, &path).map(|m| m.op), Ok(r.op), "{} {}", r.method, r.path);
        }
    }

    proptest::proptest! {
        #[test]
        fn routing_never_panics_and_keys_it_yields_pass_the_key_rules(
            method in "(GET|PUT|POST|HEAD|DELETE|PATCH|[A-Z]{1,7})",
            path in "/(v1/(objects|url|acl|keys|cdn/endpoints)/)?[a-zA-Z0-9%./_~?=&+-]{0,60}",
        ) {
            if let Ok(m) = route(&method, &path) {
                let keyed = [Op::PutObject, Op::GetObject, Op::HeadObject, Op::DeleteObject, Op::Url, Op::GetAcl, Op::SetAcl];
                if let Some(key) = m.param.filter(|_| keyed.contains(&m.op)) {
                    proptest::prop_assert!(object_keys::check(&key).is_ok(), "{key:?}");
                }
            }
        }
    }
}
