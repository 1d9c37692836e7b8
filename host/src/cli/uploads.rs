//! `spaces uploads`: the bucket's incomplete multipart uploads, which cost storage until completed or aborted —
//! listed, and aborted one key at a time or all at once (optionally only those older than some age). An abort
//! also clears the journal entry that would have resumed the upload.

use super::transfer::Resuming;
use crate::error::{Failure, Outcome};
use crate::output::{print_json, say};
use crate::runtime::session::Session;
use clap::Subcommand;
use http_api::bodies::{Pending, PendingUploads};
use std::time::{Duration, SystemTime};

#[derive(Subcommand, Debug, Clone)]
pub(super) enum Action {
    /// List incomplete multipart uploads (every one, or those whose key starts with PREFIX)
    Ls {
        prefix: Option<String>,
        /// Print one JSON document instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Abort the incomplete uploads of KEY (or just --upload-id), or with --all every one (under --prefix)
    Abort {
        /// The key whose incomplete uploads to abort
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        key: Option<String>,
        /// Only this upload of KEY
        #[arg(long, requires = "key")]
        upload_id: Option<String>,
        /// Every incomplete upload of the bucket (or under --prefix)
        #[arg(long)]
        all: bool,
        /// With --all, only keys starting with this
        #[arg(long, requires = "all")]
        prefix: Option<String>,
        /// Only uploads started longer ago than this (e.g. 90s, 30m, 24h, 7d)
        #[arg(long, value_parser = parse_age)]
        older_than: Option<Duration>,
    },
}

/// `30m`, `24h`, `7d`, `90s` (or plain seconds).
fn parse_age(s: &str) -> Result<Duration, String> {
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits.parse().map_err(|_| format!("{s:?} is not an age like 30m, 24h or 7d"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: the unit must be s, m, h or d")),
    };
    Ok(Duration::from_secs(n.saturating_mul(scale)))
}

pub(super) async fn run(s: &mut Session, how: &Resuming, action: &Action) -> Outcome<()> {
    match action {
        Action::Ls { prefix, json } => {
            let uploads = s.list_uploads(prefix.as_deref()).await?;
            if *json {
                return print_json(&PendingUploads { uploads: uploads.into_iter().map(Pending::from).collect() });
            }
            for u in &uploads {
                say!("{:>24}  {}  {}", u.initiated, u.upload_id, u.key);
            }
            Ok(())
        }
        Action::Abort { key, upload_id, all, prefix, older_than } => {
            let scope = if *all { prefix.as_deref() } else { key.as_deref() };
            let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            let chosen: Vec<_> = s
                .list_uploads(scope)
                .await?
                .into_iter()
                .filter(|u| *all || Some(&u.key) == key.as_ref())
                .filter(|u| upload_id.as_ref().is_none_or(|id| *id == u.upload_id))
                .filter(|u| {
                    older_than.is_none_or(|age| super::sync::started_before(&u.initiated, now - age.as_secs() as i64))
                })
                .collect();
            if chosen.is_empty() && (upload_id.is_some() || !*all) {
                let what = match (upload_id, key) {
                    (Some(id), _) => format!("upload {id}"),
                    (None, k) => format!("{:?}", k.as_deref().unwrap_or_default()),
                };
                return Err(Failure::not_found(format!("no incomplete upload of {what}")));
            }
            let mut failed = 0;
            for u in &chosen {
                match s.abort_upload(&u.key, &u.upload_id).await {
                    Ok(()) => {
                        how.forget(&u.key, &u.upload_id);
                        say!("aborted {} ({})", u.key, u.upload_id);
                    }
                    Err(e) => {
                        failed += 1;
                        eprintln!("spaces: could not abort {} ({}): {e}", u.key, u.upload_id);
                    }
                }
            }
            say!("aborted {} of {} incomplete uploads", chosen.len() - failed, chosen.len());
            match failed {
                0 => Ok(()),
                n => Err(Failure::host(format!("{n} uploads could not be aborted"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(parse_age("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_age("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_age("15"), Ok(Duration::from_secs(15)));
        assert!(parse_age("h").is_err() && parse_age("3w").is_err() && parse_age("").is_err());
    }
}
