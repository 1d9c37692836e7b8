//! The edge component's HTTP surface, decided without I/O: its settings from the environment, which route a
//! request names (the object routes of `spaces serve`, same paths and JSON), the bearer-token check, and the
//! status and problem document for each typed error. Pure.

use crate::spaces::storage::types::{AddressingStyle, Config, Error};
use sha2::{Digest, Sha256};

pub const OBJECTS: &str = "/v1/objects/";
const URLS: &str = "/v1/url/";

/// What the edge component runs with, from `wasi:cli/environment`.
pub struct Settings {
    pub storage: Config,
    /// The bearer token every `/v1` request must carry (`SPACES_TOKEN`); `None` refuses all of them.
    pub token: Option<String>,
}

/// Reads the settings through `var` (the environment): `SPACES_BUCKET` (required), `SPACES_ENDPOINT`,
/// `SPACES_REGION` (default `nyc3`), `SPACES_PATH_STYLE`, `SPACES_CDN_HOST`, `SPACES_TOKEN`.
pub fn settings(var: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
    let bucket = var("SPACES_BUCKET").ok_or("SPACES_BUCKET is not set in the component's environment")?;
    let path_style = var("SPACES_PATH_STYLE").is_some_and(|v| !matches!(v.as_str(), "" | "0" | "false" | "no"));
    Ok(Settings {
        storage: Config {
            endpoint: var("SPACES_ENDPOINT"),
            region: var("SPACES_REGION").unwrap_or_else(|| "nyc3".into()),
            bucket,
            addressing: if path_style { AddressingStyle::Path } else { AddressingStyle::VirtualHost },
            cdn_host: var("SPACES_CDN_HOST"),
            retry: None,
            multipart_threshold: None,
            part_size: None,
            concurrency: None,
        },
        token: var("SPACES_TOKEN").filter(|t| !t.is_empty()),
    })
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    Health,
    Ready,
    Put(String),
    Get(String),
    Head(String),
    Delete(String),
    /// `POST /v1/objects/delete {"keys": [...]}`.
    DeleteMany,
    List {
        prefix: Option<String>,
        delimiter: Option<String>,
        cursor: Option<String>,
        limit: Option<u32>,
    },
    Presign,
    Url {
        key: String,
        cdn: bool,
    },
}

/// Why a request has no route.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 400 with this detail.
    BadRequest(String),
    /// 404: nothing lives at this path.
    NoRoute,
    /// 405, with the methods that path allows.
    Method(&'static str),
}

/// The route for `method` on `path_and_query`.
pub fn route(method: &str, path_and_query: &str) -> Result<Route, Refusal> {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let params = query_params(query).map_err(Refusal::BadRequest)?;
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let key = |prefix: &str| object_keys::from_path(path, prefix).map_err(Refusal::BadRequest);
    match (method, path) {
        ("GET", "/healthz") => Ok(Route::Health),
        ("GET", "/readyz") => Ok(Route::Ready),
        (_, "/healthz" | "/readyz") => Err(Refusal::Method("GET")),
        ("GET", "/v1/objects") => {
            let limit = match param("limit") {
                Some(l) => match l.parse::<u32>() {
                    Ok(n @ 1..=1000) => Some(n),
                    _ => return Err(Refusal::BadRequest("limit must be 1-1000".into())),
                },
                None => None,
            };
            Ok(Route::List { prefix: param("prefix"), delimiter: param("delimiter"), cursor: param("cursor"), limit })
        }
        (_, "/v1/objects") => Err(Refusal::Method("GET")),
        // Before the object routes: POST is the batch; other methods reach an object named `delete`.
        ("POST", "/v1/objects/delete") => Ok(Route::DeleteMany),
        ("POST", "/v1/presign") => Ok(Route::Presign),
        (_, "/v1/presign") => Err(Refusal::Method("POST")),
        ("GET", p) if p.starts_with(URLS) => {
            Ok(Route::Url { key: key(URLS)?, cdn: param("cdn").as_deref() == Some("true") })
        }
        (_, p) if p.starts_with(URLS) => Err(Refusal::Method("GET")),
        (m, p) if p.starts_with(OBJECTS) => match m {
            "PUT" => Ok(Route::Put(key(OBJECTS)?)),
            "GET" => Ok(Route::Get(key(OBJECTS)?)),
            "HEAD" => Ok(Route::Head(key(OBJECTS)?)),
            "DELETE" => Ok(Route::Delete(key(OBJECTS)?)),
            _ => Err(Refusal::Method("GET, HEAD, PUT, DELETE")),
        },
        _ => Err(Refusal::NoRoute),
    }
}

/// `a=1&b=x%20y` as decoded pairs (`+` is a space, as in forms).
fn query_params(query: &str) -> Result<Vec<(String, String)>, String> {
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

/// Does `authorization` carry `Bearer TOKEN` for the configured token? Compared as SHA-256 digests, in time that
/// depends on neither the token nor how much of it matched.
pub fn authorized(token: &str, authorization: Option<&str>) -> bool {
    let Some(given) = authorization.and_then(|h| h.strip_prefix("Bearer ")) else {
        return false;
    };
    let (a, b) = (Sha256::digest(given.as_bytes()), Sha256::digest(token.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The HTTP status and problem kind for a typed error, as `spaces serve` answers it.
pub fn status_of(e: &Error) -> (u16, &'static str) {
    match e {
        Error::NotFound(_) => (404, "not-found"),
        Error::AccessDenied(_) => (403, "access-denied"),
        Error::InvalidArgument(_) => (400, "invalid-argument"),
        Error::Conflict(_) => (409, "conflict"),
        Error::PreconditionFailed(_) => (412, "precondition-failed"),
        Error::NotModified(_) => (304, "not-modified"),
        Error::Throttled(_) => (429, "throttled"),
        Error::CircuitOpen(_) => (503, "circuit-open"),
        Error::Timeout(_) => (504, "timeout"),
        Error::Unavailable(_) | Error::Service(_) | Error::Transport(_) | Error::Integrity(_) => (502, "upstream"),
    }
}

/// An RFC 9457 problem document, as `spaces serve` writes them.
pub fn problem(status: u16, kind: &str, detail: &str) -> Vec<u8> {
    let title = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    };
    let doc = serde_json::json!({
        "type": format!("urn:spaces:problem:{kind}"),
        "title": title,
        "status": status,
        "detail": detail,
    });
    doc.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let s = settings(env(&[("SPACES_BUCKET", "b"), ("SPACES_PATH_STYLE", "1"), ("SPACES_TOKEN", "t")])).unwrap();
        assert_eq!((s.storage.bucket.as_str(), s.storage.region.as_str()), ("b", "nyc3"));
        assert!(matches!(s.storage.addressing, AddressingStyle::Path));
        assert_eq!(s.token.as_deref(), Some("t"));
        let s = settings(env(&[("SPACES_BUCKET", "b"), ("SPACES_PATH_STYLE", "0"), ("SPACES_TOKEN", "")])).unwrap();
        assert!(matches!(s.storage.addressing, AddressingStyle::VirtualHost) && s.token.is_none());
        assert!(settings(env(&[])).is_err_and(|e| e.contains("SPACES_BUCKET")));
    }

    #[test]
    fn routes_are_those_of_spaces_serve() {
        assert_eq!(route("PUT", "/v1/objects/a/caf%C3%A9.txt"), Ok(Route::Put("a/café.txt".into())));
        assert_eq!(route("HEAD", "/v1/objects/k"), Ok(Route::Head("k".into())));
        assert_eq!(
            route("GET", "/v1/objects?prefix=a%2Fb&delimiter=/&limit=2&cursor=x+y"),
            Ok(Route::List {
                prefix: Some("a/b".into()),
                delimiter: Some("/".into()),
                cursor: Some("x y".into()),
                limit: Some(2)
            })
        );
        assert_eq!(route("GET", "/v1/url/k?cdn=true"), Ok(Route::Url { key: "k".into(), cdn: true }));
        assert_eq!(route("POST", "/v1/presign"), Ok(Route::Presign));
        assert_eq!(route("POST", "/v1/objects/delete"), Ok(Route::DeleteMany));
        assert_eq!(route("GET", "/v1/objects/delete"), Ok(Route::Get("delete".into())));
        assert_eq!(route("GET", "/healthz"), Ok(Route::Health));
        assert!(matches!(route("GET", "/v1/objects/a/../b"), Err(Refusal::BadRequest(_))));
        assert!(matches!(route("GET", "/v1/objects?limit=0"), Err(Refusal::BadRequest(_))));
        assert_eq!(route("POST", "/v1/objects/k"), Err(Refusal::Method("GET, HEAD, PUT, DELETE")));
        assert_eq!(route("GET", "/v2/whatever"), Err(Refusal::NoRoute));
    }

    #[test]
    fn only_the_exact_bearer_token_passes() {
        assert!(authorized("s3cret", Some("Bearer s3cret")));
        for bad in [None, Some("Bearer s3cre"), Some("Bearer s3cret2"), Some("Basic s3cret"), Some("s3cret")] {
            assert!(!authorized("s3cret", bad), "{bad:?}");
        }
    }
}
