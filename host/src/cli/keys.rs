//! `spaces keys`: Spaces access keys listed, shown, created, renamed, deleted and rotated, as tables for people
//! and JSON with `--json`. A new secret is printed once on stdout and kept nowhere.

use crate::config::Connection;
use crate::digitalocean::keys::{rotate, KeyView, KeysSession, NewKeyView, Perm};
use crate::error::Outcome;
use crate::output::{print_json, say};
use crate::runtime::bindings::exports::spaces::storage::keys::{AccessKey, Grant, KeyFilter, NewKey, Permission};
use crate::runtime::Runtime;
use clap::{Subcommand, ValueEnum};

#[derive(Subcommand, Debug)]
pub(super) enum Action {
    /// List access keys
    Ls {
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        bucket: Option<String>,
        #[arg(long, value_enum)]
        permission: Option<Perm>,
    },
    /// Show one key (never its secret)
    Show { access_key: String },
    /// Create a key; its secret is printed once
    Create {
        #[arg(long)]
        name: String,
        /// BUCKET:read, BUCKET:readwrite, or fullaccess (every bucket; not mixed with others)
        #[arg(long = "grant", value_name = "BUCKET:PERMISSION", value_parser = parse_grant)]
        grants: Vec<Grant>,
    },
    /// Rename a key
    Rename {
        access_key: String,
        #[arg(long)]
        name: String,
    },
    /// Delete a key
    Rm { access_key: String },
    /// Replace a key: create one with the same name and grants, prove it works against the storage endpoint,
    /// then delete the old one. The new secret is printed once.
    Rotate { access_key: String },
}

fn parse_grant(s: &str) -> Result<Grant, String> {
    if s == "fullaccess" || s == ":fullaccess" {
        return Ok(Grant { bucket: String::new(), permission: Permission::Fullaccess });
    }
    let (bucket, perm) = s.rsplit_once(':').ok_or_else(|| format!("grant {s:?} must be BUCKET:PERMISSION"))?;
    let perm =
        Perm::from_str(perm, false).map_err(|_| format!("permission {perm:?} is not read, readwrite or fullaccess"))?;
    Ok(Grant { bucket: bucket.to_string(), permission: perm.into() })
}

fn grants_text(k: &AccessKey) -> String {
    let parts: Vec<String> = k
        .grants
        .iter()
        .map(|g| match g.permission {
            Permission::Fullaccess => "fullaccess".to_string(),
            p => format!("{}:{}", g.bucket, Perm::from(p).name()),
        })
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(",")
    }
}

fn print_key(k: AccessKey, json: bool) -> Outcome<()> {
    if json {
        print_json(&KeyView::from(k))?;
    } else {
        say!(
            "name:       {}\naccess key: {}\ngrants:     {}\ncreated:    {}",
            k.name,
            k.access_key,
            grants_text(&k),
            k.created_at
        );
    }
    Ok(())
}

/// The new key and its secret, printed once.
fn print_new(n: NewKey, json: bool) -> Outcome<()> {
    if json {
        return print_json(&NewKeyView::from(n));
    }
    let secret = n.secret_key;
    print_key(n.key, false)?;
    say!("secret key: {secret}   (shown this once: store it now)");
    Ok(())
}

/// Runs one `keys` action.
pub(super) async fn run(runtime: &Runtime, conn: &Connection, action: &Action, json: bool) -> Outcome<()> {
    let mut s = KeysSession::open(runtime, &conn.api_config(None)).await?;
    match action {
        Action::Ls { name, bucket, permission } => {
            let filter =
                KeyFilter { name: name.clone(), bucket: bucket.clone(), permission: permission.map(Permission::from) };
            let all = s.list(&filter).await?;
            if json {
                print_json(&all.into_iter().map(KeyView::from).collect::<Vec<_>>())?;
            } else {
                say!("{:<24}  {:<28}  {:<22}  GRANTS", "ACCESS KEY", "NAME", "CREATED");
                for k in &all {
                    say!("{:<24}  {:<28}  {:<22}  {}", k.access_key, k.name, k.created_at, grants_text(k));
                }
            }
        }
        Action::Show { access_key } => print_key(s.get(access_key).await?, json)?,
        Action::Create { name, grants } => print_new(s.create(name, grants).await?, json)?,
        Action::Rename { access_key, name } => print_key(s.rename(access_key, name).await?, json)?,
        Action::Rm { access_key } => {
            s.delete(access_key).await?;
            say!("deleted access key {access_key}");
        }
        Action::Rotate { access_key } => {
            let storage = conn.bucketless_config();
            let rotation = rotate(runtime, &storage, &mut s, access_key).await?;
            let new = rotation.new.key.access_key.clone();
            print_new(rotation.new, json)?;
            rotation.old_deleted?;
            eprintln!("spaces: rotated: {new} replaces {access_key}, which is deleted");
        }
    }
    Ok(())
}
