//! Requests to DigitalOcean's API v2: the bearer token from the host's `credentials.api-token`, JSON in and out,
//! pages followed to the end, and the shared exchange for retries (a 429 waits out `ratelimit-reset`) and metrics.

use super::api::{self, Links};
use crate::base::encode::uri_encode;
use crate::base::exchange::{self, Call, Refusal, Service};
use crate::base::http::{self, Payload, Response};
use crate::base::invalid;
use crate::base::retry::Policy;
use crate::base::target::{self, Endpoint, Target};
use crate::host::credentials;
use crate::spaces::storage::types::{ApiConfig, Error};
use serde::de::DeserializeOwned;

/// Largest JSON answer read.
const MAX_JSON: usize = 4 << 20;

pub(crate) struct Api {
    base: Endpoint,
    retry: Policy,
}

impl Service for Api {
    fn retry_policy(&self) -> &Policy {
        &self.retry
    }

    fn authorize(&self, call: &Call, headers: &mut Vec<(String, String)>) -> Result<String, Error> {
        let token =
            credentials::api_token().map_err(|m| Error::AccessDenied(format!("no DigitalOcean API token: {m}")))?;
        headers.push(("authorization".into(), format!("Bearer {token}")));
        headers.push(("accept".into(), "application/json".into()));
        if !call.body.is_empty() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        let pairs: Vec<String> =
            call.query.iter().map(|(k, v)| format!("{}={}", uri_encode(k, false), uri_encode(v, false))).collect();
        Ok(pairs.join("&"))
    }

    fn refusal(&self, _call: &Call, resp: Response) -> Refusal {
        let status = resp.status;
        let wait_ms = api::reset_wait_ms(resp.header("ratelimit-reset"), http::unix_now());
        let body = resp.read_body(64 << 10).unwrap_or_default();
        let (error, retryable) = api::refusal(status, &body, wait_ms.map(|ms| ms / 1000));
        Refusal { error, retryable, wait_ms }
    }
}

impl Api {
    pub(crate) fn new(cfg: &ApiConfig) -> Result<Self, Error> {
        let base = target::parse_endpoint(cfg.base_url.as_deref().unwrap_or(api::DEFAULT_BASE)).map_err(invalid)?;
        // A 429 may ask for most of a minute; the storage default of 30 s in all would give up first.
        let patient = Policy { max_elapsed_ms: 90_000, max_delay_ms: 60_000, ..Policy::default() };
        let retry = Policy::from_config(cfg.retry.as_ref(), patient).map_err(invalid)?;
        Ok(Api { base, retry })
    }

    /// Sends one call and reads its JSON answer (empty for 204).
    pub(crate) fn call(
        &self,
        operation: &'static str,
        method: &'static str,
        path: String,
        query: Vec<(String, String)>,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, Error> {
        let mut payload = Payload::default();
        if let Some(b) = body {
            payload.push(b);
        }
        let call = Call {
            operation,
            method,
            target: Target { scheme: self.base.scheme, host: self.base.host.clone(), path },
            query,
            headers: Vec::new(),
            body: payload,
            key: None,
            etag_checked: false,
        };
        let resp = exchange::execute(self, call)?;
        resp.read_body(MAX_JSON).map_err(|m| Error::Transport(format!("{operation} answer: {m}")))
    }

    pub(crate) fn parse<T: DeserializeOwned>(operation: &str, body: &[u8]) -> Result<T, Error> {
        serde_json::from_slice(body)
            .map_err(|e| Error::Transport(format!("malformed {operation} answer from the DigitalOcean API: {e}")))
    }

    pub(crate) fn json(body: &impl serde::Serialize) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(body).map_err(|e| Error::InvalidArgument(format!("cannot encode the request: {e}")))
    }

    /// Every item of a paginated list at `path` (with `filters` in the query), 200 per page: `split` takes a
    /// page apart into its items and its links.
    pub(crate) fn all_pages<P: DeserializeOwned, T>(
        &self,
        operation: &'static str,
        path: &str,
        filters: &[(String, String)],
        split: impl Fn(P) -> (Vec<T>, Links),
    ) -> Result<Vec<T>, Error> {
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let mut query = filters.to_vec();
            query.push(("page".into(), page.to_string()));
            query.push(("per_page".into(), api::PER_PAGE.to_string()));
            let body = self.call(operation, "GET", path.to_string(), query, None)?;
            let (items, links) = split(Self::parse(operation, &body)?);
            all.extend(items);
            match links.next_page() {
                Some(next) if next > page => page = next,
                _ => return Ok(all),
            }
        }
    }
}
