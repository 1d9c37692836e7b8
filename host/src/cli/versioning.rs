//! `spaces versioning show | on | suspend`, and `ls --versions`: whether the bucket keeps what overwrites and
//! deletes replace, and the versions (and delete markers) it kept. `get --version-id` reads one back and `rm
//! --version-id` deletes one for good.

use crate::error::Outcome;
use crate::output::{print_json, say};
use crate::runtime::bindings::storage::Versioning;
use crate::runtime::session::Session;
use clap::Subcommand;

#[derive(Subcommand, Debug, Clone)]
pub(super) enum Action {
    /// Print the bucket's versioning: unversioned, enabled or suspended
    Show,
    /// Keep every version an overwrite or a delete replaces (`ls --versions` lists them)
    On,
    /// Keep no new versions; those kept so far stay (S3 has no way back to unversioned)
    Suspend,
}

pub(super) async fn run(s: &mut Session, action: &Action) -> Outcome<()> {
    match action {
        Action::Show => {
            let state = match s.get_versioning().await? {
                Versioning::Unversioned => "unversioned",
                Versioning::Enabled => "enabled",
                Versioning::Suspended => "suspended",
            };
            say!("{state}");
        }
        Action::On => {
            s.set_versioning(true).await?;
            say!("versioning enabled");
        }
        Action::Suspend => {
            s.set_versioning(false).await?;
            say!("versioning suspended");
        }
    }
    Ok(())
}

/// `ls --versions [PREFIX]`: every version and delete marker, by key and newest first.
pub(super) async fn list(s: &mut Session, prefix: Option<&str>, json: bool) -> Outcome<()> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = s.list_versions(prefix, after.as_ref()).await?;
        all.extend(page.versions);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    if json {
        let versions: Vec<_> = all
            .iter()
            .map(|v| {
                serde_json::json!({"key": v.key, "version_id": v.version_id, "is_latest": v.is_latest,
                               "delete_marker": v.delete_marker, "size": v.size, "etag": v.etag,
                               "last_modified": v.last_modified})
            })
            .collect();
        return print_json(&serde_json::json!({ "versions": versions }));
    }
    for v in &all {
        let what = if v.delete_marker { "(deleted)".to_string() } else { v.size.to_string() };
        let latest = if v.is_latest { "latest" } else { "" };
        say!("{:>24}  {what:>12}  {:<32}  {latest:<6}  {}", v.last_modified, v.version_id, v.key);
    }
    Ok(())
}
