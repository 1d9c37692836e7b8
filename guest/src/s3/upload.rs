//! Uploads: one PUT for a body that ends by the multipart threshold, otherwise a multipart upload with several
//! parts in flight. Bytes enter the component only because they must be hashed: one PUT carries its Content-MD5;
//! a part is sent as soon as it is read and hashed while on the wire, up to four parts at once in SIMD lanes
//! (`part_md5`), and the server's ETag for it must be that MD5 before the upload completes. Reading, hashing and
//! sending interleave in one loop.
//! A multipart upload that fails for any reason is aborted, so no parts are left behind — unless the caller asked
//! to keep it, to resume it later: a resumed upload lists the parts already stored and sends only those whose
//! size or MD5 differs from the body's. The host hears of each multipart upload as it starts and ends, so an
//! upload cut short by a crash can be found again. An encrypted body is sealed (`encrypted`) as it is read, so
//! everything after reading — one PUT or parts, MD5s, resuming — sees only ciphertext.

use crate::age::stream::Sealer;
use crate::age::Lock;
use crate::base::exchange::{Call, Exchange};
use crate::base::http::{self, Payload};
use crate::base::invalid;
use crate::host::progress;
use crate::s3::addressing;
use crate::s3::client::Client;
use crate::s3::encrypted;
use crate::s3::errors;
use crate::s3::headers::{self, ObjectHeaders};
use crate::s3::multipart;
use crate::s3::part_md5::{self, PartMd5};
use crate::s3::xml;
use crate::spaces::storage::types::Error;
use crate::wasi::io::streams::{InputStream, StreamError};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::collections::VecDeque;
use zeroize::Zeroizing;

/// Largest read from the body stream at a time.
const READ_CHUNK: u64 = 1 << 20;

/// Waits between abort attempts while the store is unreachable or the host's circuit is open (~30 s in all): an
/// upload that failed because the store blipped is usually abortable once it is back, and parts left behind cost
/// storage until the bucket's incomplete-upload cleanup.
const ABORT_WAITS_MS: [u64; 5] = [1_000, 2_000, 4_000, 8_000, 15_000];

/// What to do about an earlier, incomplete multipart upload of the same body, and about this one if it fails.
#[derive(Default)]
pub(crate) struct Continuation<'a> {
    /// The upload to go on with.
    pub resume: Option<Resume<'a>>,
    /// On failure, leave the multipart upload in place instead of aborting it.
    pub keep_partial: bool,
    /// Encrypt the body on its way: what it is encrypted to.
    pub seal: Option<&'a Lock>,
}

/// An earlier upload of the same body, as it was announced when it started.
pub(crate) struct Resume<'a> {
    pub upload_id: &'a str,
    pub part_size: u64,
    /// The encryption it was made with ([`encrypted::Sealing::state`]).
    pub sealing: Option<&'a [u8]>,
}

/// An upload to go on with: its id, part size, and the parts stored so far by part number less one.
type Resumed = (String, u64, Vec<Option<xml::StoredPart>>);

impl Client {
    /// Stores `body` under `key`; returns the ETag, the bytes stored and the number of parts (0 for one PUT).
    pub(crate) fn put_object(
        &self,
        key: &str,
        body: &InputStream,
        size: Option<u64>,
        h: &ObjectHeaders,
        how: &Continuation,
    ) -> Result<(String, u64, u32), Error> {
        addressing::validate_key(key).map_err(invalid)?;
        let headers = headers::object_headers(h).map_err(invalid)?;
        if let Some(s) = size {
            if s > multipart::MAX_OBJECT {
                return Err(invalid(format!("{s} bytes exceeds the 5 TiB object limit")));
            }
        }
        let mut source = Source { stream: body, carry: VecDeque::new(), sealer: None, sealing: None };
        let size = match how.seal {
            Some(lock) => {
                let s = encrypted::seal(lock, how.resume.as_ref().and_then(|r| r.sealing));
                let sealed = size.map(|n| encrypted::sealed_size(s.lead.len(), n));
                source =
                    Source { stream: body, carry: VecDeque::from([s.lead]), sealer: Some(s.sealer), sealing: s.state };
                sealed
            }
            None => size,
        };
        let (first, mut eof) = source.fill(self.multipart_threshold)?;
        if !eof && size == Some(first.len() as u64) {
            eof = source.at_end()?;
        }
        if eof {
            check_size(size, first.len() as u64)?;
            let len = first.len() as u64;
            let etag = self.put_single(key, first, headers)?;
            progress::advanced(len);
            if let Some(stale) = &how.resume {
                // The body became small enough for one PUT: the upload it had begun is of no further use.
                let _ = self.abort_upload(key, stale.upload_id);
            }
            return Ok((etag, len, 0));
        }
        for chunk in first.into_chunks().into_iter().rev() {
            source.carry.push_front(chunk);
        }
        self.put_multipart(key, source, size, headers, how)
    }

    fn put_single(&self, key: &str, data: Payload, mut headers: Vec<(String, String)>) -> Result<String, Error> {
        let md5 = part_md5::of(&data);
        headers.push(("content-md5".into(), B64.encode(md5)));
        let call = Call { body: data, headers, ..self.object_call("put-object", "PUT", key) };
        let resp = self.execute(call)?;
        check_etag(resp.header("etag"), &md5, key)
    }

    fn put_multipart(
        &self,
        key: &str,
        source: Source,
        size: Option<u64>,
        mut headers: Vec<(String, String)>,
        how: &Continuation,
    ) -> Result<(String, u64, u32), Error> {
        let resumed = match &how.resume {
            Some(r) => self.resumable(key, r.upload_id, r.part_size, size)?,
            None => None,
        };
        let (upload_id, part_size, stored) = match resumed {
            Some(found) => found,
            None => {
                let part_size = multipart::part_size(size, self.part_size).map_err(invalid)?;
                let meta = format!("x-amz-meta-{}", multipart::PART_SIZE_META);
                if !headers.iter().any(|(name, _)| *name == meta) {
                    headers.push((meta, part_size.to_string()));
                }
                (self.create_upload(key, headers)?, part_size, Vec::new())
            }
        };
        progress::upload_started(&upload_id, part_size, source.sealing.as_ref().map(|s| s.as_slice()));
        let upload =
            MultipartUpload { client: self, key, upload_id: &upload_id, part_size: part_size as usize, stored };
        match upload.run(source, size) {
            Ok(done) => {
                progress::upload_ended(&upload_id);
                Ok(done)
            }
            Err(e) if how.keep_partial => Err(errors::with_note(
                e,
                &format!("; multipart upload {upload_id} was kept, so uploading the same file again resumes it"),
            )),
            Err(e) => Err(self.abort_after(key, &upload_id, e)),
        }
    }

    fn create_upload(&self, key: &str, headers: Vec<(String, String)>) -> Result<String, Error> {
        let initiate = Call {
            query: vec![("uploads".into(), String::new())],
            headers,
            ..self.object_call("create-multipart-upload", "POST", key)
        };
        let answer = self.execute_xml(initiate)?;
        xml::parse_initiate_multipart(&answer).map_err(|e| self.xml_error("create-multipart-upload", Some(key), e))
    }

    /// The upload `upload_id` with its stored parts, if it can be resumed for a body of `size` in parts of
    /// `part_size`; `None` (after aborting it, if it still exists) if not.
    fn resumable(
        &self,
        key: &str,
        upload_id: &str,
        part_size: u64,
        size: Option<u64>,
    ) -> Result<Option<Resumed>, Error> {
        let fits = multipart::validate("part size", part_size).is_ok()
            && size.is_none_or(|s| s.div_ceil(part_size) <= multipart::MAX_PARTS);
        if !fits {
            self.abort_upload(key, upload_id)?;
            return Ok(None);
        }
        let mut stored: Vec<Option<xml::StoredPart>> = Vec::new();
        let mut marker = None;
        loop {
            let mut query = vec![("uploadId".into(), upload_id.to_string())];
            if let Some(m) = marker {
                query.push(("part-number-marker".into(), format!("{m}")));
            }
            let call = Call { query, ..self.object_call("list-parts", "GET", key) };
            let page = match self.execute_xml(call) {
                Ok(answer) => xml::parse_parts(&answer).map_err(|e| self.xml_error("list-parts", Some(key), e))?,
                Err(Error::NotFound(_)) => {
                    progress::upload_ended(upload_id);
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            for part in page.parts {
                let Some(index) = (part.part_number as usize).checked_sub(1) else { continue };
                if index >= stored.len() {
                    stored.resize(index + 1, None);
                }
                stored[index] = Some(part);
            }
            match page.next_marker {
                Some(m) => marker = Some(m),
                None => return Ok(Some((upload_id.to_string(), part_size, stored))),
            }
        }
    }

    /// Aborts the multipart upload `upload_id` of `key`; one already gone counts as aborted.
    pub(crate) fn abort_upload(&self, key: &str, upload_id: &str) -> Result<(), Error> {
        addressing::validate_key(key).map_err(invalid)?;
        match self.execute(self.abort_call(key, upload_id)) {
            Ok(_) | Err(Error::NotFound(_)) => {
                progress::upload_ended(upload_id);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn abort_call<'a>(&self, key: &'a str, upload_id: &str) -> Call<'a> {
        Call {
            query: vec![("uploadId".into(), upload_id.into())],
            ..self.object_call("abort-multipart-upload", "DELETE", key)
        }
    }

    /// Aborts the upload after `cause`, and says in the error whether the abort worked.
    fn abort_after(&self, key: &str, upload_id: &str, cause: Error) -> Error {
        let mut waits = ABORT_WAITS_MS.iter();
        let outcome = loop {
            let r = self.execute(self.abort_call(key, upload_id));
            let unreachable = matches!(
                r,
                Err(Error::CircuitOpen(_) | Error::Unavailable(_) | Error::Transport(_) | Error::Timeout(_))
            );
            match waits.next() {
                Some(ms) if unreachable => http::wait_any(&[http::alarm_at_ms(http::monotonic_ms() + ms)]),
                _ => break r,
            }
        };
        match outcome {
            Ok(_) | Err(Error::NotFound(_)) => {
                progress::upload_ended(upload_id);
                cause
            }
            Err(abort) => errors::with_note(
                cause,
                &format!(
                    "; aborting multipart upload {upload_id} also failed ({abort:?}), so its parts remain until \
                     `spaces uploads abort` or the bucket's incomplete-upload cleanup removes them"
                ),
            ),
        }
    }
}

/// One multipart upload after CreateMultipartUpload succeeded.
struct MultipartUpload<'a> {
    client: &'a Client,
    key: &'a str,
    upload_id: &'a str,
    part_size: usize,
    /// Parts an earlier run stored, by part number less one; each is kept if it matches the body.
    stored: Vec<Option<xml::StoredPart>>,
}

/// A part read and not yet settled: held until its MD5 is in, or on the wire until both the server's answer and
/// the part's MD5 are in.
struct PartInFlight<'a> {
    /// Zero-based; the part number is one more.
    index: usize,
    wire: Wire<'a>,
    /// Bytes of this part already reported as progress: a retry reports only what goes beyond them.
    reported: u64,
    md5: PartMd5,
    /// The ETag the server answered, once it did.
    answer: Option<String>,
}

/// Whether a part has been sent.
enum Wire<'a> {
    /// Its MD5 comes first: it decides whether the part is sent at all (an earlier run may have stored these
    /// bytes), or it must travel with the part (the transport does not shield the body). Held parts are hashed in
    /// the lanes beside each other and the parts on the wire, so a resumed upload checks its stored parts four at
    /// a time rather than one by one.
    Held(Call<'a>),
    Sent(Exchange<'a>),
}

impl Wire<'_> {
    fn body(&self) -> &Payload {
        match self {
            Wire::Held(call) => &call.body,
            Wire::Sent(exchange) => exchange.body(),
        }
    }
}

impl PartInFlight<'_> {
    /// Reports the part's bytes sent since the last report (all of them once `done`).
    fn report(&mut self, done: bool) {
        let Wire::Sent(exchange) = &self.wire else { return };
        let sent = if done { exchange.body_len() } else { exchange.body_written() };
        if sent > self.reported {
            progress::advanced(sent - self.reported);
            self.reported = sent;
        }
    }
}

/// The parts done so far, by part number less one: each one's MD5 and the ETag to complete with.
#[derive(Default)]
struct Settled {
    digests: Vec<[u8; 16]>,
    etags: Vec<String>,
}

impl<'a> MultipartUpload<'a> {
    /// Uploads every part (up to the configured number at once) and completes the upload.
    fn run(&self, mut source: Source, size: Option<u64>) -> Result<(String, u64, u32), Error> {
        let concurrency = self.client.concurrency as usize;
        let mut in_flight: Vec<PartInFlight> = Vec::with_capacity(concurrency);
        let mut settled = Settled::default();
        let mut filling = Payload::default();
        let mut total = 0u64;
        let mut input_done = false;
        loop {
            self.settle(&mut in_flight, &mut settled)?;
            let mut awaiting_input = false;
            if !input_done && in_flight.len() < concurrency {
                match source.read((self.part_size - filling.len()) as u64)? {
                    Some(chunk) if !chunk.is_empty() => filling.push(chunk),
                    Some(_) => awaiting_input = true,
                    None => input_done = true,
                }
                if filling.len() == self.part_size || (input_done && !filling.is_empty()) {
                    let data = std::mem::take(&mut filling);
                    total += data.len() as u64;
                    if size.is_some_and(|s| total > s) {
                        return Err(grew());
                    }
                    in_flight.push(self.start_part(data, &mut settled)?);
                }
                if !awaiting_input {
                    continue;
                }
            }
            // Here every slot is taken, the input ended, or it is awaited. A part whose MD5 is all that holds it
            // up (an answer waiting on it, or a held part) is needed now: such parts go first into the lanes, so
            // their slots free soonest, with whatever else is pending. Otherwise the lanes wait to be full.
            let waits_on_md5 = |p: &PartInFlight| p.answer.is_some() || matches!(p.wire, Wire::Held(_));
            let urgent = in_flight.iter().any(waits_on_md5);
            if urgent {
                in_flight.sort_by_key(|p| !waits_on_md5(p));
            }
            let wanted = if input_done || urgent { 1 } else { concurrency.min(md5_lanes::LANES) };
            if part_md5::step(in_flight.iter_mut().map(|p| (&mut p.md5, p.wire.body())), wanted) {
                continue;
            }
            if input_done && in_flight.is_empty() {
                break;
            }
            let mut pollables: Vec<_> = in_flight
                .iter()
                .flat_map(|p| match &p.wire {
                    Wire::Sent(exchange) => exchange.pollables(),
                    Wire::Held(_) => Vec::new(),
                })
                .collect();
            if awaiting_input {
                pollables.push(source.stream.subscribe());
            }
            http::wait_any(&pollables);
        }
        check_size(size, total)?;
        self.complete(&settled, total)
    }

    /// Moves every part on the wire along; a part whose answer and MD5 are both in is checked and settled. A held
    /// part whose MD5 is in is settled if an earlier run stored it, and sent otherwise.
    fn settle(&self, in_flight: &mut Vec<PartInFlight<'a>>, settled: &mut Settled) -> Result<(), Error> {
        let mut i = 0;
        while i < in_flight.len() {
            let part = &mut in_flight[i];
            let len = part.wire.body().len();
            match &mut part.wire {
                Wire::Held(_) => {
                    let Some(md5) = part.md5.digest(len) else {
                        i += 1;
                        continue;
                    };
                    let held = in_flight.swap_remove(i);
                    if let Some(kept) = self.kept(held.index, len as u64, &md5) {
                        settled.etags[held.index] = kept;
                        settled.digests[held.index] = md5;
                        progress::advanced(len as u64);
                    } else if let Wire::Held(mut call) = held.wire {
                        call.headers.push(("content-md5".into(), B64.encode(md5)));
                        let wire = Wire::Sent(Exchange::new(call));
                        in_flight.push(PartInFlight { wire, md5: PartMd5::Known(md5), ..held });
                    }
                    continue;
                }
                Wire::Sent(exchange) if part.answer.is_none() => match self.client.advance(exchange) {
                    None => part.report(false),
                    Some(outcome) => {
                        part.answer = Some(outcome?.header("etag").unwrap_or_default().to_string());
                        part.report(true);
                    }
                },
                Wire::Sent(_) => {}
            }
            match (&part.answer, part.md5.digest(len)) {
                (Some(answer), Some(md5)) => {
                    settled.etags[part.index] = check_etag(Some(answer), &md5, self.key)?;
                    settled.digests[part.index] = md5;
                    in_flight.swap_remove(i);
                }
                _ => i += 1,
            }
        }
        Ok(())
    }

    /// The next part, held for its MD5 if that decides whether to send it or must travel with it, else sent.
    fn start_part(&self, data: Payload, settled: &mut Settled) -> Result<PartInFlight<'a>, Error> {
        let index = settled.etags.len();
        if index as u64 == multipart::MAX_PARTS {
            return Err(invalid(format!(
                "the body needs more than 10,000 parts of {} bytes; raise the part size",
                self.part_size
            )));
        }
        settled.etags.push(String::new());
        settled.digests.push([0; 16]);
        let mut call = self.part_call(index, data);
        let stored = matches!(self.stored.get(index), Some(Some(_)));
        let wire = if stored || !call.target.shields_body() {
            Wire::Held(call)
        } else {
            call.etag_checked = true;
            Wire::Sent(Exchange::new(call))
        };
        Ok(PartInFlight { index, wire, reported: 0, md5: PartMd5::new(), answer: None })
    }

    /// The ETag of part `index` if an earlier run stored exactly these bytes there.
    fn kept(&self, index: usize, len: u64, md5: &[u8; 16]) -> Option<String> {
        let stored = self.stored.get(index)?.as_ref()?;
        (stored.size == len && stored.etag == crate::base::encode::hex(md5)).then(|| stored.etag.clone())
    }

    fn part_call(&self, index: usize, data: Payload) -> Call<'a> {
        Call {
            query: vec![("partNumber".into(), (index + 1).to_string()), ("uploadId".into(), self.upload_id.into())],
            body: data,
            ..self.client.object_call("upload-part", "PUT", self.key)
        }
    }

    fn complete(&self, settled: &Settled, total: u64) -> Result<(String, u64, u32), Error> {
        let Settled { digests, etags } = settled;
        let call = Call {
            query: vec![("uploadId".into(), self.upload_id.into())],
            body: xml::complete_multipart_body(etags).into_bytes().into(),
            ..self.client.object_call("complete-multipart-upload", "POST", self.key)
        };
        let answer = self.client.execute_xml(call)?;
        let etag = xml::parse_complete_multipart(&answer)
            .map_err(|e| self.client.xml_error("complete-multipart-upload", Some(self.key), e))?;
        // The object's ETag is the MD5 of the parts' MD5s, then "-N": a check on the whole upload. Ceph RGW 16
        // answers an empty ETag here; the computed one stands in for it.
        let expected = multipart::multipart_etag(digests);
        if !etag.is_empty() && etag != expected {
            return Err(Error::Integrity(format!(
                "server ETag {etag:?} for {:?} does not match the parts sent ({expected})",
                self.key
            )));
        }
        Ok((expected, total, etags.len() as u32))
    }
}

/// The upload body: chunks already read while choosing between one PUT and multipart come first, then the stream —
/// through the sealer, when the body is being encrypted.
struct Source<'s> {
    stream: &'s InputStream,
    carry: VecDeque<Vec<u8>>,
    /// Until the stream ends; then it seals the last chunk and is gone.
    sealer: Option<Sealer>,
    /// What a resumed upload needs to seal the body the same way again ([`encrypted::Sealing::state`]).
    sealing: Option<Zeroizing<Vec<u8>>>,
}

impl Source<'_> {
    /// Up to `max` bytes without waiting: empty when none are ready yet, `None` at the end of the body.
    fn read(&mut self, max: u64) -> Result<Option<Vec<u8>>, Error> {
        let max = max.min(READ_CHUNK) as usize;
        let mut chunk = match self.carry.pop_front() {
            Some(chunk) => chunk,
            None => match (self.stream.read(max as u64), self.sealer.take()) {
                (Ok(plain), Some(mut sealer)) => {
                    let mut sealed = Vec::with_capacity(plain.len() + plain.len() / 4096);
                    sealer.push(&plain, &mut sealed);
                    self.sealer = Some(sealer);
                    sealed
                }
                (Ok(chunk), None) => chunk,
                (Err(StreamError::Closed), Some(sealer)) => {
                    let mut sealed = Vec::new();
                    sealer.finish(&mut sealed);
                    sealed
                }
                (Err(StreamError::Closed), None) => return Ok(None),
                (Err(StreamError::LastOperationFailed(e)), _) => return Err(read_failed(&e.to_debug_string())),
            },
        };
        if chunk.len() > max {
            self.carry.push_front(chunk.split_off(max));
        }
        Ok(Some(chunk))
    }

    /// Reads up to `n` bytes, waiting for them; the flag is true when the body ended first.
    fn fill(&mut self, n: u64) -> Result<(Payload, bool), Error> {
        let mut buf = Payload::default();
        while (buf.len() as u64) < n {
            match self.read(n - buf.len() as u64)? {
                Some(chunk) if chunk.is_empty() => self.stream.subscribe().block(),
                Some(chunk) => buf.push(chunk),
                None => return Ok((buf, true)),
            }
        }
        Ok((buf, false))
    }

    /// True when nothing follows; an error when the body turns out longer than declared.
    fn at_end(&mut self) -> Result<bool, Error> {
        let (extra, eof) = self.fill(1)?;
        if extra.is_empty() && eof {
            Ok(true)
        } else {
            Err(grew())
        }
    }
}

fn read_failed(detail: &str) -> Error {
    invalid(format!("reading the upload body failed: {detail}"))
}

fn grew() -> Error {
    Error::Integrity("the body is longer than its declared size (did the file grow during upload?)".into())
}

fn check_size(declared: Option<u64>, read: u64) -> Result<(), Error> {
    match declared {
        Some(s) if s != read => Err(Error::Integrity(format!(
            "the body ended after {read} of {s} declared bytes (did the file change during upload?)"
        ))),
        _ => Ok(()),
    }
}

/// A single PUT's or a part's ETag is the MD5 of its bytes: a mismatch means the server stored something else.
fn check_etag(etag: Option<&str>, md5: &[u8], key: &str) -> Result<String, Error> {
    let etag = xml::unquote_etag(etag.unwrap_or_default());
    let expected = crate::base::encode::hex(md5);
    if etag == expected {
        Ok(etag)
    } else {
        Err(Error::Integrity(format!("server ETag {etag:?} for {key:?} is not the MD5 of the bytes sent ({expected})")))
    }
}
