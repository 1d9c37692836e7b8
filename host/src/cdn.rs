//! `spaces cdn`: DigitalOcean CDN endpoints through the component's `cdn` interface (API v2 with the
//! DIGITALOCEAN_TOKEN), shown as a table or key/value lines for people and as JSON with `--json`.

use crate::bindings::exports::spaces::storage::cdn::{ApiConfig, Endpoint, EndpointSettings, PurgeReport};
use crate::bindings::types::Config;
use crate::bindings::Client;
use crate::cli::print_json;
use crate::config::Connection;
use crate::runtime::{HostState, PurgeFn, Runtime};
use crate::session::{flatten, Failure, Outcome};
use clap::Subcommand;
use wasmtime::component::ResourceAny;
use wasmtime::Store;

#[derive(Subcommand, Debug)]
pub enum Action {
    /// List every CDN endpoint of the account
    Ls,
    /// Show one endpoint
    Show { id: String },
    /// Put a CDN in front of a Space
    Create {
        /// The Space's host name [default: BUCKET.REGION.digitaloceanspaces.com of the configured bucket]
        #[arg(long)]
        origin: Option<String>,
        /// Seconds the edge caches content: 60, 600, 3600, 86400 or 604800 [default: 3600]
        #[arg(long)]
        ttl: Option<u32>,
        /// Custom domain to serve from (needs --certificate)
        #[arg(long, requires = "certificate")]
        domain: Option<String>,
        /// ID of the DigitalOcean-managed TLS certificate for --domain
        #[arg(long, requires = "domain")]
        certificate: Option<String>,
    },
    /// Change an endpoint's TTL or custom domain
    Update {
        id: String,
        #[arg(long)]
        ttl: Option<u32>,
        #[arg(long)]
        domain: Option<String>,
        #[arg(long)]
        certificate: Option<String>,
    },
    /// Delete an endpoint
    Rm { id: String },
    /// Purge cached copies of PATHs (keys, `dir/*` wildcards, or `*` for everything), 50 per request, paced
    /// to DigitalOcean's limit of 50 files per 20 s
    Purge {
        /// The endpoint [default: the one whose origin is the configured bucket]
        #[arg(long)]
        id: Option<String>,
        #[arg(required = true)]
        paths: Vec<String>,
        /// Pacing window in milliseconds (DigitalOcean's limit is 20000)
        #[arg(long, hide = true)]
        purge_window_ms: Option<u32>,
    },
}

/// One component instance with an open `cdn-client`.
pub struct CdnSession {
    store: Store<HostState>,
    bindings: Client,
    client: ResourceAny,
}

impl CdnSession {
    pub async fn open(runtime: &Runtime, cfg: &ApiConfig) -> Outcome<Self> {
        let (mut store, bindings) = runtime.instantiate().await?;
        let client = flatten(bindings.spaces_storage_cdn().cdn_client().call_open(&mut store, cfg).await)?;
        Ok(CdnSession { store, bindings, client })
    }

    pub async fn list(&mut self) -> Outcome<Vec<Endpoint>> {
        let c = self.bindings.spaces_storage_cdn().cdn_client();
        flatten(c.call_list_endpoints(&mut self.store, self.client).await)
    }

    pub async fn get(&mut self, id: &str) -> Outcome<Endpoint> {
        let c = self.bindings.spaces_storage_cdn().cdn_client();
        flatten(c.call_get_endpoint(&mut self.store, self.client, id).await)
    }

    pub async fn create(&mut self, origin: &str, settings: &EndpointSettings) -> Outcome<Endpoint> {
        let c = self.bindings.spaces_storage_cdn().cdn_client();
        flatten(c.call_create_endpoint(&mut self.store, self.client, origin, settings).await)
    }

    pub async fn update(&mut self, id: &str, settings: &EndpointSettings) -> Outcome<Endpoint> {
        let c = self.bindings.spaces_storage_cdn().cdn_client();
        flatten(c.call_update_endpoint(&mut self.store, self.client, id, settings).await)
    }

    pub async fn delete(&mut self, id: &str) -> Outcome<()> {
        let c = self.bindings.spaces_storage_cdn().cdn_client();
        flatten(c.call_delete_endpoint(&mut self.store, self.client, id).await)
    }

    pub async fn find(&mut self, origin: &str) -> Outcome<Option<Endpoint>> {
        let c = self.bindings.spaces_storage_cdn().cdn_client();
        flatten(c.call_find_endpoint(&mut self.store, self.client, origin).await)
    }

    /// The endpoint to purge: `id` when given, else the one whose origin is `origin`.
    pub async fn resolve(&mut self, id: Option<&str>, origin: &str) -> Outcome<String> {
        if let Some(id) = id {
            return Ok(id.to_string());
        }
        match self.find(origin).await? {
            Some(e) => Ok(e.id),
            None => Err(Failure::Storage(crate::bindings::types::Error::NotFound(format!(
                "no CDN endpoint has the origin {origin}; create one with `spaces cdn create` or name it by id"
            )))),
        }
    }

    /// Where purge progress goes from now on.
    pub fn set_purge_progress(&mut self, report: PurgeFn) {
        self.store.data_mut().purge_progress = Some(report);
    }

    pub async fn purge(&mut self, id: &str, paths: &[String]) -> Outcome<PurgeReport> {
        let c = self.bindings.spaces_storage_cdn().cdn_client();
        flatten(c.call_purge(&mut self.store, self.client, id, paths).await)
    }
}

/// The origin host of `bucket` in `region` on DigitalOcean Spaces.
pub fn bucket_origin(bucket: &str, region: &str) -> String {
    format!("{bucket}.{region}.digitaloceanspaces.com")
}

/// The configured bucket's origin, or a usage error saying how to name the endpoint instead.
fn configured_origin(conn: &Connection) -> Outcome<String> {
    let bucket = conn.bucket.as_deref().ok_or_else(|| {
        crate::cli::usage("no bucket: pass --bucket (or SPACES_BUCKET), or name the endpoint with --id / --origin")
    })?;
    Ok(bucket_origin(bucket, &conn.region))
}

fn print(endpoints: Vec<Endpoint>, json: bool) -> Outcome<()> {
    if json {
        return print_json(&endpoints.into_iter().map(EndpointView::from).collect::<Vec<_>>());
    }
    println!("{:<36}  {:<6}  {:<44}  {:<44}  CUSTOM DOMAIN", "ID", "TTL", "ORIGIN", "ENDPOINT");
    for e in &endpoints {
        let domain = e.custom_domain.as_deref().unwrap_or("-");
        println!("{:<36}  {:<6}  {:<44}  {:<44}  {domain}", e.id, e.ttl, e.origin, e.endpoint);
    }
    Ok(())
}

fn print_one(e: Endpoint, json: bool) -> Outcome<()> {
    if json {
        return print_json(&EndpointView::from(e));
    }
    println!("id:             {}", e.id);
    println!("origin:         {}", e.origin);
    println!("endpoint:       {}", e.endpoint);
    println!("ttl:            {} s", e.ttl);
    println!("custom domain:  {}", e.custom_domain.as_deref().unwrap_or("-"));
    println!("certificate id: {}", e.certificate_id.as_deref().unwrap_or("-"));
    println!("created:        {}", e.created_at);
    Ok(())
}

/// An endpoint as the CLI's `--json`, the service and the MCP tools show it, with DigitalOcean's field names.
#[derive(serde::Serialize, utoipa::ToSchema, schemars::JsonSchema)]
pub struct EndpointView {
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
pub async fn use_served_host(runtime: &Runtime, api: &ApiConfig, cfg: &mut Config) {
    if cfg.cdn_host.is_some() || runtime.shared().api_token.is_err() {
        return;
    }
    match served_host(runtime, api, &bucket_origin(&cfg.bucket, &cfg.region)).await {
        Ok(host) => cfg.cdn_host = host,
        Err(e) => eprintln!("spaces: could not look up the bucket's CDN endpoint ({e}); CDN URLs use the default host"),
    }
}

/// Runs one `cdn` action.
pub async fn run(runtime: &Runtime, conn: &Connection, action: &Action, json: bool) -> Outcome<()> {
    let window = match action {
        Action::Purge { purge_window_ms, .. } => *purge_window_ms,
        _ => None,
    };
    let mut s = CdnSession::open(runtime, &conn.api_config(window)).await?;
    match action {
        Action::Ls => print(s.list().await?, json)?,
        Action::Show { id } => print_one(s.get(id).await?, json)?,
        Action::Create { origin, ttl, domain, certificate } => {
            let origin = match origin {
                Some(o) => o.clone(),
                None => configured_origin(conn)?,
            };
            let settings =
                EndpointSettings { ttl: *ttl, certificate_id: certificate.clone(), custom_domain: domain.clone() };
            print_one(s.create(&origin, &settings).await?, json)?
        }
        Action::Update { id, ttl, domain, certificate } => {
            let settings =
                EndpointSettings { ttl: *ttl, certificate_id: certificate.clone(), custom_domain: domain.clone() };
            print_one(s.update(id, &settings).await?, json)?
        }
        Action::Rm { id } => {
            s.delete(id).await?;
            println!("deleted CDN endpoint {id}");
        }
        Action::Purge { id, paths, .. } => {
            let origin = if id.is_some() { String::new() } else { configured_origin(conn)? };
            let id = s.resolve(id.as_deref(), &origin).await?;
            // Batches go out 20 s apart; say how far a long purge has got.
            s.set_purge_progress(std::sync::Arc::new(|done, total| {
                if done < total {
                    eprintln!("spaces: purged {done} of {total} paths; pacing to DigitalOcean's limit");
                }
            }));
            let report = s.purge(&id, paths).await?;
            if json {
                println!("{}", serde_json::json!({"id": id, "files": report.files, "requests": report.requests}));
            } else {
                let plural = |n: u32, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
                println!(
                    "purged {} from CDN endpoint {id} in {}",
                    plural(report.files, "path"),
                    plural(report.requests, "request")
                );
            }
        }
    }
    Ok(())
}
