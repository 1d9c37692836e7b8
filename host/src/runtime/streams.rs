//! Bodies as wasi:io streams. A body already in memory (a small file read whole) is handed over as it is. Other
//! uploads: wasmtime's `AsyncReadStream` hands over 64 KiB at a time with one chunk of read-ahead; an upload through
//! the component runs faster on 512 KiB reads with a few chunks ahead, so the file or pipe is read while the component
//! hashes and sends (a regular file on a blocking thread, straight into the chunks); an [`Interrupt`] fails the
//! stream. Downloads: a sink that writes on the calling thread, where wasmtime's `AsyncWriteStream` hands every
//! chunk to another task and a blocking thread, which costs more than the write itself.

use super::interrupt::Interrupt;
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::p2::{DynInputStream, InputStream, OutputStream, Pollable, StreamError};

/// What the component reads as an upload's or a hash's body.
pub(crate) enum Body {
    /// Bytes in memory: a small file read whole, a tool's argument.
    Whole(Bytes),
    /// A regular file: read ahead of the component on a blocking thread of its own.
    File(std::fs::File),
    /// A pipe, a device, a request body: read ahead of the component.
    Reader(std::pin::Pin<Box<dyn AsyncRead + Send>>),
}

impl Body {
    /// A body read from `r`.
    pub(crate) fn reader(r: impl AsyncRead + Send + 'static) -> Body {
        Body::Reader(Box::pin(r))
    }

    /// The stream the component reads; `size`, when known, keeps a reader's buffers small for a small body.
    pub(crate) fn into_stream(self, size: Option<u64>, interrupt: &Interrupt) -> DynInputStream {
        match self {
            Body::Whole(bytes) => Box::new(MemoryInputPipe::new(bytes)),
            Body::File(f) => Box::new(ReadAhead::from_file(f, size, interrupt)),
            Body::Reader(r) => Box::new(ReadAhead::new(r, size, interrupt)),
        }
    }
}

/// Bytes per read and per write permit: reads of 1 MiB were no faster and held 2.5 MiB more at the peak of a
/// 1 GiB upload (the chunks ahead, the one being read and the one being copied into the component).
const CHUNK: usize = 512 << 10;
/// Chunks read ahead of the component.
const AHEAD: usize = 2;

pub(crate) struct ReadAhead {
    receiver: mpsc::Receiver<Result<Bytes, StreamError>>,
    /// What `ready` received and `read` has not handed out yet.
    pending: Option<Result<Bytes, StreamError>>,
    closed: bool,
    task: tokio::task::JoinHandle<()>,
}

impl ReadAhead {
    /// Reads `reader` ahead of the component; `size`, when known, keeps buffers for small files small.
    pub(crate) fn new(reader: impl AsyncRead + Send + 'static, size: Option<u64>, interrupt: &Interrupt) -> Self {
        let (sender, receiver) = mpsc::channel(AHEAD);
        let interrupted = interrupt.next();
        let chunk = chunk_for(size);
        let task = tokio::spawn(async move {
            tokio::pin!(reader);
            tokio::pin!(interrupted);
            loop {
                let mut buf = BytesMut::with_capacity(chunk);
                let item = tokio::select! {
                    r = fill(&mut reader, &mut buf) => match r {
                        Ok(0) => Err(StreamError::Closed),
                        Ok(_) => Ok(buf.freeze()),
                        Err(e) => Err(StreamError::LastOperationFailed(e.into())),
                    },
                    () = &mut interrupted => {
                        Err(StreamError::LastOperationFailed(wasmtime::format_err!("interrupted")))
                    }
                };
                let last = item.is_err();
                if sender.send(item).await.is_err() || last {
                    break;
                }
            }
        });
        ReadAhead { receiver, pending: None, closed: false, task }
    }

    /// Reads a regular file on one blocking thread, each chunk straight into the buffer handed over: tokio's
    /// `File` would read into a buffer of its own and copy, with a trip to the blocking pool per read.
    fn from_file(mut file: std::fs::File, size: Option<u64>, interrupt: &Interrupt) -> Self {
        let (sender, receiver) = mpsc::channel(AHEAD);
        let interrupted = interrupt.came_since();
        let chunk = chunk_for(size);
        let task = tokio::task::spawn_blocking(move || loop {
            let item = if interrupted() {
                Err(StreamError::LastOperationFailed(wasmtime::format_err!("interrupted")))
            } else {
                read_chunk(&mut file, chunk)
            };
            let last = item.is_err();
            // Fails once the component has dropped the stream: then nobody reads on.
            if sender.blocking_send(item).is_err() || last {
                break;
            }
        });
        ReadAhead { receiver, pending: None, closed: false, task }
    }
}

/// Bytes per chunk: one more than the size when that is smaller, so the read that finds the end needs no second
/// buffer.
fn chunk_for(size: Option<u64>) -> usize {
    size.map_or(CHUNK, |s| (s as usize).saturating_add(1).min(CHUNK))
}

/// The file's next `chunk` bytes or fewer at its end; `Closed` once nothing is left. Read into the buffer's spare
/// capacity: a zeroed buffer would cost a pass over every byte uploaded.
fn read_chunk(file: &mut std::fs::File, chunk: usize) -> Result<Bytes, StreamError> {
    let mut buf = Vec::with_capacity(chunk);
    match std::io::Read::read_to_end(&mut std::io::Read::take(&mut *file, chunk as u64), &mut buf) {
        Ok(0) => Err(StreamError::Closed),
        Ok(_) => Ok(buf.into()),
        Err(e) => Err(StreamError::LastOperationFailed(e.into())),
    }
}

/// Reads until `buf` is full or the reader ends; returns the bytes read.
async fn fill(reader: &mut (impl AsyncRead + Unpin), buf: &mut BytesMut) -> std::io::Result<usize> {
    while buf.len() < buf.capacity() {
        if reader.read_buf(buf).await? == 0 {
            break;
        }
    }
    Ok(buf.len())
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl InputStream for ReadAhead {
    fn read(&mut self, size: usize) -> Result<Bytes, StreamError> {
        let item = match self.pending.take() {
            Some(item) => item,
            None if self.closed => return Err(StreamError::Closed),
            None => match self.receiver.try_recv() {
                Ok(item) => item,
                Err(mpsc::error::TryRecvError::Empty) => return Ok(Bytes::new()),
                Err(mpsc::error::TryRecvError::Disconnected) => Err(StreamError::Closed),
            },
        };
        match item {
            Ok(mut bytes) => {
                if bytes.len() > size {
                    self.pending = Some(Ok(bytes.split_off(size)));
                }
                Ok(bytes)
            }
            Err(e) => {
                self.closed = true;
                Err(e)
            }
        }
    }
}

#[async_trait::async_trait]
impl Pollable for ReadAhead {
    async fn ready(&mut self) {
        if self.pending.is_none() && !self.closed {
            self.pending = Some(self.receiver.recv().await.unwrap_or(Err(StreamError::Closed)));
        }
    }
}

/// A download sink over a file or standard output. Writes happen at once; after a failed one the stream stays
/// failed, which is how the component tells a broken sink from a broken connection.
///
/// Into a regular file it writes a page at a time. The kernel sizes a page-cache folio by the write, and on a VM
/// that hands free memory back to its hypervisor (virtio-balloon free page reporting, as on the Firecracker VMs
/// this was measured on) a multi-page folio tends to come from memory handed back, each faulted in again: writing
/// 1 GiB in the pieces the connection delivers (up to ~400 KiB) took 4.4-14 s of system time there against 0.7 s a
/// page at a time (curl, whose writes are 4 and 12 KiB, 0.6-1.1 s). Where memory is not handed back, pages cost
/// ~0.25 s more system time per GiB (0.8 s against 0.55), which only a loopback-speed download notices.
pub(crate) struct WriteSink {
    inner: std::fs::File,
    /// Bytes per write.
    piece: usize,
    broken: bool,
}

/// The write size into a regular file.
const PAGE: usize = 4096;

impl WriteSink {
    pub(crate) fn new(inner: std::fs::File) -> Self {
        let regular = inner.metadata().is_ok_and(|m| m.is_file());
        WriteSink { inner, piece: if regular { PAGE } else { usize::MAX }, broken: false }
    }

    fn fail(&mut self, e: std::io::Error) -> StreamError {
        self.broken = true;
        StreamError::LastOperationFailed(e.into())
    }
}

impl OutputStream for WriteSink {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        if self.broken {
            return Err(StreamError::Closed);
        }
        for piece in bytes.chunks(self.piece) {
            std::io::Write::write_all(&mut self.inner, piece).map_err(|e| self.fail(e))?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        if self.broken {
            return Err(StreamError::Closed);
        }
        std::io::Write::flush(&mut self.inner).map_err(|e| self.fail(e))
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        if self.broken {
            Err(StreamError::Closed)
        } else {
            Ok(CHUNK)
        }
    }
}

#[async_trait::async_trait]
impl Pollable for WriteSink {
    async fn ready(&mut self) {}
}

/// What a [`ChannelSink`] hands on: body chunks, or the error that cut the body short.
pub(crate) type BodyChunk = Result<Bytes, std::io::Error>;

/// A download sink that feeds an HTTP response body through a bounded channel: the component writes only while
/// the client keeps reading (`check-write` says 0 and `ready` waits otherwise), so a slow client holds a few
/// chunks in memory, not the object. A client that went away, or read nothing for `stall`, breaks the sink,
/// which stops the download and frees what it held.
pub(crate) struct ChannelSink {
    sender: Option<mpsc::Sender<BodyChunk>>,
    permit: Option<mpsc::OwnedPermit<BodyChunk>>,
    /// How long the client may go without reading before the sink gives up on it.
    stall: std::time::Duration,
    stalled: bool,
}

impl ChannelSink {
    /// A sink into `sender`, whose channel's capacity bounds the chunks waiting for the client.
    pub(crate) fn new(sender: mpsc::Sender<BodyChunk>, stall: std::time::Duration) -> Self {
        ChannelSink { sender: Some(sender), permit: None, stall, stalled: false }
    }

    /// Takes a free slot without waiting, if there is one.
    fn try_reserve(&mut self) -> Result<bool, StreamError> {
        if self.permit.is_some() {
            return Ok(true);
        }
        if self.stalled {
            let secs = self.stall.as_secs();
            return Err(StreamError::LastOperationFailed(wasmtime::format_err!(
                "the client read nothing for {secs} s"
            )));
        }
        let sender = self.sender.take().ok_or(StreamError::Closed)?;
        match sender.try_reserve_owned() {
            Ok(permit) => {
                self.permit = Some(permit);
                Ok(true)
            }
            Err(mpsc::error::TrySendError::Full(sender)) => {
                self.sender = Some(sender);
                Ok(false)
            }
            Err(mpsc::error::TrySendError::Closed(sender)) => {
                // Kept, so every later write fails the same way instead of looking like a clean close.
                self.sender = Some(sender);
                Err(StreamError::LastOperationFailed(wasmtime::format_err!("the client went away")))
            }
        }
    }
}

impl OutputStream for ChannelSink {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        if !self.try_reserve()? {
            return Err(StreamError::Trap(wasmtime::format_err!("write without check-write")));
        }
        let permit = self.permit.take().ok_or(StreamError::Closed)?;
        self.sender = Some(permit.send(Ok(bytes)));
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(if self.try_reserve()? { CHUNK } else { 0 })
    }
}

#[async_trait::async_trait]
impl Pollable for ChannelSink {
    async fn ready(&mut self) {
        if self.permit.is_some() {
            return;
        }
        if let Some(sender) = self.sender.take() {
            // A closed channel leaves both empty, a stall sets `stalled`; the next `check-write` reports either.
            match tokio::time::timeout(self.stall, sender.reserve_owned()).await {
                Ok(Ok(permit)) => self.permit = Some(permit),
                Ok(Err(_)) => {}
                Err(_) => self.stalled = true,
            }
        }
    }
}
