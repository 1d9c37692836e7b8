//! S3 operations on one bucket: each builds a [`Call`] from the pure modules, runs it through
//! [`Client::execute`] (signing, retries, metrics: the one place for those, in `exchange`) and reads the answer.
//! Uploads live in `upload`; downloads, metadata, listings, batch delete and URLs here.

use crate::base::encode::UtcTime;
use crate::base::exchange::Call;
use crate::base::http::{self, Body, Payload, Response, SpliceEnd};
use crate::base::invalid;
use crate::base::retry::Policy;
use crate::base::target::Target;
use crate::host::credentials;
use crate::host::progress;
use crate::s3::addressing::{self, Addressing};
use crate::s3::encrypted::Opening;
use crate::s3::errors::{self, Subject};
use crate::s3::headers;
use crate::s3::multipart;
use crate::s3::sigv4::{Credentials, Scope, SignableRequest, Signer};
use crate::s3::xml::{self, Listing, XmlError};
use crate::spaces::storage::types::{AddressingStyle, Config, Error, ObjectMeta};
use crate::wasi::io::streams::OutputStream;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A response's headers, names in lower case.
type Headers = Vec<(String, String)>;

/// XML answers are small; anything larger is a fault, not a listing.
const MAX_XML_BODY: usize = 16 << 20;
pub(crate) const MAX_PRESIGN_SECONDS: u32 = 604_800;

pub(crate) struct Client {
    pub(crate) addressing: Addressing,
    pub(crate) region: String,
    cdn_host: String,
    pub(crate) retry: Policy,
    pub(crate) multipart_threshold: u64,
    pub(crate) part_size: u64,
    /// Parts of one multipart upload in flight at once.
    pub(crate) concurrency: u32,
    pub(crate) signer: RefCell<Signer>,
}

impl Client {
    pub(crate) fn new(cfg: &Config) -> Result<Self, Error> {
        addressing::validate_region(&cfg.region).map_err(invalid)?;
        addressing::validate_bucket(&cfg.bucket).map_err(invalid)?;
        let endpoint_url = cfg.endpoint.clone().unwrap_or_else(|| addressing::region_endpoint(&cfg.region));
        let endpoint = addressing::parse_endpoint(&endpoint_url).map_err(invalid)?;
        let retry = Policy::from_config(cfg.retry.as_ref(), Policy::default()).map_err(invalid)?;
        let multipart_threshold = cfg.multipart_threshold.unwrap_or(multipart::DEFAULT_THRESHOLD);
        multipart::validate("multipart threshold", multipart_threshold).map_err(invalid)?;
        let part_size = cfg.part_size.unwrap_or(multipart::DEFAULT_PART);
        multipart::validate("part size", part_size).map_err(invalid)?;
        let concurrency = cfg.concurrency.unwrap_or(multipart::DEFAULT_CONCURRENCY);
        multipart::validate_concurrency(concurrency).map_err(invalid)?;
        let cdn_host = match &cfg.cdn_host {
            Some(h) => addressing::parse_endpoint(&format!("https://{h}")).map_err(invalid)?.host,
            None => addressing::default_cdn_host(&cfg.bucket, &cfg.region),
        };
        Ok(Client {
            addressing: Addressing::new(endpoint, &cfg.bucket, cfg.addressing == AddressingStyle::Path),
            region: cfg.region.clone(),
            cdn_host,
            retry,
            multipart_threshold,
            part_size,
            concurrency,
            signer: RefCell::new(Signer::default()),
        })
    }

    pub(crate) fn subject<'a>(&'a self, key: Option<&'a str>) -> Subject<'a> {
        Subject { bucket: &self.addressing.bucket, key }
    }

    pub(crate) fn object_call<'a>(&self, operation: &'static str, method: &'static str, key: &'a str) -> Call<'a> {
        Call {
            operation,
            method,
            target: self.addressing.object_target(key),
            query: Vec::new(),
            headers: Vec::new(),
            body: Payload::default(),
            key: Some(key),
            etag_checked: false,
        }
    }

    /// A call on the bucket itself (a listing, a batch, a health check), with nothing added yet.
    pub(crate) fn bucket_call<'a>(&self, operation: &'static str, method: &'static str) -> Call<'a> {
        Call {
            operation,
            method,
            target: self.addressing.bucket_target(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Payload::default(),
            key: None,
            etag_checked: false,
        }
    }

    /// Runs a call whose answer is an XML document and reads it.
    pub(crate) fn execute_xml(&self, call: Call) -> Result<Vec<u8>, Error> {
        let operation = call.operation;
        let resp = self.execute(call)?;
        resp.read_body(MAX_XML_BODY).map_err(|m| Error::Transport(format!("{operation} answer: {m}")))
    }

    pub(crate) fn xml_error(&self, operation: &str, key: Option<&str>, e: XmlError) -> Error {
        match e {
            XmlError::Service(s3) => errors::from_status(500, Some(s3), None, &self.subject(key), None),
            XmlError::Malformed(m) => Error::Transport(format!("malformed {operation} answer from the server: {m}")),
        }
    }

    // ---- downloads and metadata ----

    /// A GET of `key`; `conditions` are `If-Match` / `If-None-Match` header values, sent as given.
    pub(crate) fn get_response(
        &self,
        key: &str,
        range: Option<(u64, Option<u64>)>,
        conditions: Conditions,
    ) -> Result<Response, Error> {
        let mut call = self.object_call("get-object", "GET", key);
        if let Some((first, last)) = range {
            let last = last.map(|l| l.to_string()).unwrap_or_default();
            call.headers.push(("range".into(), format!("bytes={first}-{last}")));
        }
        for (name, value) in [("if-match", conditions.if_match), ("if-none-match", conditions.if_none_match)] {
            if let Some(v) = value {
                call.headers.push((name.into(), v.to_string()));
            }
        }
        if let Some(v) = conditions.version_id {
            call.query.push(("versionId".into(), v.to_string()));
        }
        self.execute(call)
    }

    pub(crate) fn get_object(
        self: &Rc<Self>,
        key: &str,
        range: Option<(u64, Option<u64>)>,
        conditions: Conditions,
    ) -> Result<Download, Error> {
        check_get(key, range, &conditions)?;
        let resp = self.get_response(key, range, conditions)?;
        let meta = headers::object_meta(key, &resp.headers)
            .ok_or_else(|| Error::Transport("GET answer lacks Content-Length or ETag".into()))?;
        let first = if resp.status == 206 { range.map_or(0, |r| r.0) } else { 0 };
        let body = resp.into_body().map_err(Error::Transport)?;
        Ok(Download {
            client: Rc::clone(self),
            key: key.to_string(),
            version_id: conditions.version_id.map(String::from),
            first,
            wire: meta.size,
            meta,
            body: RefCell::new(Some(body)),
            written: Cell::new(0),
            opening: RefCell::new(None),
        })
    }

    /// A download of `wire` bytes of `key` from offset `first` whose body is `body` (or, when `None`, is entirely
    /// in `opening` already), decrypted by `opening`; `meta` describes the plaintext.
    pub(crate) fn opened_download(
        self: &Rc<Self>,
        meta: ObjectMeta,
        version_id: Option<&str>,
        (first, wire): (u64, u64),
        body: Option<Body>,
        opening: Opening,
    ) -> Download {
        let written = if body.is_some() { 0 } else { wire };
        Download {
            client: Rc::clone(self),
            key: meta.key.clone(),
            version_id: version_id.map(String::from),
            first,
            wire,
            meta,
            body: RefCell::new(body),
            written: Cell::new(written),
            opening: RefCell::new(Some(opening)),
        }
    }

    /// A ranged GET of `key` read whole (at most `limit` bytes): the answer's headers and body.
    pub(crate) fn get_bytes(
        &self,
        key: &str,
        range: (u64, Option<u64>),
        conditions: Conditions,
        limit: usize,
    ) -> Result<(Headers, Vec<u8>), Error> {
        let resp = self.get_response(key, Some(range), conditions)?;
        let headers = resp.headers.clone();
        let bytes = resp.read_body(limit).map_err(|m| Error::Transport(format!("{key:?}: {m}")))?;
        Ok((headers, bytes))
    }

    pub(crate) fn head_object(&self, key: &str) -> Result<ObjectMeta, Error> {
        addressing::validate_key(key).map_err(invalid)?;
        let resp = self.execute(self.object_call("head-object", "HEAD", key))?;
        headers::object_meta(key, &resp.headers)
            .ok_or_else(|| Error::Transport("HEAD answer lacks Content-Length or ETag".into()))
    }

    pub(crate) fn delete_object(&self, key: &str) -> Result<(), Error> {
        addressing::validate_key(key).map_err(invalid)?;
        self.execute(self.object_call("delete-object", "DELETE", key)).map(drop)
    }

    /// Deletes `keys` in requests of at most 1000; returns the keys the service refused to delete.
    pub(crate) fn delete_objects(&self, keys: &[String]) -> Result<Vec<xml::DeleteError>, Error> {
        for key in keys {
            addressing::validate_key(key).map_err(invalid)?;
        }
        let mut failures = Vec::new();
        for batch in keys.chunks(xml::MAX_DELETE_KEYS) {
            failures.extend(self.delete_batch(xml::delete_objects_body(batch))?);
        }
        Ok(failures)
    }

    /// One DeleteObjects request with `body`; the keys it refused.
    pub(crate) fn delete_batch(&self, body: String) -> Result<Vec<xml::DeleteError>, Error> {
        let call = Call {
            query: vec![("delete".into(), String::new())],
            // DeleteObjects requires an integrity header.
            headers: vec![("content-md5".into(), B64.encode(md5_lanes::digest(body.as_bytes())))],
            body: body.into_bytes().into(),
            ..self.bucket_call("delete-objects", "POST")
        };
        let answer = self.execute_xml(call)?;
        xml::parse_delete_result(&answer).map_err(|e| self.xml_error("delete-objects", None, e))
    }

    pub(crate) fn list_objects(
        &self,
        prefix: Option<&str>,
        delimiter: Option<&str>,
        continuation: Option<&str>,
        max_keys: Option<u32>,
    ) -> Result<Listing, Error> {
        let mut query =
            vec![("list-type".to_string(), "2".to_string()), ("encoding-type".to_string(), "url".to_string())];
        for (name, value) in [("prefix", prefix), ("delimiter", delimiter), ("continuation-token", continuation)] {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                query.push((name.into(), v.into()));
            }
        }
        if let Some(n) = max_keys {
            if !(1..=1000).contains(&n) {
                return Err(invalid(format!("max-keys must be 1..=1000, got {n}")));
            }
            query.push(("max-keys".into(), n.to_string()));
        }
        let call = Call { query, ..self.bucket_call("list-objects", "GET") };
        let answer = self.execute_xml(call)?;
        xml::parse_listing(&answer).map_err(|e| self.xml_error("list-objects", None, e))
    }

    /// Latency in microseconds of one signed HEAD of the bucket.
    pub(crate) fn health(&self) -> Result<u64, Error> {
        let started = http::monotonic_us();
        self.execute(self.bucket_call("health", "HEAD"))?;
        Ok(http::monotonic_us().saturating_sub(started))
    }

    // ---- URLs ----

    pub(crate) fn public_url(&self, key: &str) -> Result<String, Error> {
        addressing::validate_key(key).map_err(invalid)?;
        Ok(self.addressing.object_target(key).url(""))
    }

    pub(crate) fn cdn_url(&self, key: &str) -> Result<String, Error> {
        addressing::validate_key(key).map_err(invalid)?;
        Ok(addressing::cdn_url(&self.cdn_host, key))
    }

    /// A presigned URL and the Unix time it expires, signed with `creds` (from [`Client::credentials`]; a batch
    /// asks the host once).
    pub(crate) fn presign(
        &self,
        creds: &credentials::Credentials,
        key: &str,
        method: &'static str,
        expires: u32,
        signed_headers: &[(String, String)],
    ) -> Result<(String, u64), Error> {
        addressing::validate_key(key).map_err(invalid)?;
        if !(1..=MAX_PRESIGN_SECONDS).contains(&expires) {
            return Err(invalid(format!("expiry must be 1..={MAX_PRESIGN_SECONDS} seconds (7 days), got {expires}")));
        }
        let target = self.addressing.object_target(key);
        let scheme = target.scheme;
        let req = SignableRequest {
            method: method.into(),
            host: target.host,
            path: target.path,
            query: Vec::new(),
            headers: signed_headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect(),
        };
        let now = http::unix_now();
        let scope = Scope { time: UtcTime::from_unix(now), region: &self.region, service: "s3" };
        let c = Credentials {
            access_key_id: &creds.access_key_id,
            secret_access_key: &creds.secret_access_key,
            session_token: creds.session_token.as_deref(),
        };
        let query = self.signer.borrow_mut().presign(&c, &scope, &req, expires);
        let url = Target { scheme, host: req.host, path: req.path }.url(&query);
        Ok((url, now + u64::from(expires)))
    }
}

/// What a GET is pinned to: `If-Match` / `If-None-Match` header values, and one version of the object.
#[derive(Clone, Copy, Default)]
pub(crate) struct Conditions<'a> {
    pub if_match: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    pub version_id: Option<&'a str>,
}

/// Refuses a GET's key, range or conditions before anything is sent.
pub(crate) fn check_get(key: &str, range: Option<(u64, Option<u64>)>, conditions: &Conditions) -> Result<(), Error> {
    addressing::validate_key(key).map_err(invalid)?;
    if let Some((first, Some(last))) = range {
        if last < first {
            return Err(invalid(format!("range {first}-{last} ends before it starts")));
        }
    }
    for v in [conditions.if_match, conditions.if_none_match].into_iter().flatten() {
        if v.is_empty() || v.chars().any(|c| c.is_control()) {
            return Err(invalid(format!("condition {v:?} is not an ETag list")));
        }
    }
    if let Some(v) = conditions.version_id {
        addressing::validate_version_id(v).map_err(invalid)?;
    }
    Ok(())
}

/// A GET whose headers have arrived. The body moves host-side into a sink — or, when it is being decrypted, through
/// the component; a broken connection is resumed with a ranged GET pinned to the same ETag, so a changed object is
/// never spliced together from two versions.
pub(crate) struct Download {
    client: Rc<Client>,
    key: String,
    /// The version asked for, which a resumed GET asks for again.
    version_id: Option<String>,
    /// Offset within the object of the first byte on the wire.
    first: u64,
    /// Bytes expected on the wire from `first` (`meta.size`, unless decrypting).
    wire: u64,
    pub meta: ObjectMeta,
    body: RefCell<Option<Body>>,
    /// Bytes received from the wire so far.
    written: Cell<u64>,
    /// The decryption of the body, when it is being decrypted.
    opening: RefCell<Option<Opening>>,
}

impl Download {
    /// The whole body in memory, for a caller that wants bytes rather than a stream. A connection that breaks
    /// off is an error here; only [`Download::write_to`] resumes.
    #[cfg(feature = "blobstore")]
    pub(crate) fn into_bytes(self) -> Result<Vec<u8>, Error> {
        let expected = self.meta.size;
        let body = self.body.take().ok_or_else(|| Error::Transport("the download was already read".into()))?;
        let limit = usize::try_from(expected).unwrap_or(usize::MAX);
        let bytes = body.read_to_end(limit).map_err(|m| Error::Transport(format!("{:?}: {m}", self.key)))?;
        if bytes.len() as u64 != expected {
            return Err(Error::Integrity(format!(
                "{:?}: received {} bytes, expected {expected}",
                self.key,
                bytes.len()
            )));
        }
        progress::advanced(expected);
        Ok(bytes)
    }

    pub(crate) fn write_to(&self, sink: &OutputStream) -> Result<u64, Error> {
        let expected = self.wire;
        let mut written = self.written.get();
        let mut resumes = 0;
        loop {
            let mut body = match self.body.borrow_mut().take() {
                Some(b) => b,
                None if written == expected => return self.finish(sink),
                None => {
                    let range = (self.first + written, Some(self.first + expected - 1));
                    let pinned = format!("\"{}\"", self.meta.etag);
                    let version_id = self.version_id.as_deref();
                    let conditions = Conditions { if_match: Some(&pinned), if_none_match: None, version_id };
                    let resp = self.client.get_response(&self.key, Some(range), conditions)?;
                    resp.into_body().map_err(Error::Transport)?
                }
            };
            let end = match self.opening.borrow_mut().as_mut() {
                Some(opening) => opening.pump(&body, sink, &mut written)?,
                None => body.splice_into(sink, &mut |n| {
                    written += n;
                    progress::advanced(n);
                }),
            };
            self.written.set(written);
            let broke = match end {
                SpliceEnd::Done if written == expected => return self.finish(sink),
                SpliceEnd::Done if written > expected => {
                    return Err(Error::Integrity(format!(
                        "{:?}: received {written} bytes, expected {expected}",
                        self.key
                    )))
                }
                SpliceEnd::Done => format!("the body ended after {written} of {expected} bytes"),
                SpliceEnd::SinkBroke(m) => {
                    return Err(Error::Transport(format!("writing the download of {:?} failed: {m}", self.key)))
                }
                SpliceEnd::SourceBroke(m) => m,
            };
            drop(body);
            resumes += 1;
            if resumes >= self.client.retry.max_attempts {
                return Err(Error::Integrity(format!(
                    "download of {:?} broke off after {written} of {expected} bytes ({broke}); gave up after \
                        {resumes} resumes",
                    self.key
                )));
            }
        }
    }

    /// Every byte has arrived: the bytes written to the sink (for a decryption, after its last chunk is opened).
    fn finish(&self, sink: &OutputStream) -> Result<u64, Error> {
        match self.opening.borrow_mut().as_mut() {
            Some(opening) => opening.finish(sink).map_err(|m| self.sink_failed(m)),
            None => Ok(self.written.get()),
        }
    }

    fn sink_failed(&self, e: Error) -> Error {
        match e {
            Error::Transport(m) => Error::Transport(format!("writing the download of {:?} failed: {m}", self.key)),
            other => other,
        }
    }
}
