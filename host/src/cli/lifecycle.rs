//! `spaces lifecycle show | set | rm`: a bucket's lifecycle rules, of the kinds Spaces supports — deleting objects
//! some days after they were stored, and aborting multipart uploads left incomplete, which cost storage until then.
//! `show --json` prints the shape `aws s3api get-bucket-lifecycle-configuration` uses and `set --file` reads it
//! back; `set` with flags writes one rule. The component checks the rules before anything is sent.

use crate::error::Outcome;
use crate::output::{print_json, say};
use crate::runtime::bindings::storage::LifecycleRule;
use crate::runtime::session::Session;
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Subcommand, Debug, Clone)]
pub(super) enum Action {
    /// Print the bucket's lifecycle rules (none is not an error)
    Show {
        /// Print JSON ({"Rules": [...]}, as `aws s3api get-bucket-lifecycle-configuration` does) instead of text
        #[arg(long)]
        json: bool,
    },
    /// Replace the bucket's lifecycle rules: one rule from the flags, or every rule in --file
    Set {
        /// Delete objects this many days after they were stored
        #[arg(long, required_unless_present_any = ["abort_incomplete_days", "file"])]
        expire_days: Option<u32>,
        /// Abort multipart uploads still incomplete this many days after they started
        #[arg(long)]
        abort_incomplete_days: Option<u32>,
        /// Only keys starting with this [default: every key]
        #[arg(long, default_value = "")]
        prefix: String,
        /// The rule's name
        #[arg(long, default_value = "spaces")]
        id: String,
        /// A JSON file of rules, {"Rules": [{"ID": ..., "Filter": {"Prefix": ...}, "Status": "Enabled", ...}]}
        #[arg(long, conflicts_with_all = ["expire_days", "abort_incomplete_days"])]
        file: Option<PathBuf>,
    },
    /// Remove the bucket's lifecycle configuration
    Rm,
}

/// The rules as AWS's tools write them in JSON.
#[derive(Serialize, Deserialize)]
struct Rules {
    #[serde(rename = "Rules")]
    rules: Vec<Rule>,
}

/// Unknown fields are refused rather than dropped: a rule kind Spaces does not support (transitions, tags,
/// noncurrent versions) must not silently vanish from a file on its way to the bucket.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Rule {
    #[serde(rename = "ID")]
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    filter: Option<Filter>,
    /// The older schema's place for the prefix; read, never written.
    #[serde(default, skip_serializing)]
    prefix: Option<String>,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expiration: Option<Days>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    abort_incomplete_multipart_upload: Option<AfterInitiation>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Filter {
    #[serde(default)]
    prefix: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Days {
    days: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AfterInitiation {
    days_after_initiation: u32,
}

impl From<Rule> for LifecycleRule {
    fn from(r: Rule) -> Self {
        LifecycleRule {
            id: r.id,
            prefix: r.filter.map(|f| f.prefix).or(r.prefix).unwrap_or_default(),
            enabled: r.status == "Enabled",
            expire_days: r.expiration.map(|e| e.days),
            abort_incomplete_days: r.abort_incomplete_multipart_upload.map(|a| a.days_after_initiation),
        }
    }
}

impl From<LifecycleRule> for Rule {
    fn from(r: LifecycleRule) -> Self {
        Rule {
            id: r.id,
            filter: Some(Filter { prefix: r.prefix }),
            prefix: None,
            status: if r.enabled { "Enabled" } else { "Disabled" }.into(),
            expiration: r.expire_days.map(|days| Days { days }),
            abort_incomplete_multipart_upload: r
                .abort_incomplete_days
                .map(|days_after_initiation| AfterInitiation { days_after_initiation }),
        }
    }
}

fn describe(r: &LifecycleRule) -> String {
    let scope = if r.prefix.is_empty() { "every key".to_string() } else { format!("keys under {:?}", r.prefix) };
    let mut actions = Vec::new();
    let days = |d: u32| if d == 1 { "1 day".to_string() } else { format!("{d} days") };
    if let Some(d) = r.expire_days {
        actions.push(format!("delete objects after {}", days(d)));
    }
    if let Some(d) = r.abort_incomplete_days {
        actions.push(format!("abort incomplete uploads after {}", days(d)));
    }
    let state = if r.enabled { "" } else { " (disabled)" };
    format!("{}: {scope}: {}{state}", r.id, actions.join(", "))
}

pub(super) async fn run(s: &mut Session, action: &Action) -> Outcome<()> {
    match action {
        Action::Show { json } => {
            let rules = s.get_lifecycle().await?;
            if *json {
                return print_json(&Rules { rules: rules.into_iter().map(Rule::from).collect() });
            }
            if rules.is_empty() {
                say!("no lifecycle rules");
            }
            rules.iter().for_each(|r| say!("{}", describe(r)));
            Ok(())
        }
        Action::Set { expire_days, abort_incomplete_days, prefix, id, file } => {
            let rules = match file {
                Some(path) => {
                    let rules: Rules = super::read_json_file(path, r#"a lifecycle rules file ({"Rules": [...]})"#)?;
                    rules.rules.into_iter().map(LifecycleRule::from).collect()
                }
                None => vec![LifecycleRule {
                    id: id.clone(),
                    prefix: prefix.clone(),
                    enabled: true,
                    expire_days: *expire_days,
                    abort_incomplete_days: *abort_incomplete_days,
                }],
            };
            s.set_lifecycle(&rules).await?;
            rules.iter().for_each(|r| say!("set {}", describe(r)));
            Ok(())
        }
        Action::Rm => {
            s.delete_lifecycle().await?;
            say!("removed the lifecycle configuration");
            Ok(())
        }
    }
}
