//! The blobstore component: the standard `wasi:blobstore` interfaces (`blobstore`, `container`, `types`) over the
//! same S3 client as the other builds. Containers are buckets at the endpoint the settings name, objects are keys;
//! copies and moves are server-side, batch deletes go 1000 keys a request, `object-info` is a HEAD, and a listing
//! streams ListObjectsV2 pages as the reader asks for names. Errors are the interfaces' strings, written as the
//! other faces write theirs; settings and credentials come from the environment, as the edge's do. Values being
//! written are staged in a file until they are stored, and so are values read asynchronously (`staging`); times are
//! seconds since the Unix epoch.

mod staging;

use crate::exports::wasi::blobstore::blobstore::Guest as BlobstoreGuest;
use crate::exports::wasi::blobstore::container::{
    self as container, ContainerMetadata, GuestContainer, GuestStreamObjectNames, ObjectMetadata,
};
use crate::exports::wasi::blobstore::types::{
    self as types, GuestIncomingValue, GuestOutgoingValue, IncomingValueAsyncBody, IncomingValueSyncBody, ObjectId,
    OutgoingValueBorrow,
};
use crate::s3::client::{Client, Conditions, Download};
use crate::s3::errors::describe;
use crate::s3::headers::ObjectHeaders;
use crate::s3::settings::storage_config;
use crate::s3::upload::Continuation;
use crate::spaces::storage::types::{Acl, Error};
use crate::wasi::io::streams::OutputStream;
use staging::Staged;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

struct Blobstore;

/// Names skipped per step (a listing page's worth).
const NAMES_PER_STEP: u64 = 1000;

/// The S3 client for the bucket a container names, configured from the environment.
fn client(container: &str) -> Result<Rc<Client>, String> {
    let cfg = storage_config(crate::host::env, container.to_string());
    Client::new(&cfg).map(Rc::new).map_err(|e| describe(&e))
}

/// A failed S3 call as the interfaces' error string, saying what was being done.
fn failed(doing: &str, e: &Error) -> String {
    format!("{doing}: {}", describe(e))
}

impl BlobstoreGuest for Blobstore {
    fn create_container(name: String) -> Result<container::Container, String> {
        let client = client(&name)?;
        client.create_bucket().map_err(|e| failed(&format!("creating container {name:?}"), &e))?;
        Ok(container::Container::new(Container { client, name }))
    }

    fn get_container(name: String) -> Result<container::Container, String> {
        let client = client(&name)?;
        match client.bucket_exists() {
            Ok(true) => Ok(container::Container::new(Container { client, name })),
            Ok(false) => Err(format!("container {name:?} does not exist at this endpoint")),
            Err(e) => Err(failed(&format!("opening container {name:?}"), &e)),
        }
    }

    fn delete_container(name: String) -> Result<(), String> {
        let doing = format!("deleting container {name:?}");
        let client = client(&name)?;
        client.empty_bucket(true).and_then(|_| client.delete_bucket()).map_err(|e| failed(&doing, &e))
    }

    fn container_exists(name: String) -> Result<bool, String> {
        client(&name)?.bucket_exists().map_err(|e| failed(&format!("checking container {name:?}"), &e))
    }

    fn copy_object(src: ObjectId, dest: ObjectId) -> Result<(), String> {
        let doing =
            || format!("copying {:?}/{:?} to {:?}/{:?}", src.container, src.object, dest.container, dest.object);
        let dest_client = client(&dest.container)?;
        dest_client.copy_object(&src.container, &src.object, &dest.object).map(drop).map_err(|e| failed(&doing(), &e))
    }

    fn move_object(src: ObjectId, dest: ObjectId) -> Result<(), String> {
        if src.container == dest.container && src.object == dest.object {
            return Ok(());
        }
        Self::copy_object(src.clone(), dest)?;
        let doing = format!("removing {:?}/{:?} after copying it", src.container, src.object);
        client(&src.container)?.delete_object(&src.object).map_err(|e| failed(&doing, &e))
    }
}

/// One bucket.
struct Container {
    client: Rc<Client>,
    name: String,
}

impl container::Guest for Blobstore {
    type Container = Container;
    type StreamObjectNames = ObjectNames;
}

impl GuestContainer for Container {
    fn name(&self) -> Result<String, String> {
        Ok(self.name.clone())
    }

    fn info(&self) -> Result<ContainerMetadata, String> {
        let doing = format!("reading container {:?}", self.name);
        let buckets = self.client.list_buckets().map_err(|e| failed(&doing, &e))?;
        let bucket = buckets
            .into_iter()
            .find(|b| b.name == self.name)
            .ok_or_else(|| format!("{doing}: the endpoint does not list it among this key's buckets"))?;
        let created_at = times::iso8601_seconds(&bucket.creation_date)
            .ok_or_else(|| format!("{doing}: the endpoint gave no creation date ({:?})", bucket.creation_date))?;
        Ok(ContainerMetadata { name: self.name.clone(), created_at: created_at.max(0) as u64 })
    }

    fn get_data(&self, name: String, start: u64, end: u64) -> Result<types::IncomingValue, String> {
        let doing = format!("reading {:?} in container {:?}", name, self.name);
        let range = byte_range(start, end).map_err(|e| format!("{doing}: {e}"))?;
        let download = self.client.get_object(&name, range, Conditions::default()).map_err(|e| failed(&doing, &e))?;
        Ok(types::IncomingValue::new(IncomingValue { download, doing }))
    }

    fn write_data(&self, name: String, data: OutgoingValueBorrow<'_>) -> Result<(), String> {
        data.get::<OutgoingValue>().store_to(Destination { client: Rc::clone(&self.client), name })
    }

    fn list_objects(&self) -> Result<container::StreamObjectNames, String> {
        let names = ObjectNames {
            client: Rc::clone(&self.client),
            container: self.name.clone(),
            ready: RefCell::new(VecDeque::new()),
            next: RefCell::new(Some(None)),
        };
        Ok(container::StreamObjectNames::new(names))
    }

    fn delete_object(&self, name: String) -> Result<(), String> {
        let doing = format!("deleting {:?} in container {:?}", name, self.name);
        self.client.delete_object(&name).map_err(|e| failed(&doing, &e))
    }

    fn delete_objects(&self, names: Vec<String>) -> Result<(), String> {
        let doing = format!("deleting objects in container {:?}", self.name);
        self.client.delete_all(&names).map_err(|e| failed(&doing, &e))
    }

    fn has_object(&self, name: String) -> Result<bool, String> {
        let doing = format!("looking for {:?} in container {:?}", name, self.name);
        self.client.object_exists(&name).map_err(|e| failed(&doing, &e))
    }

    fn object_info(&self, name: String) -> Result<ObjectMetadata, String> {
        let doing = format!("reading the metadata of {:?} in container {:?}", name, self.name);
        let meta = self.client.head_object(&name).map_err(|e| failed(&doing, &e))?;
        let created_at = meta.last_modified.as_deref().and_then(times::http_date_seconds).unwrap_or(0).max(0) as u64;
        Ok(ObjectMetadata { name, container: self.name.clone(), created_at, size: meta.size })
    }

    fn clear(&self) -> Result<(), String> {
        let doing = format!("clearing container {:?}", self.name);
        self.client.empty_bucket(false).map(drop).map_err(|e| failed(&doing, &e))
    }
}

/// The draft's inclusive offsets as the S3 range to ask for: an end of `u64::MAX` reads to the end, and
/// `0..=u64::MAX` is the whole object (no range at all, so an empty object can be read too).
fn byte_range(start: u64, end: u64) -> Result<Option<(u64, Option<u64>)>, String> {
    match (start, end) {
        _ if end < start => Err(format!("the range {start}..={end} ends before it starts")),
        (0, u64::MAX) => Ok(None),
        (first, u64::MAX) => Ok(Some((first, None))),
        (first, last) => Ok(Some((first, Some(last)))),
    }
}

/// A listing being read: names listed but not yet handed out, and where the next page starts (`Some(None)`
/// before the first page, `None` after the last).
struct ObjectNames {
    client: Rc<Client>,
    container: String,
    ready: RefCell<VecDeque<String>>,
    next: RefCell<Option<Option<String>>>,
}

impl ObjectNames {
    /// Lists pages until `wanted` names are ready or the listing ends; true when nothing is left to list.
    fn fill(&self, wanted: u64) -> Result<bool, String> {
        while (self.ready.borrow().len() as u64) < wanted {
            let Some(token) = self.next.borrow_mut().take() else { return Ok(true) };
            let page = self
                .client
                .list_objects(None, None, token.as_deref(), None)
                .map_err(|e| failed(&format!("listing container {:?}", self.container), &e))?;
            self.ready.borrow_mut().extend(page.objects.into_iter().map(|o| o.key));
            *self.next.borrow_mut() = page.next_continuation.map(Some);
        }
        Ok(self.next.borrow().is_none())
    }
}

impl GuestStreamObjectNames for ObjectNames {
    fn read_stream_object_names(&self, len: u64) -> Result<(Vec<String>, bool), String> {
        let listed_all = self.fill(len)?;
        let mut ready = self.ready.borrow_mut();
        let n = ready.len().min(usize::try_from(len).unwrap_or(usize::MAX));
        let names: Vec<String> = ready.drain(..n).collect();
        Ok((names, listed_all && ready.is_empty()))
    }

    fn skip_stream_object_names(&self, num: u64) -> Result<(u64, bool), String> {
        let (mut skipped, mut end) = (0, false);
        // A page at a time, so skipping far ahead never holds more than a page of names.
        while skipped < num && !end {
            let step = (num - skipped).min(NAMES_PER_STEP);
            let (names, at_end) = self.read_stream_object_names(step)?;
            skipped += names.len() as u64;
            end = at_end;
        }
        Ok((skipped, end || (self.ready.borrow().is_empty() && self.next.borrow().is_none())))
    }
}

impl types::Guest for Blobstore {
    type OutgoingValue = OutgoingValue;
    type IncomingValue = IncomingValue;
}

/// Where a value is to be stored.
struct Destination {
    client: Rc<Client>,
    name: String,
}

impl Destination {
    fn store(&self, staged: &Staged) -> Result<(), String> {
        let doing = format!("writing {:?} in container {:?}", self.name, self.client.addressing.bucket);
        let size = staged.size().map_err(|e| format!("{doing}: {e}"))?;
        let body = staged.reader().map_err(|e| format!("{doing}: {e}"))?;
        // Stored as a private object of no declared type, as the interfaces have no way to say otherwise.
        let headers = ObjectHeaders { content_type: None, cache_control: None, acl: Acl::Private, metadata: &[] };
        let how = Continuation::default();
        self.client.put_object(&self.name, &body, Some(size), &headers, &how).map(drop).map_err(|e| failed(&doing, &e))
    }
}

/// A value being written: its staging file (or why there is none), whether its stream was handed out, and the
/// destinations named before it was (stored when it is finished).
struct OutgoingValue {
    staged: Result<Staged, String>,
    body_taken: Cell<bool>,
    waiting: RefCell<Vec<Destination>>,
}

impl OutgoingValue {
    /// `write-data`: once the body's stream has been handed out, what was written is stored at once; before
    /// that, the destination waits for `finish` (so both orders a consumer may write in store the bytes).
    fn store_to(&self, to: Destination) -> Result<(), String> {
        let staged = self.staged.as_ref().map_err(Clone::clone)?;
        if self.body_taken.get() {
            to.store(staged)
        } else {
            self.waiting.borrow_mut().push(to);
            Ok(())
        }
    }
}

impl GuestOutgoingValue for OutgoingValue {
    fn new_outgoing_value() -> types::OutgoingValue {
        let value = OutgoingValue {
            staged: Staged::create("put"),
            body_taken: Cell::new(false),
            waiting: RefCell::new(Vec::new()),
        };
        types::OutgoingValue::new(value)
    }

    /// The interface allows no reason here; `write-data` and `finish` say why when there is no staging file.
    fn outgoing_value_write_body(&self) -> Result<OutputStream, ()> {
        if self.body_taken.replace(true) {
            return Err(());
        }
        self.staged.as_ref().map_err(drop)?.writer().map_err(drop)
    }

    fn finish(this: types::OutgoingValue) -> Result<(), String> {
        let value: OutgoingValue = this.into_inner();
        // A value that never had anywhere to hold its bytes cannot be complete; this is also where a consumer whose
        // `outgoing-value-write-body` failed (the draft gives that call no reason) hears why.
        let staged = value.staged.as_ref().map_err(Clone::clone)?;
        value.waiting.take().iter().try_for_each(|to| to.store(staged))
    }
}

/// A value being read: the GET whose headers have arrived, and what it was for, for messages.
struct IncomingValue {
    download: Download,
    doing: String,
}

impl GuestIncomingValue for IncomingValue {
    fn incoming_value_consume_sync(this: types::IncomingValue) -> Result<IncomingValueSyncBody, String> {
        let value: IncomingValue = this.into_inner();
        value.download.into_bytes().map_err(|e| failed(&value.doing, &e))
    }

    fn incoming_value_consume_async(this: types::IncomingValue) -> Result<IncomingValueAsyncBody, String> {
        let value: IncomingValue = this.into_inner();
        let doing = &value.doing;
        let staged = Staged::create("get").map_err(|e| format!("{doing}: {e}"))?;
        let sink = staged.writer().map_err(|e| format!("{doing}: {e}"))?;
        value.download.write_to(&sink).map_err(|e| failed(doing, &e))?;
        sink.blocking_flush().map_err(|e| format!("{doing}: writing the staging file failed: {e:?}"))?;
        drop(sink);
        // The file is removed when `staged` drops at the end of this call; the stream keeps reading it.
        staged.reader().map_err(|e| format!("{doing}: {e}"))
    }

    fn size(&self) -> u64 {
        self.download.meta.size
    }
}

crate::bindings::export!(Blobstore with_types_in crate::bindings);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inclusive_offsets_become_s3_ranges() {
        assert_eq!(byte_range(0, u64::MAX), Ok(None));
        assert_eq!(byte_range(5, u64::MAX), Ok(Some((5, None))));
        assert_eq!(byte_range(0, 0), Ok(Some((0, Some(0)))));
        assert_eq!(byte_range(10, 19), Ok(Some((10, Some(19)))));
        assert!(byte_range(2, 1).is_err_and(|e| e.contains("ends before it starts")));
    }
}
