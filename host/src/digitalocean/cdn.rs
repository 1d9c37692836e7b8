//! DigitalOcean CDN endpoints through the component's `cdn` interface (API v2 with the DIGITALOCEAN_TOKEN): a
//! session on one instance, the JSON view every face shows, and the lookup of the host a bucket's CDN serves
//! from.

use crate::error::{Failure, Outcome};
use crate::runtime::bindings::exports::spaces::storage::cdn::{ApiConfig, Endpoint, EndpointSettings, PurgeReport};
use crate::runtime::bindings::types::Config;
use crate::runtime::bindings::Client;
use crate::runtime::session::flatten;
use crate::runtime::{HostState, PurgeFn, Runtime};
use wasmtime::component::ResourceAny;
use wasmtime::Store;

/// One component instance with an open `cdn-client`.
pub(crate) struct CdnSession {
    store: Store<HostState>,
    bindings: Client,
    client: ResourceAny,
}

impl CdnSession {
    pub(crate) async fn open(runtime: &Runtime, cfg: &ApiConfig) -> Outcome<Self> {
        let (mut store, bindings) = runtime.instantiate().await?;
        let client = flatten(bindings.spaces_storage_cdn().cdn_client().call_open(&mut store, cfg).await)?;
        Ok(CdnSession { store, bindings, client })
    }

    pub(crate) async fn list(&mut self) -> Outcome<Vec<Endpoint>> {
        let c = self.bindings.spaces_storage_cdn().cdn_client();
        flatten(c.call_list_endpoints(&mut self.store, self.client).await)
    }

    pub(crate) async fn get(&mut self, id: &str) -> Outcome<Endpoint> {
        let c = self.bindings.spaces_storage_cdn().cdn_client();
        flatten(c.call_get_endpoint(&mut self.store, self.client, id).await)
    }

    pub(crate) async fn create(&mut self, origin: &str, settings: &EndpointSettings) -> Outcome<Endpoint> {
        let c = self.bindings.spaces_storage_cdn().cdn_client();
        flatten(c.call_create_endpoint(&mut self.store, self.client, origin, settings).await)
    }

    pub(crate) async fn update(&mut self, id: &str, settings: &EndpointSettings) -> Outcome<Endpoint> {
        let c = self.bindings.spaces_storage_cdn().cdn_client();
        flatten(c.call_update_endpoint(&mut self.store, self.client, id, settings).await)
    }

    pub(crate) async fn delete(&mut self, id: &str) -> Outcome<()> {
        let c = self.bindings.spaces_storage_cdn().cdn_client();
        flatten(c.call_delete_endpoint(&mut self.store, self.client, id).await)
    }

    pub(crate) async fn find(&mut self, origin: &str) -> Outcome<Option<Endpoint>> {
        let c = self.bindings.spaces_storage_cdn().cdn_client();
        flatten(c.call_find_endpoint(&mut self.store, self.client, origin).await)
    }

    /// The endpoint to purge: `id` when given, else the one whose origin is `origin`.
    pub(crate) async fn resolve(&mut self, id: Option<&str>, origin: &str) -> Outcome<String> {
        if let Some(id) = id {
            return Ok(id.to_string());
        }
        match self.find(origin).await? {
            Some(e) => Ok(e.id),
            None => Err(Failure::not_found(format!(
                "no CDN endpoint has the origin {origin}; create one with `spaces cdn create` or name it by id"
            ))),
        }
    }

    /// Where purge progress goes from now on.
    pub(crate) fn set_purge_progress(&mut self, report: PurgeFn) {
        self.store.data_mut().state.purge_progress = Some(report);
    }

    pub(crate) async fn purge(&mut self, id: &str, paths: &[String]) -> Outcome<PurgeReport> {
        let c = self.bindings.spaces_storage_cdn().cdn_client();
        flatten(c.call_purge(&mut self.store, self.client, id, paths).await)
    }
}

/// The origin host of `bucket` in `region` on DigitalOcean Spaces.
pub(crate) fn bucket_origin(bucket: &str, region: &str) -> String {
    format!("{bucket}.{region}.digitaloceanspaces.com")
}

/// An endpoint as the CLI's `--json`, the service and the MCP tools show it, with DigitalOcean's field names.
#[derive(serde::Serialize, utoipa::ToSchema, schemars::JsonSchema)]
pub(crate) struct EndpointView {
    id: String,
    origin: String,
    endpoint: String,
    ttl: u32,
    certificate_id: Option<String>,
    custom_domain: Option<String>,
    created_at: String,
}

impl From<Endpoint> for EndpointView {
    fn from(e: Endpoint) -> Self {
        EndpointView {
            id: e.id,
            origin: e.origin,
            endpoint: e.endpoint,
            ttl: e.ttl,
            certificate_id: e.certificate_id,
            custom_domain: e.custom_domain,
            created_at: e.created_at,
        }
    }
}

/// The host the CDN endpoint of `origin` serves from: its custom domain, else its endpoint; `None` when the
/// origin has no endpoint.
async fn served_host(runtime: &Runtime, api: &ApiConfig, origin: &str) -> Outcome<Option<String>> {
    let found = CdnSession::open(runtime, api).await?.find(origin).await?;
    Ok(found.map(|e| e.custom_domain.unwrap_or(e.endpoint)))
}

/// With an API token and no CDN host configured, points `cfg`'s CDN URLs at the host DigitalOcean actually
/// serves the bucket's CDN from (a custom domain, say); if the API cannot say, the default CDN host stays.
pub(crate) async fn use_served_host(runtime: &Runtime, api: &ApiConfig, cfg: &mut Config) {
    if cfg.cdn_host.is_some() || runtime.shared().api_token.is_err() {
        return;
    }
    match served_host(runtime, api, &bucket_origin(&cfg.bucket, &cfg.region)).await {
        Ok(host) => cfg.cdn_host = host,
        Err(e) => eprintln!("spaces: could not look up the bucket's CDN endpoint ({e}); CDN URLs use the default host"),
    }
}
