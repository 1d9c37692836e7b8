//! `spaces cdn`: CDN endpoints and paced cache purges, shown as a table or key/value lines for people and as
//! JSON with `--json`.

use crate::config::Connection;
use crate::digitalocean::cdn::{bucket_origin, CdnSession, EndpointView};
use crate::error::{Failure, Outcome};
use crate::output::{print_json, say};
use crate::runtime::bindings::exports::spaces::storage::cdn::{Endpoint, EndpointSettings, PurgeReport};
use crate::runtime::bindings::types::Config;
use crate::runtime::Runtime;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub(super) enum Action {
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

/// The configured bucket's origin, or a usage error saying how to name the endpoint instead.
fn configured_origin(conn: &Connection) -> Outcome<String> {
    let bucket = conn.bucket.as_deref().ok_or_else(|| {
        Failure::usage("no bucket: pass --bucket (or SPACES_BUCKET), or name the endpoint with --id / --origin")
    })?;
    Ok(bucket_origin(bucket, &conn.region))
}

/// Purges `paths`, saying how far a long purge has got: batches go out 20 s apart.
async fn paced_purge(s: &mut CdnSession, id: &str, paths: &[String]) -> Outcome<PurgeReport> {
    s.set_purge_progress(std::sync::Arc::new(|done, total| {
        if done < total {
            eprintln!("spaces: purged {done} of {total} paths; pacing to DigitalOcean's limit");
        }
    }));
    s.purge(id, paths).await
}

/// "purged 3 paths from CDN endpoint ID in 1 request".
fn purged(id: &str, report: &PurgeReport) -> String {
    let plural = |n: u32, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!("purged {} from CDN endpoint {id} in {}", plural(report.files, "path"), plural(report.requests, "request"))
}

/// `put --purge` and `sync --purge`: the keys just changed in `cfg`'s bucket purged from the CDN endpoint whose
/// origin is that bucket, so the CDN serves the new bytes. Says what it purged; `done` (what already happened)
/// leads the error when the purge fails, so nobody thinks the upload failed.
pub(super) async fn purge_changed(
    runtime: &Runtime,
    conn: &Connection,
    cfg: &Config,
    keys: &[String],
    done: &str,
) -> Outcome<()> {
    let them = if keys.len() == 1 { "it" } else { "them" };
    let failed = |e: Failure| Failure::host(format!("{done}, but purging {them} from the CDN failed: {e}"));
    let mut s = CdnSession::open(runtime, &conn.api_config(None)).await.map_err(failed)?;
    let id = s.resolve(None, &bucket_origin(&cfg.bucket, &cfg.region)).await.map_err(failed)?;
    let report = paced_purge(&mut s, &id, keys).await.map_err(failed)?;
    match keys {
        [key] => say!("purged {key} from CDN endpoint {id}"),
        _ => say!("{}", purged(&id, &report)),
    }
    Ok(())
}

fn print(endpoints: Vec<Endpoint>, json: bool) -> Outcome<()> {
    if json {
        return print_json(&endpoints.into_iter().map(EndpointView::from).collect::<Vec<_>>());
    }
    say!("{:<36}  {:<6}  {:<44}  {:<44}  CUSTOM DOMAIN", "ID", "TTL", "ORIGIN", "ENDPOINT");
    for e in &endpoints {
        let domain = e.custom_domain.as_deref().unwrap_or("-");
        say!("{:<36}  {:<6}  {:<44}  {:<44}  {domain}", e.id, e.ttl, e.origin, e.endpoint);
    }
    Ok(())
}

fn print_one(e: Endpoint, json: bool) -> Outcome<()> {
    if json {
        return print_json(&EndpointView::from(e));
    }
    say!("id:             {}", e.id);
    say!("origin:         {}", e.origin);
    say!("endpoint:       {}", e.endpoint);
    say!("ttl:            {} s", e.ttl);
    say!("custom domain:  {}", e.custom_domain.as_deref().unwrap_or("-"));
    say!("certificate id: {}", e.certificate_id.as_deref().unwrap_or("-"));
    say!("created:        {}", e.created_at);
    Ok(())
}

/// Runs one `cdn` action.
pub(super) async fn run(runtime: &Runtime, conn: &Connection, action: &Action, json: bool) -> Outcome<()> {
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
            say!("deleted CDN endpoint {id}");
        }
        Action::Purge { id, paths, .. } => {
            let origin = if id.is_some() { String::new() } else { configured_origin(conn)? };
            let id = s.resolve(id.as_deref(), &origin).await?;
            let report = paced_purge(&mut s, &id, paths).await?;
            if json {
                say!("{}", serde_json::json!({"id": id, "files": report.files, "requests": report.requests}));
            } else {
                say!("{}", purged(&id, &report));
            }
        }
    }
    Ok(())
}
