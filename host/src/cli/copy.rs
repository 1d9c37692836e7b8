//! `spaces cp SRC DST` and `spaces mv SRC DST`: server-side copies, within a bucket or across buckets
//! (`spaces://BUCKET/KEY`). `mv` deletes the source after the copy, for one object or every object under a prefix
//! (SRC ending in `/`); a source is deleted only once its copy succeeded, so a failure midway leaves every object
//! in one place or the other, never lost.

use super::batch::key_prefix;
use super::locate;
use crate::config::Connection;
use crate::error::{Failure, Outcome};
use crate::output::say;
use crate::runtime::bindings::storage::ListRequest;
use crate::runtime::session::Session;
use crate::runtime::Runtime;

/// `cp SRC DST`: within a bucket, or from one into another (`spaces://BUCKET/KEY`), server-side.
pub(super) async fn cp(runtime: &Runtime, conn: &Connection, src: &str, dst: &str) -> Outcome<()> {
    let (src_bucket, src_key) = locate(src, conn)?;
    let (dst_bucket, dst_key) = locate(dst, conn)?;
    let mut to = Session::open(runtime, &conn.storage_config_for(dst_bucket.clone())).await?;
    let etag = if src_bucket == dst_bucket {
        to.copy(&src_key, &dst_key).await?
    } else {
        to.copy_from(&src_bucket, &src_key, &dst_key).await?
    };
    say!("copied {src} to {dst} (etag {etag})");
    Ok(())
}

pub(super) async fn mv(runtime: &Runtime, conn: &Connection, src: &str, dst: &str) -> Outcome<()> {
    let (src_bucket, src_key) = locate(src, conn)?;
    let (dst_bucket, dst_key) = locate(dst, conn)?;
    let mut to = Session::open(runtime, &conn.storage_config_for(dst_bucket.clone())).await?;
    let mut from = if src_bucket == dst_bucket {
        None
    } else {
        Some(Session::open(runtime, &conn.storage_config_for(src_bucket.clone())).await?)
    };
    let same_bucket = src_bucket == dst_bucket;
    if src_key.is_empty() || src_key.ends_with('/') {
        let dst_prefix = key_prefix(&dst_key);
        if same_bucket && dst_prefix.starts_with(&src_key) {
            return Err(Failure::usage(format!("cannot move {src_key:?} into itself ({dst_prefix:?})")));
        }
        let mut keys = Vec::new();
        let req = ListRequest { prefix: Some(src_key.clone()), delimiter: None, continuation: None, max_keys: None };
        from.as_mut().unwrap_or(&mut to).list_pages(req, |p| keys.extend(p.objects.into_iter().map(|o| o.key))).await?;
        let mut moved = Vec::new();
        for key in &keys {
            let target = format!("{dst_prefix}{}", &key[src_key.len()..]);
            match copy(&mut to, same_bucket, &src_bucket, key, &target).await {
                Ok(_) => moved.push(key.clone()),
                Err(e) => eprintln!("spaces: {key}: {e}"),
            }
        }
        let failures = from.as_mut().unwrap_or(&mut to).delete_many(&moved).await?;
        for f in &failures {
            eprintln!("spaces: copied {:?} but could not delete it: {} {}", f.key, f.code, f.message);
        }
        let done = moved.len() - failures.len();
        say!("moved {done} of {} objects from {src_key:?} to {dst_prefix:?}", keys.len());
        return match keys.len() - done {
            0 => Ok(()),
            n => Err(Failure::host(format!("{n} objects were not moved"))),
        };
    }
    let target = match dst_key.strip_suffix('/') {
        Some(_) => format!("{dst_key}{}", src_key.rsplit('/').next().unwrap_or(&src_key)),
        None if dst_key.is_empty() => src_key.rsplit('/').next().unwrap_or(&src_key).to_string(),
        None => dst_key,
    };
    if same_bucket && target == src_key {
        return Err(Failure::usage(format!("{src_key:?} is already there")));
    }
    let etag = copy(&mut to, same_bucket, &src_bucket, &src_key, &target).await?;
    from.as_mut().unwrap_or(&mut to).delete(&src_key).await?;
    say!("moved {src_key} to {target} (etag {etag})");
    Ok(())
}

async fn copy(to: &mut Session, same_bucket: bool, src_bucket: &str, src: &str, dst: &str) -> Outcome<String> {
    if same_bucket {
        to.copy(src, dst).await
    } else {
        to.copy_from(src_bucket, src, dst).await
    }
}
