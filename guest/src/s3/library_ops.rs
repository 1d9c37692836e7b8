//! The S3 calls only the library build offers (the edge's HTTP API has no use for them): server-side copy, and
//! proving that a new key works by signing with it instead of the host's credentials.

use super::client::Client;
use crate::base::encode::uri_encode;
use crate::base::exchange::{self, Call, Refusal, Service};
use crate::base::http::{self, Response};
use crate::base::invalid;
use crate::base::retry::Policy;
use crate::base::target::Target;
use crate::host::credentials;
use crate::s3::{addressing, xml};
use crate::spaces::storage::types::Error;

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
    pub(crate) fn copy_object(&self, src: &str, dst: &str) -> Result<String, Error> {
        addressing::validate_key(src).map_err(invalid)?;
        addressing::validate_key(dst).map_err(invalid)?;
        let source = format!("/{}/{}", self.addressing.bucket, uri_encode(src, true));
        let mut call = self.object_call("copy-object", "PUT", dst);
        call.headers.push(("x-amz-copy-source".into(), source));
        let answer = self.execute_xml(call).map_err(|e| match e {
            Error::NotFound(_) => Error::NotFound(format!("copy source {} not found", self.subject(Some(src)))),
            other => other,
        })?;
        xml::parse_copy_result(&answer).map_err(|e| self.xml_error("copy-object", Some(dst), e))
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
