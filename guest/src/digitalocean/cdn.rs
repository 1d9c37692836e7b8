//! DigitalOcean's CDN endpoints through API v2 (`http` sends, `api` knows the shapes, the checks and the
//! purge pacing).

use super::api::{self, Clock, EndpointBody, EndpointJson, EndpointPage, OneEndpoint, PurgeBody};
use super::http::Api;
use crate::base::http;
use crate::base::invalid;
use crate::exports::spaces::storage::cdn::{Endpoint as CdnEndpoint, EndpointSettings, PurgeReport};
use crate::host::progress;
use crate::spaces::storage::types::{ApiConfig, Error};

pub(crate) struct CdnClient {
    api: Api,
    purge_window_ms: u64,
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
    pub(crate) fn new(cfg: &ApiConfig) -> Result<Self, Error> {
        let purge_window_ms = cfg.purge_window_ms.map_or(api::PURGE_WINDOW_MS, u64::from);
        Ok(CdnClient { api: Api::new(cfg)?, purge_window_ms })
    }

    pub(crate) fn list(&self) -> Result<Vec<CdnEndpoint>, Error> {
        self.api.all_pages("cdn-list", "/v2/cdn/endpoints", &[], |p: EndpointPage| {
            (p.endpoints.into_iter().map(endpoint_of).collect(), p.links)
        })
    }

    fn one(
        &self,
        operation: &'static str,
        method: &'static str,
        path: String,
        body: Option<Vec<u8>>,
    ) -> Result<CdnEndpoint, Error> {
        let answer = self.api.call(operation, method, path, Vec::new(), body)?;
        Ok(endpoint_of(Api::parse::<OneEndpoint>(operation, &answer)?.endpoint))
    }

    pub(crate) fn get(&self, id: &str) -> Result<CdnEndpoint, Error> {
        api::check_uuid("endpoint id", id).map_err(invalid)?;
        self.one("cdn-get", "GET", format!("/v2/cdn/endpoints/{id}"), None)
    }

    pub(crate) fn create(&self, origin: &str, s: &EndpointSettings) -> Result<CdnEndpoint, Error> {
        let body = EndpointBody {
            origin: Some(origin),
            ttl: s.ttl,
            certificate_id: s.certificate_id.as_deref(),
            custom_domain: s.custom_domain.as_deref(),
        };
        body.validate().map_err(invalid)?;
        self.one("cdn-create", "POST", "/v2/cdn/endpoints".into(), Some(Api::json(&body)?))
    }

    pub(crate) fn update(&self, id: &str, s: &EndpointSettings) -> Result<CdnEndpoint, Error> {
        api::check_uuid("endpoint id", id).map_err(invalid)?;
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
        self.one("cdn-update", "PUT", format!("/v2/cdn/endpoints/{id}"), Some(Api::json(&body)?))
    }

    pub(crate) fn delete(&self, id: &str) -> Result<(), Error> {
        api::check_uuid("endpoint id", id).map_err(invalid)?;
        self.api.call("cdn-delete", "DELETE", format!("/v2/cdn/endpoints/{id}"), Vec::new(), None).map(drop)
    }

    pub(crate) fn find(&self, origin: &str) -> Result<Option<CdnEndpoint>, Error> {
        let origin = origin.to_ascii_lowercase();
        Ok(self.list()?.into_iter().find(|e| e.origin.to_ascii_lowercase() == origin))
    }

    pub(crate) fn purge(&self, id: &str, paths: &[String]) -> Result<PurgeReport, Error> {
        api::check_uuid("endpoint id", id).map_err(invalid)?;
        let files = api::normalise_paths(paths).map_err(invalid)?;
        let path = format!("/v2/cdn/endpoints/{id}/cache");
        let send = |batch: &[String]| {
            let body = Api::json(&PurgeBody { files: batch })?;
            self.api.call("cdn-purge", "DELETE", path.clone(), Vec::new(), Some(body)).map(drop)
        };
        let requests = api::paced_purge(&files, self.purge_window_ms, &mut WasiClock, send, |done| {
            progress::purged(done as u32, files.len() as u32)
        })?;
        Ok(PurgeReport { files: files.len() as u32, requests })
    }
}
