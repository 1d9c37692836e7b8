//! Connection settings shared by every command: endpoint, region, bucket, addressing, credentials, the component
//! to run. Flags win over environment variables; the runtime (pool, allowlist, credentials, metrics) is built here.

use crate::credentials::{self, Credentials, Secret};
use crate::error::{Failure, Outcome};
use crate::net::allowlist::Allowlist;
use crate::net::breaker;
use crate::net::metrics::Metrics;
use crate::net::outbound::{self, HttpPool, Timeouts};
use crate::runtime::bindings::types::{AddressingStyle, ApiConfig, Config};
use crate::runtime::{ComponentBytes, Runtime, Shared};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub(crate) struct Connection {
    /// S3 endpoint, scheme and host[:port] [default: https://REGION.digitaloceanspaces.com]
    #[arg(long, env = "SPACES_ENDPOINT", global = true)]
    pub endpoint: Option<String>,
    /// Region slug used for signing and the default endpoint (nyc3, ams3, sfo3, fra1, …)
    #[arg(long, env = "SPACES_REGION", default_value = "nyc3", global = true)]
    pub region: String,
    /// Bucket (Space) to work on
    #[arg(long, short = 'b', env = "SPACES_BUCKET", global = true)]
    pub bucket: Option<String>,
    /// Address the bucket in the path (https://HOST/BUCKET/KEY) instead of the host name
    #[arg(long, env = "SPACES_PATH_STYLE", value_parser = clap::builder::FalseyValueParser::new(), global = true)]
    pub path_style: bool,
    /// CDN host name for `url --cdn` [default: BUCKET.REGION.cdn.digitaloceanspaces.com]
    #[arg(long, env = "SPACES_CDN_HOST", global = true)]
    pub cdn_host: Option<String>,
    /// Access key id (else SPACES_ACCESS_KEY_ID, AWS_ACCESS_KEY_ID, or .env)
    #[arg(long, global = true)]
    pub access_key_id: Option<String>,
    /// Secret access key (prefer SPACES_SECRET_ACCESS_KEY: flags show up in process lists)
    #[arg(long, global = true, value_parser = |s: &str| Ok::<_, String>(Secret::new(s)))]
    pub secret_access_key: Option<Secret>,
    /// Run this component file instead of the embedded one
    #[arg(long, value_name = "PATH", global = true)]
    pub component: Option<PathBuf>,
    /// Uploads above this many bytes use multipart upload [default: 8 MiB]
    #[arg(long, value_name = "BYTES", global = true)]
    pub multipart_threshold: Option<u64>,
    /// Multipart part size in bytes [default: 8 MiB, raised to stay within 10,000 parts]
    #[arg(long, value_name = "BYTES", global = true)]
    pub part_size: Option<u64>,
    /// Seconds to wait for an answer once a request (its body included) has been sent
    #[arg(long, value_name = "SECONDS", default_value_t = 120, global = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// DigitalOcean API base URL (`cdn` and `keys` commands, the service's and MCP server's CDN and key tools)
    #[arg(
        long,
        env = "DIGITALOCEAN_API_URL",
        value_name = "URL",
        global = true,
        default_value = "https://api.digitalocean.com"
    )]
    pub api_url: String,
    /// PEM file of extra CA certificates to trust for HTTPS (a private CA), beside the bundled and the platform's
    /// roots (SSL_CERT_FILE and SSL_CERT_DIR also count)
    #[arg(long, env = "AWS_CA_BUNDLE", value_name = "FILE", global = true)]
    pub ca_bundle: Option<PathBuf>,
    /// Requests in flight: parts of one large upload, or files of `put -r` (1-64) [default: 4]. DigitalOcean
    /// Spaces allows 10 concurrent PUT/COPY requests per object: keep it at most 10 for one large upload there
    #[arg(long, short = 'j', value_name = "N", global = true, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: Option<u32>,
}

impl Connection {
    /// The component's configuration; `Err` when no bucket was given.
    pub(crate) fn storage_config(&self) -> Result<Config, String> {
        let bucket = self.bucket.clone().ok_or("no bucket: pass --bucket NAME or set SPACES_BUCKET")?;
        Ok(self.storage_config_for(bucket))
    }

    /// The component's configuration for `bucket`.
    pub(crate) fn storage_config_for(&self, bucket: String) -> Config {
        Config {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            bucket,
            addressing: if self.path_style { AddressingStyle::Path } else { AddressingStyle::VirtualHost },
            cdn_host: self.cdn_host.clone(),
            retry: None,
            multipart_threshold: self.multipart_threshold,
            part_size: self.part_size,
            concurrency: self.concurrency,
        }
    }

    /// The configuration for calls that address no bucket (listing the buckets, proving a new key): the
    /// configured bucket's, else one with a placeholder name that is never addressed, since a client needs a valid
    /// bucket name to open.
    pub(crate) fn bucketless_config(&self) -> Config {
        self.storage_config_for(self.bucket.clone().unwrap_or_else(|| "spaces".into()))
    }

    /// The component's configuration for DigitalOcean's API; `purge_window_ms` only matters to purges.
    pub(crate) fn api_config(&self, purge_window_ms: Option<u32>) -> ApiConfig {
        ApiConfig { base_url: Some(self.api_url.clone()), retry: None, purge_window_ms }
    }

    /// The outbound allowlist: the configured endpoint and its subdomains, or all of DigitalOcean Spaces.
    fn allowlist(&self) -> Result<Allowlist, String> {
        let mut allow = Allowlist::default();
        match &self.endpoint {
            Some(e) => allow.allow_endpoint(e)?,
            None => allow.allow_domain("digitaloceanspaces.com", 443),
        }
        allow.allow_endpoint(&self.api_url).map_err(|e| format!("--api-url: {e}"))?;
        Ok(allow)
    }

    fn timeouts(&self) -> Timeouts {
        Timeouts { first_byte: Duration::from_secs(self.timeout), ..Timeouts::default() }
    }

    /// The pooled HTTP client every outbound request goes through: allowlist, timeouts, circuit breakers. An
    /// endpoint that cannot be reached as given (`ftp://`, port 99999) is the user's to correct.
    pub(crate) fn pool(&self, metrics: &Arc<Metrics>) -> Outcome<Arc<HttpPool>> {
        let allowlist = self.allowlist().map_err(Failure::usage)?;
        let tls = outbound::tls_config(self.ca_bundle.as_deref()).map_err(Failure::usage)?;
        Ok(HttpPool::new(allowlist, self.timeouts(), breaker::Settings::default(), tls, Arc::clone(metrics)))
    }

    /// The credentials from flags, the environment or `.env`, first found wins.
    pub(crate) fn credentials(&self) -> Result<Credentials, String> {
        let cwd = std::env::current_dir().unwrap_or_default();
        let creds = credentials::resolve(
            self.access_key_id.clone(),
            self.secret_access_key.clone(),
            &|k| std::env::var(k).ok(),
            &cwd,
        );
        if let Ok(c) = &creds {
            tracing::debug!(access_key_id = %c.access_key_id, source = c.source, "credentials found");
        }
        creds
    }

    /// The runtime for up to `max_instances` stores at once; `credentials` replace the ones looked up in flags,
    /// the environment and `.env` (the embedded store's made-up keys).
    pub(crate) fn runtime(&self, max_instances: u32, credentials: Option<Credentials>) -> Outcome<Runtime> {
        let metrics = Arc::new(Metrics::default());
        let pool = self.pool(&metrics)?;
        let creds = match credentials {
            Some(c) => Ok(c),
            None => self.credentials(),
        };
        let cwd = std::env::current_dir().unwrap_or_default();
        let api_token = credentials::api_token(&|k| std::env::var(k).ok(), &cwd);
        let shared = Shared { pool, credentials: Arc::new(creds), api_token: Arc::new(api_token), metrics };
        let bytes = match &self.component {
            Some(path) => ComponentBytes::read(path)
                .map_err(|e| Failure::usage(format!("cannot read the component {}: {e}", path.display())))?,
            None => ComponentBytes::library(),
        };
        Runtime::new(&bytes, shared, max_instances).map_err(|e| Failure::host(format!("loading the component: {e:#}")))
    }
}
