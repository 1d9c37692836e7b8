//! `spaces cors show | set | rm`: a bucket's CORS rules, which any browser upload (presigned PUT or POST) from a web
//! page needs. `show --json` prints them in the shape `aws s3api get-bucket-cors` uses, and `set --file` reads that
//! shape back, so rules round-trip through a file; `set` with flags writes one rule. The component checks the
//! rules before anything is sent.

use crate::error::Outcome;
use crate::output::print_json;
use crate::runtime::bindings::storage::CorsRule;
use crate::runtime::session::Session;
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
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

/// The rules as AWS's tools write them in JSON.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Rules {
    #[serde(rename = "CORSRules")]
    cors_rules: Vec<Rule>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Rule {
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    allowed_methods: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    allowed_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    expose_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_age_seconds: Option<u32>,
    /// AWS's rules may carry an id; S3 keeps it, Spaces ignores it, and so do we.
    #[serde(default, rename = "ID", skip_serializing)]
    _id: Option<String>,
}

impl From<Rule> for CorsRule {
    fn from(r: Rule) -> Self {
        CorsRule {
            allowed_origins: r.allowed_origins,
            allowed_methods: r.allowed_methods,
            allowed_headers: r.allowed_headers,
            expose_headers: r.expose_headers,
            max_age_seconds: r.max_age_seconds,
        }
    }
}

impl From<CorsRule> for Rule {
    fn from(r: CorsRule) -> Self {
        Rule {
            allowed_origins: r.allowed_origins,
            allowed_methods: r.allowed_methods,
            allowed_headers: r.allowed_headers,
            expose_headers: r.expose_headers,
            max_age_seconds: r.max_age_seconds,
            _id: None,
        }
    }
}

pub(super) async fn run(s: &mut Session, action: &Action) -> Outcome<()> {
    match action {
        Action::Show { json } => {
            let rules = s.get_cors().await?;
            if *json {
                return print_json(&Rules { cors_rules: rules.into_iter().map(Rule::from).collect() });
            }
            if rules.is_empty() {
                println!("no CORS rules");
            }
            for (i, r) in rules.iter().enumerate() {
                println!("rule {}: {} from {}", i + 1, r.allowed_methods.join(" "), r.allowed_origins.join(" "));
                if !r.allowed_headers.is_empty() {
                    println!("  request headers: {}", r.allowed_headers.join(" "));
                }
                if !r.expose_headers.is_empty() {
                    println!("  exposed headers: {}", r.expose_headers.join(" "));
                }
                if let Some(age) = r.max_age_seconds {
                    println!("  preflight cached for {age} s");
                }
            }
            Ok(())
        }
        Action::Set { origins, methods, headers, expose, max_age, file } => {
            let rules = match file {
                Some(path) => {
                    let rules: Rules = super::read_json_file(path, r#"a CORS rules file ({"CORSRules": [...]})"#)?;
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
            println!("set {} CORS rule{}", rules.len(), if rules.len() == 1 { "" } else { "s" });
            Ok(())
        }
        Action::Rm => {
            s.delete_cors().await?;
            println!("removed the CORS configuration");
            Ok(())
        }
    }
}
