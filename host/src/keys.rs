//! `spaces keys`: Spaces access keys through the component's `keys` interface (API v2 with DIGITALOCEAN_TOKEN),
//! and `rotate`: a new key with the same grants, proven by a signed request to the storage endpoint before the
//! old key is deleted. A new secret is printed once on stdout and kept nowhere.

use crate::bindings::exports::spaces::storage::keys::{AccessKey, ApiConfig, Grant, KeyFilter, NewKey, Permission};
use crate::bindings::spaces::storage::credentials::Credentials;
use crate::bindings::types::Config;
use crate::bindings::Client;
use crate::cli::print_json;
use crate::config::Connection;
use crate::runtime::{HostState, Runtime};
use crate::session::{flatten, Failure, Outcome, Session};
use clap::{Subcommand, ValueEnum};
use std::time::Duration;
use wasmtime::component::ResourceAny;
use wasmtime::Store;

/// A permission as the command line and the service's JSON name it.
#[derive(
    ValueEnum, Clone, Copy, Debug, serde::Deserialize, serde::Serialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Perm {
    Read,
    Readwrite,
    Fullaccess,
}

impl From<Perm> for Permission {
    fn from(p: Perm) -> Self {
        match p {
            Perm::Read => Permission::Read,
            Perm::Readwrite => Permission::Readwrite,
            Perm::Fullaccess => Permission::Fullaccess,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Action {
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
    let permission = match perm {
        "read" => Permission::Read,
        "readwrite" => Permission::Readwrite,
        "fullaccess" => Permission::Fullaccess,
        other => return Err(format!("permission {other:?} is not read, readwrite or fullaccess")),
    };
    Ok(Grant { bucket: bucket.to_string(), permission })
}

fn permission_name(p: Permission) -> &'static str {
    match p {
        Permission::Read => "read",
        Permission::Readwrite => "readwrite",
        Permission::Fullaccess => "fullaccess",
    }
}

/// One component instance with an open `keys-client`.
pub struct KeysSession {
    store: Store<HostState>,
    bindings: Client,
    client: ResourceAny,
}

impl KeysSession {
    pub async fn open(runtime: &Runtime, cfg: &ApiConfig) -> Outcome<Self> {
        let (mut store, bindings) = runtime.instantiate().await?;
        let client = flatten(bindings.spaces_storage_keys().keys_client().call_open(&mut store, cfg).await)?;
        Ok(KeysSession { store, bindings, client })
    }

    pub async fn list(&mut self, filter: &KeyFilter) -> Outcome<Vec<AccessKey>> {
        let c = self.bindings.spaces_storage_keys().keys_client();
        flatten(c.call_list_keys(&mut self.store, self.client, filter).await)
    }

    pub async fn get(&mut self, access_key: &str) -> Outcome<AccessKey> {
        let c = self.bindings.spaces_storage_keys().keys_client();
        flatten(c.call_get_key(&mut self.store, self.client, access_key).await)
    }

    pub async fn create(&mut self, name: &str, grants: &[Grant]) -> Outcome<NewKey> {
        let c = self.bindings.spaces_storage_keys().keys_client();
        flatten(c.call_create_key(&mut self.store, self.client, name, grants).await)
    }

    pub async fn rename(&mut self, access_key: &str, name: &str) -> Outcome<AccessKey> {
        let c = self.bindings.spaces_storage_keys().keys_client();
        flatten(c.call_rename_key(&mut self.store, self.client, access_key, name).await)
    }

    pub async fn delete(&mut self, access_key: &str) -> Outcome<()> {
        let c = self.bindings.spaces_storage_keys().keys_client();
        flatten(c.call_delete_key(&mut self.store, self.client, access_key).await)
    }
}

/// One grant as the CLI's `--json`, the service and the MCP tools write and read it; `bucket` is empty for full
/// access.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
pub struct GrantView {
    pub bucket: String,
    pub permission: Perm,
}

/// A key as the CLI's `--json`, the service and the MCP tools show it (never with a secret), with DigitalOcean's
/// field names.
#[derive(serde::Serialize, utoipa::ToSchema, schemars::JsonSchema)]
pub struct KeyView {
    name: String,
    access_key: String,
    grants: Vec<GrantView>,
    created_at: String,
}

/// A key just created or rotated in: the only view that carries its secret.
#[derive(serde::Serialize, utoipa::ToSchema, schemars::JsonSchema)]
pub struct NewKeyView {
    #[serde(flatten)]
    key: KeyView,
    secret_key: String,
}

impl From<Permission> for Perm {
    fn from(p: Permission) -> Self {
        match p {
            Permission::Read => Perm::Read,
            Permission::Readwrite => Perm::Readwrite,
            Permission::Fullaccess => Perm::Fullaccess,
        }
    }
}

impl From<GrantView> for Grant {
    fn from(g: GrantView) -> Self {
        Grant { bucket: g.bucket, permission: g.permission.into() }
    }
}

impl From<AccessKey> for KeyView {
    fn from(k: AccessKey) -> Self {
        KeyView {
            name: k.name,
            access_key: k.access_key,
            grants: k
                .grants
                .into_iter()
                .map(|g| GrantView { bucket: g.bucket, permission: g.permission.into() })
                .collect(),
            created_at: k.created_at,
        }
    }
}

impl From<NewKey> for NewKeyView {
    fn from(n: NewKey) -> Self {
        NewKeyView { key: n.key.into(), secret_key: n.secret_key }
    }
}

fn grants_text(k: &AccessKey) -> String {
    let parts: Vec<String> = k
        .grants
        .iter()
        .map(|g| match g.permission {
            Permission::Fullaccess => "fullaccess".to_string(),
            p => format!("{}:{}", g.bucket, permission_name(p)),
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
        println!(
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
    println!("secret key: {secret}   (shown this once: store it now)");
    Ok(())
}

/// Runs one `keys` action.
pub async fn run(runtime: &Runtime, conn: &Connection, action: &Action, json: bool) -> Outcome<()> {
    let mut s = KeysSession::open(runtime, &conn.api_config(None)).await?;
    match action {
        Action::Ls { name, bucket, permission } => {
            let filter =
                KeyFilter { name: name.clone(), bucket: bucket.clone(), permission: permission.map(Permission::from) };
            let all = s.list(&filter).await?;
            if json {
                print_json(&all.into_iter().map(KeyView::from).collect::<Vec<_>>())?;
            } else {
                println!("{:<24}  {:<28}  {:<22}  GRANTS", "ACCESS KEY", "NAME", "CREATED");
                for k in &all {
                    println!("{:<24}  {:<28}  {:<22}  {}", k.access_key, k.name, k.created_at, grants_text(k));
                }
            }
        }
        Action::Show { access_key } => print_key(s.get(access_key).await?, json)?,
        Action::Create { name, grants } => print_new(s.create(name, grants).await?, json)?,
        Action::Rename { access_key, name } => print_key(s.rename(access_key, name).await?, json)?,
        Action::Rm { access_key } => {
            s.delete(access_key).await?;
            println!("deleted access key {access_key}");
        }
        Action::Rotate { access_key } => {
            // ListBuckets needs no bucket; a valid name is only needed to open the storage client.
            let storage = conn.storage_config_for(conn.bucket.clone().unwrap_or_else(|| "spaces".into()));
            let rotation = rotate(runtime, &storage, &mut s, access_key).await?;
            let new = rotation.new.key.access_key.clone();
            print_new(rotation.new, json)?;
            rotation.old_deleted?;
            eprintln!("spaces: rotated: {new} replaces {access_key}, which is deleted");
        }
    }
    Ok(())
}

/// Attempts to prove a new key at the storage endpoint: a new key can take a few seconds to reach it.
const PROOF_ATTEMPTS: u32 = 5;

/// A working replacement key, and whether the old key is gone (if not, both work; the error says so).
pub struct Rotation {
    pub new: NewKey,
    pub old_deleted: Outcome<()>,
}

/// Creates a key with the old key's name and grants, proves it with a signed request to the storage endpoint,
/// then deletes the old key. An `Err` means the old key is unchanged (and no new key is left behind if it
/// could be deleted); once the new key works it is returned whatever becomes of the old one.
pub async fn rotate(runtime: &Runtime, storage: &Config, s: &mut KeysSession, old: &str) -> Outcome<Rotation> {
    let current = s.get(old).await?;
    let made = s.create(&current.name, &current.grants).await.map_err(|e| {
        Failure::Host(format!("could not create the replacement key ({e}); the old key {old} is unchanged"))
    })?;
    let new = made.key.access_key.clone();
    let creds =
        Credentials { access_key_id: new.clone(), secret_access_key: made.secret_key.clone(), session_token: None };
    let mut proof = Err(Failure::Host("the storage client could not be opened".into()));
    if let Ok(mut storage) = Session::open(runtime, storage).await {
        for attempt in 1..=PROOF_ATTEMPTS {
            proof = storage.verify_credentials(&creds).await;
            if proof.is_ok() || attempt == PROOF_ATTEMPTS {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    if let Err(e) = proof {
        let cleanup = match s.delete(&new).await {
            Ok(()) => format!("the new key {new} was deleted"),
            Err(d) => format!("deleting the new key {new} failed too ({d}): delete it yourself"),
        };
        return Err(Failure::Host(format!(
            "the new key did not work at the storage endpoint ({e}); {cleanup}; the old key {old} is unchanged and still works"
        )));
    }
    let old_deleted = s.delete(old).await.map_err(|e| {
        Failure::Host(format!(
            "the new key {new} works, but deleting the old key {old} failed ({e}): both work until you delete {old}"
        ))
    });
    Ok(Rotation { new: made, old_deleted })
}
