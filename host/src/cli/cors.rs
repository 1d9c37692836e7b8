//! `spaces cors show | set | rm`: a bucket's CORS rules, which any browser upload (presigned PUT or POST) from a web
//! page needs. `show --json` prints them in the shape `aws s3api get-bucket-cors` uses, and `set --file` reads that
//! shape back, so rules round-trip through a file; `set` with flags writes one rule. The component checks the
//! rules before anything is sent.

use crate::error::Outcome;
use crate::output::{print_json, say};
use crate::runtime::bindings::storage::CorsRule;
use crate::runtime::session::Session;
use clap::Subcommand;
use http_api::bucket::{self, CorsRules};
use std::path::PathBuf;

#[derive(Subcommand, Debug, Clone)]
pub(super) enum Action {
    /// Print the bucket's CORS rules (none is not an error)
    Show {
        /// Print JSON ({"CORSRules": [...]}, as `aws s3api get-bucket-cors` does) instead of text
        #[arg(long)]
        json: bool,
    },
    /// Replace the bucket's CORS rules: one rule from the flags, or every rule in --file
    Set {
        /// Origin allowed (repeatable): https://app.example, https://*.example or *
        #[arg(long = "allow-origin", value_name = "ORIGIN", required_unless_present = "file")]
        origins: Vec<String>,
        /// Method allowed (repeatable): GET, PUT, POST, DELETE, HEAD
        #[arg(long = "allow-method", value_name = "METHOD", required_unless_present = "file")]
        methods: Vec<String>,
        /// Request header a preflight may ask for (repeatable; * for any)
        #[arg(long = "allow-header", value_name = "HEADER")]
        headers: Vec<String>,
        /// Response header the page's script may read (repeatable), e.g. ETag
        #[arg(long = "expose-header", value_name = "HEADER")]
        expose: Vec<String>,
        /// Seconds a browser may cache a preflight's answer
        #[arg(long)]
        max_age: Option<u32>,
        /// A JSON file of rules, {"CORSRules": [{"AllowedOrigins": [...], "AllowedMethods": [...], ...}]}
        #[arg(long, conflicts_with_all = ["origins", "methods", "headers", "expose", "max_age"])]
        file: Option<PathBuf>,
    },
    /// Remove the bucket's CORS configuration
    Rm,
}

pub(super) async fn run(s: &mut Session, action: &Action) -> Outcome<()> {
    match action {
        Action::Show { json } => {
            let rules = s.get_cors().await?;
            if *json {
                return print_json(&CorsRules { cors_rules: rules.into_iter().map(bucket::CorsRule::from).collect() });
            }
            if rules.is_empty() {
                say!("no CORS rules");
            }
            for (i, r) in rules.iter().enumerate() {
                say!("rule {}: {} from {}", i + 1, r.allowed_methods.join(" "), r.allowed_origins.join(" "));
                if !r.allowed_headers.is_empty() {
                    say!("  request headers: {}", r.allowed_headers.join(" "));
                }
                if !r.expose_headers.is_empty() {
                    say!("  exposed headers: {}", r.expose_headers.join(" "));
                }
                if let Some(age) = r.max_age_seconds {
                    say!("  preflight cached for {age} s");
                }
            }
            Ok(())
        }
        Action::Set { origins, methods, headers, expose, max_age, file } => {
            let rules = match file {
                Some(path) => {
                    let rules: CorsRules = super::read_json_file(path, r#"a CORS rules file ({"CORSRules": [...]})"#)?;
                    rules.cors_rules.into_iter().map(CorsRule::from).collect()
                }
                None => vec![CorsRule {
                    allowed_origins: origins.clone(),
                    allowed_methods: methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
                    allowed_headers: headers.clone(),
                    expose_headers: expose.clone(),
                    max_age_seconds: *max_age,
                }],
            };
            s.set_cors(&rules).await?;
            say!("set {} CORS rule{}", rules.len(), if rules.len() == 1 { "" } else { "s" });
            Ok(())
        }
        Action::Rm => {
            s.delete_cors().await?;
            say!("removed the CORS configuration");
            Ok(())
        }
    }
}
