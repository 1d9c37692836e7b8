//! `spaces buckets`, `mb`, `rb`: the buckets themselves. Each opens a client for the bucket it names; listing
//! needs no bucket of its own, so it uses the configured one or, with none, a placeholder name it never addresses.

use crate::config::Connection;
use crate::error::{Failure, Outcome};
use crate::output::{print_json, say};
use crate::runtime::bindings::types;
use crate::runtime::session::Session;
use crate::runtime::Runtime;
use clap::Subcommand;
use http_api::bucket::{BucketEntry, Buckets};

#[derive(Subcommand, Debug)]
pub(super) enum BucketCommand {
    /// List the buckets these credentials own at the endpoint (name and creation time)
    Buckets {
        /// Print one JSON document instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Make a bucket, in the endpoint's region; a name already taken (by anyone) is refused
    Mb {
        /// The bucket's name (or spaces://NAME): 3-63 lower-case letters, digits, dots and hyphens
        name: String,
    },
    /// Remove a bucket, which must be empty unless --force
    Rb {
        /// The bucket's name (or spaces://NAME)
        name: String,
        /// First delete every object in it (batched) and abort its incomplete multipart uploads
        #[arg(long)]
        force: bool,
    },
}

/// A name that is not a bucket's at all says so; `spaces://NAME` and `s3://NAME/` are the bucket NAME.
fn bucket_name(arg: &str) -> Outcome<String> {
    match object_keys::location(arg) {
        None => Ok(arg.to_string()),
        Some(Ok((bucket, key))) if key.is_empty() => Ok(bucket),
        Some(Ok((bucket, key))) => {
            Err(Failure::usage(format!("{arg:?} names the object {key:?}; give the bucket alone: spaces://{bucket}")))
        }
        Some(Err(e)) => Err(Failure::usage(e)),
    }
}

pub(super) async fn run(runtime: &Runtime, conn: &Connection, command: &BucketCommand) -> Outcome<()> {
    match command {
        BucketCommand::Buckets { json } => {
            let mut s = Session::open(runtime, &conn.bucketless_config()).await?;
            let buckets = s.list_buckets().await?;
            if *json {
                return print_json(&Buckets { buckets: buckets.into_iter().map(BucketEntry::from).collect() });
            }
            for b in &buckets {
                say!("{:>24}  {}", b.created, b.name);
            }
            Ok(())
        }
        BucketCommand::Mb { name } => {
            let name = bucket_name(name)?;
            let mut s = Session::open(runtime, &conn.storage_config_for(name.clone())).await?;
            s.create_bucket().await?;
            say!("made bucket {name}");
            Ok(())
        }
        BucketCommand::Rb { name, force } => {
            let name = bucket_name(name)?;
            let mut s = Session::open(runtime, &conn.storage_config_for(name.clone())).await?;
            let deleted = s.delete_bucket(*force).await.map_err(|e| match e {
                Failure::Storage(types::Error::Conflict(m)) if !force => Failure::Storage(types::Error::Conflict(
                    format!("{m}; `spaces rb {name} --force` deletes everything in it first"),
                )),
                other => other,
            })?;
            if *force {
                say!("deleted {deleted} object{}", if deleted == 1 { "" } else { "s" });
            }
            say!("removed bucket {name}");
            Ok(())
        }
    }
}
