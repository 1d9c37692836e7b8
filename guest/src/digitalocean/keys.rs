//! Spaces access keys through DigitalOcean API v2 (`http` sends, `api` knows the shapes and checks grants).
//! A new key's secret passes through once, in the answer to its creation, and is kept nowhere.

use super::api::{self, GrantJson, KeyAnswer, KeyBody, KeyJson, KeyPage};
use super::http::Api;
use crate::base::invalid;
use crate::exports::spaces::storage::keys::{AccessKey, Grant, KeyFilter, NewKey, Permission};
use crate::spaces::storage::types::{ApiConfig, Error};

pub(crate) struct KeysClient {
    api: Api,
}

fn permission_name(p: Permission) -> &'static str {
    match p {
        Permission::Read => "read",
        Permission::Readwrite => "readwrite",
        Permission::Fullaccess => "fullaccess",
    }
}

/// A grant from the API; an empty or unknown permission reads as `read`, the least it could mean.
fn grant_of(g: GrantJson) -> Grant {
    let permission = match g.permission.as_str() {
        "fullaccess" => Permission::Fullaccess,
        "readwrite" => Permission::Readwrite,
        _ => Permission::Read,
    };
    Grant { bucket: g.bucket, permission }
}

fn key_of(k: KeyJson) -> AccessKey {
    AccessKey {
        name: k.name,
        access_key: k.access_key,
        grants: k.grants.into_iter().map(grant_of).collect(),
        created_at: k.created_at,
    }
}

impl KeysClient {
    pub(crate) fn new(cfg: &ApiConfig) -> Result<Self, Error> {
        Ok(KeysClient { api: Api::new(cfg)? })
    }

    pub(crate) fn list(&self, filter: &KeyFilter) -> Result<Vec<AccessKey>, Error> {
        let mut filters = Vec::new();
        if let Some(n) = &filter.name {
            filters.push(("name".to_string(), n.clone()));
        }
        if let Some(b) = &filter.bucket {
            filters.push(("bucket".to_string(), b.clone()));
        }
        if let Some(p) = filter.permission {
            filters.push(("permission".to_string(), permission_name(p).to_string()));
        }
        self.api.all_pages("keys-list", "/v2/spaces/keys", &filters, |p: KeyPage| {
            (p.keys.into_iter().map(key_of).collect(), p.links)
        })
    }

    fn one(&self, operation: &'static str, answer: &[u8]) -> Result<KeyJson, Error> {
        Api::parse::<KeyAnswer>(operation, answer)?
            .into_key()
            .ok_or_else(|| Error::Transport(format!("the {operation} answer names no key")))
    }

    pub(crate) fn get(&self, access_key: &str) -> Result<AccessKey, Error> {
        api::check_access_key(access_key).map_err(invalid)?;
        let answer = self.api.call("keys-get", "GET", format!("/v2/spaces/keys/{access_key}"), Vec::new(), None)?;
        Ok(key_of(self.one("keys-get", &answer)?))
    }

    pub(crate) fn create(&self, name: &str, grants: &[Grant]) -> Result<NewKey, Error> {
        let grants: Vec<GrantJson> = grants
            .iter()
            .map(|g| GrantJson { bucket: g.bucket.clone(), permission: permission_name(g.permission).into() })
            .collect();
        api::check_key(name, &grants).map_err(invalid)?;
        let body = Api::json(&KeyBody { name, grants: Some(&grants) })?;
        let answer = self.api.call("keys-create", "POST", "/v2/spaces/keys".into(), Vec::new(), Some(body))?;
        let mut made = self.one("keys-create", &answer)?;
        let secret_key = made
            .secret_key
            .take()
            .ok_or_else(|| Error::Transport("the keys-create answer carries no secret key".into()))?;
        Ok(NewKey { key: key_of(made), secret_key })
    }

    pub(crate) fn rename(&self, access_key: &str, name: &str) -> Result<AccessKey, Error> {
        api::check_access_key(access_key).map_err(invalid)?;
        api::check_key(name, &[]).map_err(invalid)?;
        let body = Api::json(&KeyBody { name, grants: None })?;
        let path = format!("/v2/spaces/keys/{access_key}");
        let answer = self.api.call("keys-rename", "PUT", path, Vec::new(), Some(body))?;
        Ok(key_of(self.one("keys-rename", &answer)?))
    }

    pub(crate) fn delete(&self, access_key: &str) -> Result<(), Error> {
        api::check_access_key(access_key).map_err(invalid)?;
        self.api.call("keys-delete", "DELETE", format!("/v2/spaces/keys/{access_key}"), Vec::new(), None).map(drop)
    }
}
