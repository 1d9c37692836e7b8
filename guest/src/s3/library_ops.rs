//! The S3 calls only the library build offers: the ETag of a local body, and proving that a new key works by
//! signing with it instead of the host's credentials.

use super::client::Client;
use crate::base::exchange::{self, Call, Refusal, Service};
use crate::base::http::{self, Response};
use crate::base::invalid;
use crate::base::retry::Policy;
use crate::host::credentials;
use crate::s3::multipart::EtagHasher;
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

impl Client {
    /// Latency in microseconds of one ListBuckets signed with `creds`: it needs no permission on any bucket,
    /// so it proves that the key itself is known and its secret right.
    pub(crate) fn verify_credentials(&self, creds: credentials::Credentials) -> Result<u64, Error> {
        let started = http::monotonic_us();
        let call = Call { target: self.addressing.service_target(), ..self.bucket_call("verify-credentials", "GET") };
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
