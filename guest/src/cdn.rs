//! DigitalOcean's CDN endpoints through API v2: each call goes through the shared exchange (retries with backoff,
//! a 429 waiting out `ratelimit-reset`, one metrics event per call) with the host's API token as a bearer token.
//! JSON shapes, checks and purge pacing live in `do_api`.

use crate::addressing::{self, Endpoint, Target};
use crate::client::invalid;
use crate::do_api::{self, Clock, EndpointBody, EndpointJson, EndpointPage, OneEndpoint, PurgeBody};
use crate::exchange::{self, Call, Refusal, Service};
use crate::exports::spaces::storage::cdn::{ApiConfig, Endpoint as CdnEndpoint, EndpointSettings, PurgeReport};
use crate::http::{self, Payload, Response};
use crate::retry::Policy;
use crate::spaces::storage::credentials;
use crate::spaces::storage::types::Error;

/// Largest JSON answer read.
const MAX_JSON: usize = 4 << 20;

pub struct CdnClient {
    base: Endpoint,
    retry: Policy,
    purge_window_ms: u64,
}

impl Service for CdnClient {
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
        // Query values here are numbers the component made; nothing needs encoding.
        Ok(call.query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"))
    }

    fn refusal(&self, _call: &Call, resp: Response) -> Refusal {
        let status = resp.status;
        let wait_ms = do_api::reset_wait_ms(resp.header("ratelimit-reset"), http::unix_now());
        let body = resp.read_body(64 << 10).unwrap_or_default();
        let (error, retryable) = do_api::refusal(status, &body, wait_ms.map(|ms| ms / 1000));
        Refusal { error, retryable, wait_ms }
    }
}

/// The component's clock, for purge pacing.
struct WasiClock;

impl Clock for WasiClock {
    fn now_ms(&mut self) -> u64 {
        http::monotonic_ms()
    }
    fn sleep_until_ms(&mut self, ms: u64) {
        http::wait_any(&[http::alarm_at_ms(ms)]);
    }
}

fn endpoint_of(e: EndpointJson) -> CdnEndpoint {
    CdnEndpoint {
        id: e.id,
        origin: e.origin,
        endpoint: e.endpoint,
        ttl: e.ttl,
        certificate_id: e.certificate_id,
        custom_domain: e.custom_domain,
        created_at: e.created_at,
    }
}

impl CdnClient {
    pub fn new(cfg: &ApiConfig) -> Result<Self, Error> {
        let base =
            addressing::parse_endpoint(cfg.base_url.as_deref().unwrap_or(do_api::DEFAULT_BASE)).map_err(invalid)?;
        // A 429 may ask for most of a minute; the storage default of 30 s in all would give up first.
        let patient = Policy { max_elapsed_ms: 90_000, max_delay_ms: 60_000, ..Policy::default() };
        let retry = Policy::from_config(cfg.retry.as_ref(), patient).map_err(invalid)?;
        let purge_window_ms = cfg.purge_window_ms.map_or(do_api::PURGE_WINDOW_MS, u64::from);
        Ok(CdnClient { base, retry, purge_window_ms })
    }

    /// Sends one call and reads its JSON answer (empty for 204).
    fn call(
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
        };
        let resp = exchange::execute(self, call)?;
        resp.read_body(MAX_JSON).map_err(|m| Error::Transport(format!("{operation} answer: {m}")))
    }

    fn parse<T: serde::de::DeserializeOwned>(operation: &str, body: &[u8]) -> Result<T, Error> {
        serde_json::from_slice(body)
            .map_err(|e| Error::Transport(format!("malformed {operation} answer from the DigitalOcean API: {e}")))
    }

    fn json(body: &impl serde::Serialize) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(body).map_err(|e| Error::InvalidArgument(format!("cannot encode the request: {e}")))
    }

    pub fn list(&self) -> Result<Vec<CdnEndpoint>, Error> {
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let query = vec![("page".into(), page.to_string()), ("per_page".into(), do_api::PER_PAGE.to_string())];
            let body = self.call("cdn-list", "GET", "/v2/cdn/endpoints".into(), query, None)?;
            let parsed: EndpointPage = Self::parse("cdn-list", &body)?;
            all.extend(parsed.endpoints.into_iter().map(endpoint_of));
            match parsed.links.next_page() {
                Some(next) if next > page => page = next,
                _ => return Ok(all),
            }
        }
    }

    fn one(
        &self,
        operation: &'static str,
        method: &'static str,
        path: String,
        body: Option<Vec<u8>>,
    ) -> Result<CdnEndpoint, Error> {
        let answer = self.call(operation, method, path, Vec::new(), body)?;
        Ok(endpoint_of(Self::parse::<OneEndpoint>(operation, &answer)?.endpoint))
    }

    pub fn get(&self, id: &str) -> Result<CdnEndpoint, Error> {
        do_api::check_uuid("endpoint id", id).map_err(invalid)?;
        self.one("cdn-get", "GET", format!("/v2/cdn/endpoints/{id}"), None)
    }

    pub fn create(&self, origin: &str, s: &EndpointSettings) -> Result<CdnEndpoint, Error> {
        let body = EndpointBody {
            origin: Some(origin),
            ttl: s.ttl,
            certificate_id: s.certificate_id.as_deref(),
            custom_domain: s.custom_domain.as_deref(),
        };
        body.validate().map_err(invalid)?;
        self.one("cdn-create", "POST", "/v2/cdn/endpoints".into(), Some(Self::json(&body)?))
    }

    pub fn update(&self, id: &str, s: &EndpointSettings) -> Result<CdnEndpoint, Error> {
        do_api::check_uuid("endpoint id", id).map_err(invalid)?;
        let body = EndpointBody {
            origin: None,
            ttl: s.ttl,
            certificate_id: s.certificate_id.as_deref(),
            custom_domain: s.custom_domain.as_deref(),
        };
        if body.ttl.is_none() && body.certificate_id.is_none() && body.custom_domain.is_none() {
            return Err(invalid("nothing to update: give a ttl, a certificate id or a custom domain".into()));
        }
        body.validate().map_err(invalid)?;
        self.one("cdn-update", "PUT", format!("/v2/cdn/endpoints/{id}"), Some(Self::json(&body)?))
    }

    pub fn delete(&self, id: &str) -> Result<(), Error> {
        do_api::check_uuid("endpoint id", id).map_err(invalid)?;
        self.call("cdn-delete", "DELETE", format!("/v2/cdn/endpoints/{id}"), Vec::new(), None).map(drop)
    }

    pub fn find(&self, origin: &str) -> Result<Option<CdnEndpoint>, Error> {
        let origin = origin.to_ascii_lowercase();
        Ok(self.list()?.into_iter().find(|e| e.origin.to_ascii_lowercase() == origin))
    }

    pub fn purge(&self, id: &str, paths: &[String]) -> Result<PurgeReport, Error> {
        do_api::check_uuid("endpoint id", id).map_err(invalid)?;
        let files = do_api::normalise_paths(paths).map_err(invalid)?;
        let path = format!("/v2/cdn/endpoints/{id}/cache");
        let send = |batch: &[String]| {
            let body = Self::json(&PurgeBody { files: batch })?;
            self.call("cdn-purge", "DELETE", path.clone(), Vec::new(), Some(body)).map(drop)
        };
        let requests = do_api::paced_purge(&files, self.purge_window_ms, &mut WasiClock, send)?;
        Ok(PurgeReport { files: files.len() as u32, requests })
    }
}
