//! S3 calls the library and the blobstore builds share and the edge's HTTP API has no use for: server-side copy,
//! incomplete multipart uploads, buckets themselves (list, create, check, empty, delete) and object ACLs.

use super::client::Client;
use crate::base::encode::uri_encode;
use crate::base::exchange::Call;
use crate::base::invalid;
use crate::s3::errors::Subject;
use crate::s3::{addressing, xml};
use crate::spaces::storage::types::{Acl, Error};

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
            let mut query = vec![
                ("uploads".into(), String::new()),
                ("max-uploads".into(), UPLOADS_PER_PAGE.into()),
                ("encoding-type".into(), "url".into()),
            ];
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
}

/// Buckets themselves: the library's `spaces buckets`/`mb`/`rb` and the blobstore's containers.
impl Client {
    /// Every bucket the credentials own at this endpoint (ListBuckets).
    pub(crate) fn list_buckets(&self) -> Result<Vec<xml::ListedBucket>, Error> {
        let call = Call { target: self.addressing.service_target(), ..self.bucket_call("list-buckets", "GET") };
        let answer = self.execute_xml(call)?;
        xml::parse_buckets(&answer).map_err(|e| self.xml_error("list-buckets", None, e))
    }

    /// Creates this client's bucket. No location constraint is sent: Spaces and RGW take the region from the
    /// endpoint. A name that is taken is a conflict — by these credentials, which S3's classic region and RGW
    /// answer with 200, so that is asked first; or by another account, whose bucket answers the question with 403
    /// and the creation with 409 `BucketAlreadyExists`, which says it better.
    pub(crate) fn create_bucket(&self) -> Result<(), Error> {
        match self.bucket_exists() {
            Ok(true) => {
                let bucket = &self.addressing.bucket;
                Err(Error::Conflict(format!("bucket {bucket:?} already exists, and these credentials own it")))
            }
            Ok(false) | Err(Error::AccessDenied(_)) => self.execute(self.bucket_call("create-bucket", "PUT")).map(drop),
            Err(e) => Err(e),
        }
    }

    /// Whether `key` exists (HEAD); a refusal other than 404 is an error, not `false`.
    pub(crate) fn object_exists(&self, key: &str) -> Result<bool, Error> {
        match self.head_object(key) {
            Ok(_) => Ok(true),
            Err(Error::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether this client's bucket exists and the credentials may use it (HEAD); a refusal other than 404 is an
    /// error, not `false`.
    pub(crate) fn bucket_exists(&self) -> Result<bool, Error> {
        match self.execute(self.bucket_call("head-bucket", "HEAD")) {
            Ok(_) => Ok(true),
            Err(Error::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes this client's bucket, which must be empty (a conflict otherwise).
    pub(crate) fn delete_bucket(&self) -> Result<(), Error> {
        self.execute(self.bucket_call("delete-bucket", "DELETE")).map(drop)
    }

    /// Deletes every object in this bucket, a listing page at a time in one DeleteObjects each, and with
    /// `uploads` also every older version and delete marker (left by versioning) and every incomplete multipart
    /// upload, which all keep a bucket from being deleted; returns how many objects went.
    pub(crate) fn empty_bucket(&self, uploads: bool) -> Result<u64, Error> {
        let mut deleted = 0;
        loop {
            // Always the first page: each round deletes what it lists, so the next listing starts after it.
            let page = self.list_objects(None, None, None, None)?;
            if page.objects.is_empty() {
                break;
            }
            let keys: Vec<String> = page.objects.into_iter().map(|o| o.key).collect();
            self.delete_all(&keys)?;
            deleted += keys.len() as u64;
        }
        if !uploads {
            return Ok(deleted);
        }
        loop {
            let page = self.list_versions(None, None)?;
            if page.versions.is_empty() {
                break;
            }
            let versions: Vec<(String, String)> = page.versions.into_iter().map(|v| (v.key, v.version_id)).collect();
            self.delete_versions(&versions)?;
        }
        for u in self.list_uploads(None)? {
            self.abort_upload(&u.key, &u.upload_id)?;
        }
        Ok(deleted)
    }

    /// A page of the versions (and delete markers) under `prefix`, from the (key, version id) markers `after`.
    pub(crate) fn list_versions(
        &self,
        prefix: Option<&str>,
        after: Option<(&str, &str)>,
    ) -> Result<xml::VersionsPage, Error> {
        let mut query = vec![("versions".to_string(), String::new()), ("encoding-type".into(), "url".into())];
        if let Some(p) = prefix.filter(|p| !p.is_empty()) {
            query.push(("prefix".into(), p.into()));
        }
        if let Some((key, version)) = after {
            query.push(("key-marker".into(), key.into()));
            query.push(("version-id-marker".into(), version.into()));
        }
        let call = Call { query, ..self.bucket_call("list-versions", "GET") };
        let answer = self.execute_xml(call)?;
        xml::parse_versions(&answer).map_err(|e| self.xml_error("list-versions", None, e))
    }

    /// Deletes one version of `key` (or a delete marker) for good.
    pub(crate) fn delete_version(&self, key: &str, version_id: &str) -> Result<(), Error> {
        addressing::validate_key(key).map_err(invalid)?;
        addressing::validate_version_id(version_id).map_err(invalid)?;
        let mut call = self.object_call("delete-version", "DELETE", key);
        call.query.push(("versionId".into(), version_id.into()));
        self.execute(call).map(drop)
    }

    /// Deletes these (key, version id) pairs, 1000 a request; an error names the first the service refused.
    fn delete_versions(&self, versions: &[(String, String)]) -> Result<(), Error> {
        for batch in versions.chunks(xml::MAX_DELETE_KEYS) {
            refusal(&self.delete_batch(xml::delete_versions_body(batch))?, batch.len())?;
        }
        Ok(())
    }

    /// Deletes `keys`, all of them or an error naming the first the service refused (a missing key is no refusal).
    pub(crate) fn delete_all(&self, keys: &[String]) -> Result<(), Error> {
        let refused = self.delete_objects(keys)?;
        refusal(&refused, keys.len())
    }
}

/// The error for a batch delete the service refused in part, naming the first refusal; `Ok` when it refused none.
fn refusal(refused: &[xml::DeleteError], asked: usize) -> Result<(), Error> {
    let Some(first) = refused.first() else { return Ok(()) };
    let detail = format!(
        "{} of {asked} objects were not deleted; the first, {:?}: {} {}",
        refused.len(),
        first.key,
        first.code,
        first.message
    );
    Err(if first.code == "AccessDenied" { Error::AccessDenied(detail) } else { Error::Conflict(detail) })
}

/// Object ACLs, read and set as the canned ones S3 names.
impl Client {
    /// The object's ACL (GetObjectAcl).
    pub(crate) fn get_access(&self, key: &str) -> Result<xml::Access, Error> {
        addressing::validate_key(key).map_err(invalid)?;
        let call = Call { query: vec![("acl".into(), String::new())], ..self.object_call("get-acl", "GET", key) };
        let answer = self.execute_xml(call)?;
        xml::parse_access(&answer).map_err(|e| self.xml_error("get-acl", Some(key), e))
    }

    /// Replaces the object's ACL with a canned one (PutObjectAcl with `x-amz-acl`, no body).
    pub(crate) fn set_access(&self, key: &str, acl: Acl) -> Result<(), Error> {
        addressing::validate_key(key).map_err(invalid)?;
        let canned = match acl {
            Acl::Private => "private",
            Acl::PublicRead => "public-read",
        };
        let call = Call {
            query: vec![("acl".into(), String::new())],
            headers: vec![("x-amz-acl".into(), canned.into())],
            ..self.object_call("put-acl", "PUT", key)
        };
        self.execute(call).map(drop)
    }
}
