//! The S3 calls only the library build offers (the edge's HTTP API has no use for them): server-side copy,
//! listing incomplete multipart uploads, the ETag of a local body, and proving that a new key works by signing
//! with it instead of the host's credentials.

use super::client::Client;
use crate::base::encode::uri_encode;
use crate::base::exchange::{self, Call, Refusal, Service};
use crate::base::http::{self, Response};
use crate::base::invalid;
use crate::base::retry::Policy;
use crate::base::target::Target;
use crate::host::credentials;
use crate::s3::errors::Subject;
use crate::s3::multipart::EtagHasher;
use crate::s3::{addressing, xml};
use crate::spaces::storage::types::Error;
use crate::wasi::io::streams::{InputStream, StreamError};

/// The S3 client signing with credentials other than the host's: to prove that a new key works.
pub(crate) struct SignedWith<'a> {
    pub client: &'a Client,
    pub creds: credentials::Credentials,
}

impl Service for SignedWith<'_> {
    fn retry_policy(&self) -> &Policy {
        &self.client.retry
    }

    fn authorize(&self, call: &Call, headers: &mut Vec<(String, String)>) -> Result<String, Error> {
        Ok(self.client.sign_call(&self.creds, call, headers))
    }

    fn refusal(&self, call: &Call, resp: Response) -> Refusal {
        self.client.refusal(call, resp)
    }
}

/// Incomplete uploads listed per request (S3's most).
const UPLOADS_PER_PAGE: &str = "1000";

impl Client {
    /// Copies `src` of `src_bucket` (this bucket or another at the same endpoint) to `dst` here.
    pub(crate) fn copy_object(&self, src_bucket: &str, src: &str, dst: &str) -> Result<String, Error> {
        addressing::validate_bucket(src_bucket).map_err(invalid)?;
        addressing::validate_key(src).map_err(invalid)?;
        addressing::validate_key(dst).map_err(invalid)?;
        let source = format!("/{src_bucket}/{}", uri_encode(src, true));
        let mut call = self.object_call("copy-object", "PUT", dst);
        call.headers.push(("x-amz-copy-source".into(), source));
        let answer = self.execute_xml(call).map_err(|e| match e {
            Error::NotFound(_) => {
                let subject = Subject { bucket: src_bucket, key: Some(src) };
                Error::NotFound(format!("copy source {subject} not found"))
            }
            other => other,
        })?;
        xml::parse_copy_result(&answer).map_err(|e| self.xml_error("copy-object", Some(dst), e))
    }

    /// Every incomplete multipart upload under `prefix`, in key order.
    pub(crate) fn list_uploads(&self, prefix: Option<&str>) -> Result<Vec<xml::PendingUpload>, Error> {
        let mut all = Vec::new();
        let mut next: Option<(String, String)> = None;
        loop {
            let mut query = vec![("uploads".into(), String::new()), ("max-uploads".into(), UPLOADS_PER_PAGE.into())];
            if let Some(p) = prefix.filter(|p| !p.is_empty()) {
                query.push(("prefix".into(), p.to_string()));
            }
            if let Some((key, id)) = next.take() {
                query.push(("key-marker".into(), key));
                query.push(("upload-id-marker".into(), id));
            }
            let call = Call { query, ..self.bucket_call("list-multipart-uploads", "GET") };
            let answer = self.execute_xml(call)?;
            let page = xml::parse_uploads(&answer).map_err(|e| self.xml_error("list-multipart-uploads", None, e))?;
            all.extend(page.uploads);
            match page.next {
                Some(n) => next = Some(n),
                None => return Ok(all),
            }
        }
    }

    /// Latency in microseconds of one ListBuckets signed with `creds`: it needs no permission on any bucket,
    /// so it proves that the key itself is known and its secret right.
    pub(crate) fn verify_credentials(&self, creds: credentials::Credentials) -> Result<u64, Error> {
        let started = http::monotonic_us();
        let endpoint = &self.addressing.endpoint;
        let target = Target { scheme: endpoint.scheme, host: endpoint.host.clone(), path: "/".into() };
        let call = Call { target, ..self.bucket_call("verify-credentials", "GET") };
        exchange::execute(&SignedWith { client: self, creds }, call)?;
        Ok(http::monotonic_us().saturating_sub(started))
    }
}

/// The ETag an upload of everything `body` holds would get (see [`EtagHasher`]).
pub(crate) fn content_etag(body: &InputStream, part_size: Option<u64>) -> Result<String, Error> {
    if let Some(p) = part_size {
        crate::s3::multipart::validate("part size", p).map_err(invalid)?;
    }
    let mut hasher = EtagHasher::new(part_size);
    loop {
        match body.blocking_read(1 << 20) {
            Ok(chunk) => hasher.update(&chunk),
            Err(StreamError::Closed) => return Ok(hasher.finish()),
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(invalid(format!("reading the body failed: {}", e.to_debug_string())))
            }
        }
    }
}
