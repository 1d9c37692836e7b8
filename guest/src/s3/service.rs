//! How the S3 client takes part in the exchange loop: SigV4 in the headers (with the host's credentials, or
//! others to prove a new key), and refusals read from S3's XML error document.

use super::client::Client;
use super::errors;
use super::sigv4::{self, Credentials, Scope, SignableRequest, UNSIGNED_PAYLOAD};
use super::xml;
use crate::base::encode::UtcTime;
use crate::base::exchange::{self, Call, Exchange, Refusal, Service};
use crate::base::http::{self, Response};
use crate::base::retry::{self, Policy};
use crate::host::credentials;
use crate::spaces::storage::types::Error;

/// SHA-256 of the empty payload.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// S3: SigV4 in the headers, errors from the S3 XML error document.
impl Service for Client {
    fn retry_policy(&self) -> &Policy {
        &self.retry
    }

    fn authorize(&self, call: &Call, headers: &mut Vec<(String, String)>) -> Result<String, Error> {
        Ok(self.sign_call(&Self::credentials()?, call, headers))
    }

    fn refusal(&self, call: &Call, resp: Response) -> Refusal {
        let status = resp.status;
        let request_id = resp.header("x-amz-request-id").map(String::from);
        let wait_ms = resp.header("retry-after").and_then(retry::parse_retry_after);
        let body = if call.method == "HEAD" { Vec::new() } else { resp.read_body(64 << 10).unwrap_or_default() };
        let s3 = xml::parse_error(&body).ok();
        let retryable = retry::is_retryable(status, s3.as_ref().map(|e| e.code.as_str()));
        let retry_after_s = wait_ms.map(|ms| (ms / 1000) as u32);
        let error = errors::from_status(status, s3, request_id, &self.subject(call.key), retry_after_s);
        Refusal { error, retryable, wait_ms }
    }
}

impl Client {
    /// Signs `call` with `creds` into `headers`; returns the query string to send.
    pub(crate) fn sign_call(
        &self,
        creds: &credentials::Credentials,
        call: &Call,
        headers: &mut Vec<(String, String)>,
    ) -> String {
        // A body whose Content-MD5 is signed cannot be altered unnoticed, nor can one whose MD5 is checked against
        // the answer's ETag over HTTPS or loopback, so neither is hashed again with SHA-256 (the slowest step of an
        // upload inside the component); other bodies are small XML and are signed.
        let payload_hash = if call.body.is_empty() {
            EMPTY_SHA256.to_string()
        } else if call.headers.iter().any(|(k, _)| k == "content-md5")
            || (call.etag_checked && call.target.shields_body())
        {
            UNSIGNED_PAYLOAD.to_string()
        } else {
            sigv4::sha256_hex(&call.body.chunks().concat())
        };
        let mut req = SignableRequest {
            method: call.method.into(),
            host: call.target.host.clone(),
            path: call.target.path.clone(),
            query: call.query.clone(),
            headers: std::mem::take(headers),
        };
        let query = self.sign(creds, &mut req, &payload_hash);
        *headers = req.headers;
        query
    }

    /// Signs, sends and retries one S3 call; see [`exchange::execute`].
    pub(crate) fn execute(&self, call: Call) -> Result<Response, Error> {
        exchange::execute(self, call)
    }

    /// Moves an S3 exchange on; see [`exchange::advance`].
    pub(crate) fn advance(&self, ex: &mut Exchange) -> Option<Result<Response, Error>> {
        exchange::advance(self, ex)
    }

    /// The host's credentials, or access denied saying what is missing.
    pub(crate) fn credentials() -> Result<credentials::Credentials, Error> {
        credentials::get().map_err(|m| Error::AccessDenied(format!("no credentials: {m}")))
    }

    /// Signs `req` in its headers; returns the canonical query string to send it with.
    pub(crate) fn sign(
        &self,
        creds: &credentials::Credentials,
        req: &mut SignableRequest,
        payload_hash: &str,
    ) -> String {
        let creds = Credentials {
            access_key_id: &creds.access_key_id,
            secret_access_key: &creds.secret_access_key,
            session_token: creds.session_token.as_deref(),
        };
        let scope = Scope { time: UtcTime::from_unix(http::unix_now()), region: &self.region, service: "s3" };
        self.signer.borrow_mut().sign_headers(&creds, &scope, req, payload_hash)
    }
}
