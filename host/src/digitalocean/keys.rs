//! Spaces access keys through the component's `keys` interface (API v2 with DIGITALOCEAN_TOKEN): a session on one
//! instance, the JSON views every face shows (a secret only in the view of a key just made), and `rotate`: a new
//! key with the same grants, proven by a signed request to the storage endpoint before the old key is deleted.

use crate::error::{Failure, Outcome};
use crate::runtime::bindings::exports::spaces::storage::keys::{
    AccessKey, ApiConfig, Grant, KeyFilter, NewKey, Permission,
};
use crate::runtime::bindings::spaces::storage::credentials::Credentials;
use crate::runtime::bindings::types::Config;
use crate::runtime::bindings::Client;
use crate::runtime::session::{flatten, Session};
use crate::runtime::{HostState, Runtime};
use clap::ValueEnum;
use std::time::Duration;
use wasmtime::component::ResourceAny;
use wasmtime::Store;

/// A permission as the command line and the service's JSON name it.
#[derive(
    ValueEnum, Clone, Copy, Debug, serde::Deserialize, serde::Serialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Perm {
    Read,
    Readwrite,
    Fullaccess,
}

impl Perm {
    /// The name the command line, the JSON and DigitalOcean's API use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Perm::Read => "read",
            Perm::Readwrite => "readwrite",
            Perm::Fullaccess => "fullaccess",
        }
    }
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

/// One component instance with an open `keys-client`.
pub(crate) struct KeysSession {
    store: Store<HostState>,
    bindings: Client,
    client: ResourceAny,
}

impl KeysSession {
    pub(crate) async fn open(runtime: &Runtime, cfg: &ApiConfig) -> Outcome<Self> {
        let (mut store, bindings) = runtime.instantiate().await?;
        let client = flatten(bindings.spaces_storage_keys().keys_client().call_open(&mut store, cfg).await)?;
        Ok(KeysSession { store, bindings, client })
    }

    pub(crate) async fn list(&mut self, filter: &KeyFilter) -> Outcome<Vec<AccessKey>> {
        let c = self.bindings.spaces_storage_keys().keys_client();
        flatten(c.call_list_keys(&mut self.store, self.client, filter).await)
    }

    pub(crate) async fn get(&mut self, access_key: &str) -> Outcome<AccessKey> {
        let c = self.bindings.spaces_storage_keys().keys_client();
        flatten(c.call_get_key(&mut self.store, self.client, access_key).await)
    }

    pub(crate) async fn create(&mut self, name: &str, grants: &[Grant]) -> Outcome<NewKey> {
        let c = self.bindings.spaces_storage_keys().keys_client();
        flatten(c.call_create_key(&mut self.store, self.client, name, grants).await)
    }

    pub(crate) async fn rename(&mut self, access_key: &str, name: &str) -> Outcome<AccessKey> {
        let c = self.bindings.spaces_storage_keys().keys_client();
        flatten(c.call_rename_key(&mut self.store, self.client, access_key, name).await)
    }

    pub(crate) async fn delete(&mut self, access_key: &str) -> Outcome<()> {
        let c = self.bindings.spaces_storage_keys().keys_client();
        flatten(c.call_delete_key(&mut self.store, self.client, access_key).await)
    }
}

/// One grant as the CLI's `--json`, the service and the MCP tools write and read it; `bucket` is empty for full
/// access.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
pub(crate) struct GrantView {
    pub bucket: String,
    pub permission: Perm,
}

/// A key as the CLI's `--json`, the service and the MCP tools show it (never with a secret), with DigitalOcean's
/// field names.
#[derive(serde::Serialize, utoipa::ToSchema, schemars::JsonSchema)]
pub(crate) struct KeyView {
    name: String,
    access_key: String,
    grants: Vec<GrantView>,
    created_at: String,
}

/// A key just created or rotated in: the only view that carries its secret.
#[derive(serde::Serialize, utoipa::ToSchema, schemars::JsonSchema)]
pub(crate) struct NewKeyView {
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

/// Attempts to prove a new key at the storage endpoint: a new key can take a few seconds to reach it.
const PROOF_ATTEMPTS: u32 = 5;

/// A working replacement key, and whether the old key is gone (if not, both work; the error says so).
pub(crate) struct Rotation {
    pub new: NewKey,
    pub old_deleted: Outcome<()>,
}

/// Creates a key with the old key's name and grants, proves it with a signed request to the storage endpoint,
/// then deletes the old key. An `Err` means the old key is unchanged (and no new key is left behind if it
/// could be deleted); once the new key works it is returned whatever becomes of the old one.
pub(crate) async fn rotate(runtime: &Runtime, storage: &Config, s: &mut KeysSession, old: &str) -> Outcome<Rotation> {
    let current = s.get(old).await?;
    let made = s.create(&current.name, &current.grants).await.map_err(|e| {
        Failure::host(format!("could not create the replacement key ({e}); the old key {old} is unchanged"))
    })?;
    let new = made.key.access_key.clone();
    let creds =
        Credentials { access_key_id: new.clone(), secret_access_key: made.secret_key.clone(), session_token: None };
    let mut proof = Err(Failure::host("the storage client could not be opened"));
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
        return Err(Failure::host(format!(
            "the new key did not work at the storage endpoint ({e}); {cleanup}; the old key {old} is unchanged and \
                still works"
        )));
    }
    let old_deleted = s.delete(old).await.map_err(|e| {
        Failure::host(format!(
            "the new key {new} works, but deleting the old key {old} failed ({e}): both work until you delete {old}"
        ))
    });
    Ok(Rotation { new: made, old_deleted })
}
