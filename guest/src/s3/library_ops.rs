//! The S3 calls only the library build offers: the ETag of a local body, browser upload forms (presigned POST), a
//! bucket's CORS and lifecycle rules, and proving that a new key works by signing with it instead of the host's
//! credentials.

use super::client::Client;
use crate::base::encode::UtcTime;
use crate::base::exchange::{self, Call, Refusal, Service};
use crate::base::http::{self, Response};
use crate::base::invalid;
use crate::base::retry::Policy;
use crate::host::credentials;
use crate::s3::client::MAX_PRESIGN_SECONDS;
use crate::s3::multipart::EtagHasher;
use crate::s3::post_policy::{self, PolicyRequest};
use crate::s3::sigv4::{Credentials, Scope};
use crate::s3::{cors, lifecycle, xml};
use crate::spaces::storage::types::Error;
use crate::wasi::io::streams::{InputStream, StreamError};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

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
    /// A signed browser upload form for this bucket (the policy is `post_policy`'s), valid for `spec.expires`
    /// seconds and signed with `creds` (from [`Client::credentials`]).
    pub(crate) fn presign_post(&self, creds: &credentials::Credentials, spec: &PostSpec) -> Result<PostForm, Error> {
        if !(1..=MAX_PRESIGN_SECONDS).contains(&spec.expires) {
            let e = spec.expires;
            return Err(invalid(format!("expiry must be 1..={MAX_PRESIGN_SECONDS} seconds (7 days), got {e}")));
        }
        let now = http::unix_now();
        let expires_at = now + u64::from(spec.expires);
        let scope = Scope { time: UtcTime::from_unix(now), region: &self.region, service: "s3" };
        let credential = format!("{}/{}", creds.access_key_id, scope.credential_scope());
        let request = PolicyRequest {
            bucket: &self.addressing.bucket,
            key: spec.key,
            key_is_prefix: spec.key_is_prefix,
            max_size: spec.max_size,
            content_type: spec.content_type,
            expiration: UtcTime::from_unix(expires_at),
            amz_date: &scope.time.amz_date(),
            credential: &credential,
            session_token: creds.session_token.as_deref(),
        };
        let mut form = post_policy::form(&request).map_err(invalid)?;
        let c = Credentials {
            access_key_id: &creds.access_key_id,
            secret_access_key: &creds.secret_access_key,
            session_token: creds.session_token.as_deref(),
        };
        let signature = self.signer.borrow_mut().sign_policy(&c, &scope, &form.policy_b64);
        form.fields.push(("x-amz-signature".into(), signature));
        Ok(PostForm { url: self.addressing.bucket_target().url(""), fields: form.fields, expires_at })
    }

    /// The bucket's configuration `sub` (`cors`, `lifecycle`, `versioning`) as XML; `None` when it has none.
    fn get_setting(&self, sub: &str, operation: &'static str) -> Result<Option<Vec<u8>>, Error> {
        let call = Call { query: vec![(sub.into(), String::new())], ..self.bucket_call(operation, "GET") };
        match self.execute_xml(call) {
            Ok(answer) => Ok(Some(answer)),
            // A bucket without the configuration answers 404 as a missing bucket does: tell them apart.
            Err(Error::NotFound(m)) => {
                if self.bucket_exists()? {
                    Ok(None)
                } else {
                    Err(Error::NotFound(m))
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Replaces the bucket's configuration `sub` with `body`, with the Content-MD5 S3 demands for most of these.
    fn put_setting(&self, sub: &str, operation: &'static str, body: String) -> Result<(), Error> {
        let call = Call {
            query: vec![(sub.into(), String::new())],
            headers: vec![("content-md5".into(), B64.encode(md5_lanes::digest(body.as_bytes())))],
            body: body.into_bytes().into(),
            ..self.bucket_call(operation, "PUT")
        };
        self.execute(call).map(drop)
    }

    /// Removes the bucket's configuration `sub` (succeeds when it has none).
    fn delete_setting(&self, sub: &str, operation: &'static str) -> Result<(), Error> {
        let call = Call { query: vec![(sub.into(), String::new())], ..self.bucket_call(operation, "DELETE") };
        self.execute(call).map(drop)
    }

    /// The bucket's CORS rules; none when it has no configuration.
    pub(crate) fn get_cors(&self) -> Result<Vec<xml::CorsRule>, Error> {
        match self.get_setting("cors", "get-cors")? {
            Some(answer) => xml::parse_cors(&answer).map_err(|e| self.xml_error("get-cors", None, e)),
            None => Ok(Vec::new()),
        }
    }

    /// Replaces the bucket's CORS rules, checked first (`cors::validate`).
    pub(crate) fn set_cors(&self, rules: &[xml::CorsRule]) -> Result<(), Error> {
        cors::validate(rules).map_err(invalid)?;
        self.put_setting("cors", "put-cors", xml::cors_body(rules))
    }

    pub(crate) fn delete_cors(&self) -> Result<(), Error> {
        self.delete_setting("cors", "delete-cors")
    }

    /// The bucket's versioning: `None` if it was never turned on, else `Enabled` or `Suspended`.
    pub(crate) fn get_versioning(&self) -> Result<Option<String>, Error> {
        match self.get_setting("versioning", "get-versioning")? {
            Some(answer) => xml::parse_versioning(&answer).map_err(|e| self.xml_error("get-versioning", None, e)),
            None => Ok(None),
        }
    }

    /// Turns versioning on, or suspends it (S3 has no way back to never-versioned).
    pub(crate) fn set_versioning(&self, enabled: bool) -> Result<(), Error> {
        let status = if enabled { "Enabled" } else { "Suspended" };
        let body = format!("<VersioningConfiguration><Status>{status}</Status></VersioningConfiguration>");
        self.put_setting("versioning", "put-versioning", body)
    }

    /// The bucket's lifecycle rules; none when it has no configuration.
    pub(crate) fn get_lifecycle(&self) -> Result<Vec<xml::LifecycleRule>, Error> {
        match self.get_setting("lifecycle", "get-lifecycle")? {
            Some(answer) => xml::parse_lifecycle(&answer).map_err(|e| self.xml_error("get-lifecycle", None, e)),
            None => Ok(Vec::new()),
        }
    }

    /// Replaces the bucket's lifecycle rules, checked first (`lifecycle::validate`).
    pub(crate) fn set_lifecycle(&self, rules: &[xml::LifecycleRule]) -> Result<(), Error> {
        lifecycle::validate(rules).map_err(invalid)?;
        self.put_setting("lifecycle", "put-lifecycle", xml::lifecycle_body(rules))
    }

    pub(crate) fn delete_lifecycle(&self) -> Result<(), Error> {
        self.delete_setting("lifecycle", "delete-lifecycle")
    }

    /// Latency in microseconds of one ListBuckets signed with `creds`: it needs no permission on any bucket,
    /// so it proves that the key itself is known and its secret right.
    pub(crate) fn verify_credentials(&self, creds: credentials::Credentials) -> Result<u64, Error> {
        let started = http::monotonic_us();
        let call = Call { target: self.addressing.service_target(), ..self.bucket_call("verify-credentials", "GET") };
        exchange::execute(&SignedWith { client: self, creds }, call)?;
        Ok(http::monotonic_us().saturating_sub(started))
    }
}

/// What a browser upload form allows: the key or a key prefix, the largest body, the content type, its lifetime.
pub(crate) struct PostSpec<'a> {
    pub key: &'a str,
    pub key_is_prefix: bool,
    pub max_size: Option<u64>,
    pub content_type: Option<&'a str>,
    pub expires: u32,
}

/// A signed form: where it posts to, its fields (signature last), and when it stops working.
pub(crate) struct PostForm {
    pub url: String,
    pub fields: Vec<(String, String)>,
    pub expires_at: u64,
}

/// Bytes read from a body at a time while hashing it.
const HASH_READ: u64 = 1 << 20;

/// A body being hashed in one of the lanes: what was read of it and not yet hashed.
struct Lane {
    index: usize,
    body: InputStream,
    hasher: EtagHasher,
    chunk: Vec<u8>,
    at: usize,
}

/// The ETag an upload of everything each body holds would get (see [`EtagHasher`]), one result per body, in
/// order. Up to four bodies are hashed at once in SIMD lanes, each lane fed as much as the one with least in hand
/// has, so the lanes stay full; a body that ends gives its lane to the next.
pub(crate) fn content_etags(bodies: Vec<(InputStream, Option<u64>)>) -> Vec<Result<String, Error>> {
    let mut results: Vec<Result<String, Error>> = Vec::new();
    results.resize_with(bodies.len(), || Ok(String::new()));
    let mut waiting = bodies.into_iter().enumerate();
    let mut lanes: Vec<Lane> = Vec::with_capacity(md5_lanes::LANES);
    loop {
        while lanes.len() < md5_lanes::LANES {
            let Some((index, (body, part_size))) = waiting.next() else { break };
            match part_size.map(|p| crate::s3::multipart::validate("part size", p)).transpose() {
                Ok(_) => lanes.push(Lane { index, body, hasher: EtagHasher::new(part_size), chunk: Vec::new(), at: 0 }),
                Err(e) => results[index] = Err(invalid(e)),
            }
        }
        let before = lanes.len();
        refill(&mut lanes, &mut results);
        if lanes.len() < before {
            continue; // lanes came free: the next bodies take them before the round
        }
        let Some(step) = lanes.iter().map(|l| l.chunk.len() - l.at).min() else { break };
        let (mut hashers, pieces): (Vec<&mut EtagHasher>, Vec<&[u8]>) =
            lanes.iter_mut().map(|l| (&mut l.hasher, &l.chunk[l.at..l.at + step])).unzip();
        EtagHasher::update_lanes(&mut hashers, &pieces);
        lanes.iter_mut().for_each(|l| l.at += step);
    }
    results
}

/// Reads the next chunk of every lane that has hashed all it read; a body that ended (or failed) leaves its lane
/// with its result.
fn refill(lanes: &mut Vec<Lane>, results: &mut [Result<String, Error>]) {
    let mut i = 0;
    while i < lanes.len() {
        let lane = &mut lanes[i];
        if lane.at < lane.chunk.len() {
            i += 1;
            continue;
        }
        let outcome = match lane.body.blocking_read(HASH_READ) {
            Ok(chunk) => {
                (lane.chunk, lane.at) = (chunk, 0);
                continue; // an empty read is read again
            }
            Err(StreamError::Closed) => Ok(()),
            Err(StreamError::LastOperationFailed(e)) => {
                Err(invalid(format!("reading the body failed: {}", e.to_debug_string())))
            }
        };
        let lane = lanes.swap_remove(i);
        results[lane.index] = outcome.map(|()| lane.hasher.finish());
    }
}
