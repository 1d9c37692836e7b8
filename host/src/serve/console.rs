//! The web console at `/`: three files embedded in the binary (so nothing loads from the network at run time and
//! nothing needs building), served with a Content-Security-Policy that allows scripts, styles and requests from
//! this origin only — no inline script, no other host. The page holds no data; everything it shows comes through
//! the token-guarded `/v1` API, so these routes need no token.

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::HeaderName;
use axum::response::{IntoResponse, Response};
use axum::routing::{self, MethodRouter};

/// Scripts, styles, fetches and images from this origin only; no inline code, no plugins, no framing.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const PAGES: [(&str, &str, &str); 3] = [
    ("/", "text/html; charset=utf-8", include_str!("console/index.html")),
    ("/console/app.js", "text/javascript; charset=utf-8", include_str!("console/app.js")),
    ("/console/app.css", "text/css; charset=utf-8", include_str!("console/app.css")),
];

fn page(content_type: &'static str, body: &'static str) -> Response {
    let headers: [(HeaderName, &str); 5] = [
        (CONTENT_TYPE, content_type),
        (CONTENT_SECURITY_POLICY, POLICY),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (REFERRER_POLICY, "no-referrer"),
        // The files change with the binary; a browser asks again rather than run an old script against a new API.
        (CACHE_CONTROL, "no-cache"),
    ];
    (headers, body).into_response()
}

/// The console's paths and their GET routes.
pub(super) fn routes<S: Clone + Send + Sync + 'static>() -> impl Iterator<Item = (&'static str, MethodRouter<S>)> {
    PAGES
        .into_iter()
        .map(|(path, content_type, body)| (path, routing::get(move || async move { page(content_type, body) })))
}
