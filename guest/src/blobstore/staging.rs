//! Files a value passes through where S3 and the blobstore interfaces cannot meet stream to stream. A PUT must
//! declare its length and MD5 before its first byte (RGW, like S3, answers a chunked PUT with 411), but
//! `outgoing-value-write-body` hands out its stream before the object's name or size is known, and a component
//! cannot make a stream of its own: only the host can, for a file. And a value read asynchronously outlives the
//! call that returns its stream, which an HTTP body (a child resource of its response) cannot. So each goes
//! through a file in a directory the host grants (`SPACES_STAGING_DIR`, the guest path of one of the preopened
//! directories; the first when unset), named at random and removed when done with.

use crate::wasi::filesystem::preopens;
use crate::wasi::filesystem::types::{Descriptor, DescriptorFlags, OpenFlags, PathFlags};
use crate::wasi::io::streams::{InputStream, OutputStream};
use std::rc::Rc;

thread_local! {
    /// The staging directory, found once per instance.
    static DIRECTORY: std::cell::OnceCell<Result<Rc<Descriptor>, String>> = const { std::cell::OnceCell::new() };
}

/// A staged file: removed from its directory when dropped (streams already handed out keep reading it).
pub(crate) struct Staged {
    dir: Rc<Descriptor>,
    file: Descriptor,
    name: String,
}

impl Staged {
    /// A new empty file for `purpose` (`put` or `get`) in the staging directory.
    pub(crate) fn create(purpose: &str) -> Result<Self, String> {
        let dir = DIRECTORY.with(|d| d.get_or_init(find_directory).clone())?;
        let name = format!(".spaces-staging-{purpose}-{:016x}", crate::base::http::random_u64());
        let file = dir
            .open_at(
                PathFlags::empty(),
                &name,
                OpenFlags::CREATE | OpenFlags::EXCLUSIVE,
                DescriptorFlags::READ | DescriptorFlags::WRITE,
            )
            .map_err(|e| format!("cannot create a staging file in the staging directory: {e:?}"))?;
        Ok(Staged { dir, file, name })
    }

    /// A stream writing the file from its start.
    pub(crate) fn writer(&self) -> Result<OutputStream, String> {
        self.file.write_via_stream(0).map_err(|e| format!("cannot write the staging file: {e:?}"))
    }

    /// A stream reading the file from its start.
    pub(crate) fn reader(&self) -> Result<InputStream, String> {
        self.file.read_via_stream(0).map_err(|e| format!("cannot read the staging file: {e:?}"))
    }

    /// The bytes written so far.
    pub(crate) fn size(&self) -> Result<u64, String> {
        self.file.stat().map(|s| s.size).map_err(|e| format!("cannot stat the staging file: {e:?}"))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Nothing can be done about a file that will not go; it is named as ours for whoever clears the directory.
        let _ = self.dir.unlink_file_at(&self.name);
    }
}

fn find_directory() -> Result<Rc<Descriptor>, String> {
    let wanted = crate::host::env("SPACES_STAGING_DIR");
    let mut granted = preopens::get_directories();
    if granted.is_empty() {
        return Err(format!(
            "no directory to stage values in: the host granted the component none (wasmtime: --dir \
             HOST_DIR::/staging); values are staged in a file while they are written, and while read with \
             incoming-value-consume-async (incoming-value-consume-sync needs none){}",
            wanted.map(|w| format!("; {w:?} was asked for")).unwrap_or_default()
        ));
    }
    let index = match &wanted {
        None => 0,
        Some(w) => granted.iter().position(|(_, path)| path == w).ok_or_else(|| {
            let paths: Vec<&str> = granted.iter().map(|(_, p)| p.as_str()).collect();
            format!("the staging directory {w:?} is not one the host granted ({})", paths.join(", "))
        })?,
    };
    Ok(Rc::new(granted.swap_remove(index).0))
}
