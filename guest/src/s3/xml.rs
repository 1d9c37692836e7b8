//! S3's XML bodies, read with quick-xml + serde: listings, errors, copy and multipart results. Pure: bytes in,
//! typed values out. Malformed XML is an `Err` with a message, never a panic. S3 may answer 200 with an `<Error>`
//! body (copy, complete-multipart), so every parser first checks the root element.

use crate::base::encode::uri_decode;
use serde::Deserialize;

/// An S3 `<Error>` document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct S3Error {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    pub resource: Option<String>,
    pub request_id: Option<String>,
}

/// Why a body could not be turned into the expected value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum XmlError {
    /// The body is an S3 error document.
    Service(S3Error),
    /// The body is not the XML we expected.
    Malformed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedObject {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub last_modified: String,
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Listing {
    pub objects: Vec<ListedObject>,
    pub common_prefixes: Vec<String>,
    pub next_continuation: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResult {
    #[serde(default)]
    contents: Vec<Contents>,
    #[serde(default)]
    common_prefixes: Vec<CommonPrefix>,
    #[serde(default)]
    is_truncated: bool,
    next_continuation_token: Option<String>,
    encoding_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Contents {
    key: String,
    #[serde(default)]
    last_modified: String,
    #[serde(default)]
    e_tag: String,
    size: u64,
    storage_class: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CommonPrefix {
    prefix: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EtagResult {
    e_tag: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InitiateResult {
    upload_id: String,
}

/// Most keys one DeleteObjects request may name.
pub(crate) const MAX_DELETE_KEYS: usize = 1000;

/// A key DeleteObjects did not delete.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeleteError {
    pub key: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Deserialize)]
struct DeleteResult {
    #[serde(rename = "Error", default)]
    errors: Vec<DeleteError>,
}

/// Strips the quotes S3 puts around ETags.
pub(crate) fn unquote_etag(etag: &str) -> String {
    etag.trim().trim_matches('"').to_string()
}

/// The name of the document's root element.
fn root_name(body: &[u8]) -> Result<String, XmlError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                return Ok(String::from_utf8_lossy(e.local_name().as_ref()).into_owned())
            }
            Ok(Event::Eof) => return Err(XmlError::Malformed("empty XML body".into())),
            Ok(_) => {}
            Err(e) => return Err(XmlError::Malformed(format!("invalid XML: {e}"))),
        }
        buf.clear();
    }
}

/// Parses `body` as `T` when its root is `expected`; as an [`S3Error`] when it is `Error`.
fn parse<T: for<'de> Deserialize<'de>>(body: &[u8], expected: &str) -> Result<T, XmlError> {
    let root = root_name(body)?;
    let text = std::str::from_utf8(body).map_err(|_| XmlError::Malformed("XML body is not UTF-8".into()))?;
    if root == "Error" {
        return Err(XmlError::Service(parse_error(body)?));
    }
    if root != expected {
        return Err(XmlError::Malformed(format!("expected <{expected}>, got <{root}>")));
    }
    quick_xml::de::from_str(&control_references(text))
        .map_err(|e| XmlError::Malformed(format!("unexpected <{expected}> document: {e}")))
}

/// `text` with each character reference to a control character that XML 1.0 forbids (`&#0;`, `&#x1F;`, …)
/// replaced by the character itself. S3 allows such characters in keys, and S3 servers write them as references
/// even where `encoding-type=url` was asked for (RGW echoes a listing's prefix that way, and ignores the encoding
/// for multipart uploads), which a conforming XML reader refuses; the reader takes the raw character.
fn control_references(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("&#") {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let forbidden = rest.find(';').filter(|end| *end <= 12).and_then(|end| {
            let number = &rest[2..end];
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            let c = char::from_u32(code).filter(|c| c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r'))?;
            Some((c, end + 1))
        });
        match forbidden {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push_str("&#");
                rest = &rest[2..];
            }
        }
    }
    out.push_str(rest);
    out.into()
}

/// Reads an `<Error>` body.
pub(crate) fn parse_error(body: &[u8]) -> Result<S3Error, XmlError> {
    let text = std::str::from_utf8(body).map_err(|_| XmlError::Malformed("XML body is not UTF-8".into()))?;
    quick_xml::de::from_str(text).map_err(|e| XmlError::Malformed(format!("unexpected error document: {e}")))
}

/// How a listing's keys and markers read: percent-decoded when the listing says it was asked for with
/// `encoding-type=url`, as every listing is (a key may hold characters XML 1.0 cannot carry, even as references:
/// RGW echoes a prefix with a NUL as `&#0;`, which no XML reader accepts).
fn decoder(encoding_type: Option<&str>) -> impl Fn(String) -> Result<String, XmlError> {
    let url_encoded = encoding_type == Some("url");
    move |s: String| if url_encoded { uri_decode(&s).map_err(XmlError::Malformed) } else { Ok(s) }
}

/// Reads a ListObjectsV2 page, decoding keys when the listing was requested with `encoding-type=url`.
pub(crate) fn parse_listing(body: &[u8]) -> Result<Listing, XmlError> {
    let r: ListBucketResult = parse(body, "ListBucketResult")?;
    let decode = decoder(r.encoding_type.as_deref());
    let objects = r
        .contents
        .into_iter()
        .map(|c| {
            Ok(ListedObject {
                key: decode(c.key)?,
                size: c.size,
                etag: unquote_etag(&c.e_tag),
                last_modified: c.last_modified,
                storage_class: c.storage_class,
            })
        })
        .collect::<Result<_, XmlError>>()?;
    let common_prefixes = r.common_prefixes.into_iter().map(|p| decode(p.prefix)).collect::<Result<_, _>>()?;
    let next_continuation = match (r.is_truncated, r.next_continuation_token) {
        (true, Some(token)) if !token.is_empty() => Some(token),
        (true, _) => return Err(XmlError::Malformed("truncated listing without NextContinuationToken".into())),
        (false, _) => None,
    };
    Ok(Listing { objects, common_prefixes, next_continuation })
}

/// The new ETag from a `<CopyObjectResult>`.
#[cfg(not(feature = "edge"))]
pub(crate) fn parse_copy_result(body: &[u8]) -> Result<String, XmlError> {
    parse::<EtagResult>(body, "CopyObjectResult").map(|r| unquote_etag(&r.e_tag))
}

/// A bucket as ListBuckets lists it: its name and its creation time (ISO 8601, as the service wrote it).
#[cfg(not(feature = "edge"))]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListedBucket {
    pub name: String,
    #[serde(default)]
    pub creation_date: String,
}

#[cfg(not(feature = "edge"))]
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListAllMyBucketsResult {
    #[serde(default)]
    buckets: BucketList,
}

#[cfg(not(feature = "edge"))]
#[derive(Default, Deserialize)]
struct BucketList {
    #[serde(default, rename = "Bucket")]
    buckets: Vec<ListedBucket>,
}

/// The buckets of a `<ListAllMyBucketsResult>`.
#[cfg(not(feature = "edge"))]
pub(crate) fn parse_buckets(body: &[u8]) -> Result<Vec<ListedBucket>, XmlError> {
    parse::<ListAllMyBucketsResult>(body, "ListAllMyBucketsResult").map(|r| r.buckets.buckets)
}

/// An object's ACL, as GetObjectAcl returns it: the owner's id and each grant as (grantee, permission), the
/// grantee an id, a group URI or an e-mail address.
#[cfg(not(feature = "edge"))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Access {
    pub owner: String,
    pub grants: Vec<(String, String)>,
}

/// The group every anonymous reader belongs to.
#[cfg(not(feature = "edge"))]
pub(crate) const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";

#[cfg(not(feature = "edge"))]
impl Access {
    /// Whether everyone may read the object (a READ or FULL_CONTROL grant to all users).
    pub(crate) fn public(&self) -> bool {
        self.grants.iter().any(|(who, what)| who == ALL_USERS && (what == "READ" || what == "FULL_CONTROL"))
    }
}

#[cfg(not(feature = "edge"))]
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AccessControlPolicy {
    #[serde(default)]
    owner: Party,
    #[serde(default)]
    access_control_list: GrantList,
}

#[cfg(not(feature = "edge"))]
#[derive(Default, Deserialize)]
struct GrantList {
    #[serde(default, rename = "Grant")]
    grants: Vec<Grant>,
}

#[cfg(not(feature = "edge"))]
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Grant {
    #[serde(default)]
    grantee: Party,
    #[serde(default)]
    permission: String,
}

/// An owner or grantee: whichever of its identifiers the service gave.
#[cfg(not(feature = "edge"))]
#[derive(Default, Deserialize)]
struct Party {
    #[serde(rename = "ID")]
    id: Option<String>,
    #[serde(rename = "URI")]
    uri: Option<String>,
    #[serde(rename = "EmailAddress")]
    email: Option<String>,
}

#[cfg(not(feature = "edge"))]
impl Party {
    fn name(self) -> String {
        self.uri.or(self.id).or(self.email).unwrap_or_default()
    }
}

/// Reads an `<AccessControlPolicy>`.
#[cfg(not(feature = "edge"))]
pub(crate) fn parse_access(body: &[u8]) -> Result<Access, XmlError> {
    let p: AccessControlPolicy = parse(body, "AccessControlPolicy")?;
    let grants = p.access_control_list.grants.into_iter().map(|g| (g.grantee.name(), g.permission)).collect();
    Ok(Access { owner: p.owner.name(), grants })
}

/// One rule of a bucket's CORS configuration, as `<CORSRule>` holds it.
#[cfg(not(any(feature = "edge", feature = "blobstore")))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CorsRule {
    #[serde(default, rename = "AllowedOrigin")]
    pub allowed_origins: Vec<String>,
    #[serde(default, rename = "AllowedMethod")]
    pub allowed_methods: Vec<String>,
    #[serde(default, rename = "AllowedHeader")]
    pub allowed_headers: Vec<String>,
    #[serde(default, rename = "ExposeHeader")]
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<u32>,
}

#[cfg(not(any(feature = "edge", feature = "blobstore")))]
#[derive(Deserialize)]
struct CorsConfiguration {
    #[serde(default, rename = "CORSRule")]
    rules: Vec<CorsRule>,
}

/// The rules of a `<CORSConfiguration>`.
#[cfg(not(any(feature = "edge", feature = "blobstore")))]
pub(crate) fn parse_cors(body: &[u8]) -> Result<Vec<CorsRule>, XmlError> {
    parse::<CorsConfiguration>(body, "CORSConfiguration").map(|c| c.rules)
}

/// The PutBucketCors body for `rules`.
#[cfg(not(any(feature = "edge", feature = "blobstore")))]
pub(crate) fn cors_body(rules: &[CorsRule]) -> String {
    let mut out = String::from("<CORSConfiguration>");
    for r in rules {
        out.push_str("<CORSRule>");
        for (tag, values) in [
            ("AllowedOrigin", &r.allowed_origins),
            ("AllowedMethod", &r.allowed_methods),
            ("AllowedHeader", &r.allowed_headers),
            ("ExposeHeader", &r.expose_headers),
        ] {
            for v in values {
                out.push_str(&format!("<{tag}>{}</{tag}>", quick_xml::escape::escape(v.as_str())));
            }
        }
        if let Some(age) = r.max_age_seconds {
            out.push_str(&format!("<MaxAgeSeconds>{age}</MaxAgeSeconds>"));
        }
        out.push_str("</CORSRule>");
    }
    out.push_str("</CORSConfiguration>");
    out
}

/// One rule of a bucket's lifecycle configuration, of the kinds Spaces supports: expiring objects, and aborting
/// multipart uploads left incomplete.
#[cfg(not(any(feature = "edge", feature = "blobstore")))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LifecycleRule {
    pub id: String,
    pub prefix: String,
    pub enabled: bool,
    pub expire_days: Option<u32>,
    pub abort_incomplete_days: Option<u32>,
}

#[cfg(not(any(feature = "edge", feature = "blobstore")))]
#[derive(Deserialize)]
struct LifecycleConfiguration {
    #[serde(default, rename = "Rule")]
    rules: Vec<RuleXml>,
}

#[cfg(not(any(feature = "edge", feature = "blobstore")))]
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RuleXml {
    #[serde(default, rename = "ID")]
    id: String,
    /// The older schema (and Spaces' own examples) put the prefix here; the newer one in `<Filter>`.
    prefix: Option<String>,
    filter: Option<FilterXml>,
    #[serde(default)]
    status: String,
    expiration: Option<DaysXml>,
    abort_incomplete_multipart_upload: Option<AbortXml>,
}

#[cfg(not(any(feature = "edge", feature = "blobstore")))]
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FilterXml {
    prefix: Option<String>,
}

#[cfg(not(any(feature = "edge", feature = "blobstore")))]
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DaysXml {
    days: Option<u32>,
}

#[cfg(not(any(feature = "edge", feature = "blobstore")))]
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AbortXml {
    days_after_initiation: Option<u32>,
}

/// The rules of a `<LifecycleConfiguration>`.
#[cfg(not(any(feature = "edge", feature = "blobstore")))]
pub(crate) fn parse_lifecycle(body: &[u8]) -> Result<Vec<LifecycleRule>, XmlError> {
    let c: LifecycleConfiguration = parse(body, "LifecycleConfiguration")?;
    Ok(c.rules
        .into_iter()
        .map(|r| LifecycleRule {
            id: r.id,
            prefix: r.prefix.or(r.filter.and_then(|f| f.prefix)).unwrap_or_default(),
            enabled: r.status == "Enabled",
            expire_days: r.expiration.and_then(|e| e.days),
            abort_incomplete_days: r.abort_incomplete_multipart_upload.and_then(|a| a.days_after_initiation),
        })
        .collect())
}

/// The PutBucketLifecycleConfiguration body for `rules`, the prefix in the rule itself (the schema Spaces
/// documents, which S3 and RGW accept too).
#[cfg(not(any(feature = "edge", feature = "blobstore")))]
pub(crate) fn lifecycle_body(rules: &[LifecycleRule]) -> String {
    let mut out = String::from("<LifecycleConfiguration>");
    for r in rules {
        let esc = |v: &str| quick_xml::escape::escape(v).into_owned();
        out.push_str(&format!("<Rule><ID>{}</ID><Prefix>{}</Prefix>", esc(&r.id), esc(&r.prefix)));
        out.push_str(if r.enabled { "<Status>Enabled</Status>" } else { "<Status>Disabled</Status>" });
        if let Some(d) = r.expire_days {
            out.push_str(&format!("<Expiration><Days>{d}</Days></Expiration>"));
        }
        if let Some(d) = r.abort_incomplete_days {
            out.push_str(&format!(
                "<AbortIncompleteMultipartUpload><DaysAfterInitiation>{d}</DaysAfterInitiation>\
                 </AbortIncompleteMultipartUpload>"
            ));
        }
        out.push_str("</Rule>");
    }
    out.push_str("</LifecycleConfiguration>");
    out
}

/// One version of an object, or a delete marker, as ListObjectVersions lists it.
#[cfg(not(feature = "edge"))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListedVersion {
    pub key: String,
    pub version_id: String,
    pub is_latest: bool,
    pub delete_marker: bool,
    pub size: u64,
    pub etag: String,
    pub last_modified: String,
}

/// One page of versions, and the (key, version id) markers of the next page when there is one.
#[cfg(not(feature = "edge"))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VersionsPage {
    pub versions: Vec<ListedVersion>,
    pub next: Option<(String, String)>,
}

#[cfg(not(feature = "edge"))]
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListVersionsResult {
    #[serde(default, rename = "Version")]
    versions: Vec<VersionXml>,
    #[serde(default, rename = "DeleteMarker")]
    markers: Vec<VersionXml>,
    #[serde(default)]
    is_truncated: bool,
    next_key_marker: Option<String>,
    next_version_id_marker: Option<String>,
    encoding_type: Option<String>,
}

#[cfg(not(feature = "edge"))]
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VersionXml {
    key: String,
    version_id: String,
    #[serde(default)]
    is_latest: bool,
    #[serde(default)]
    size: u64,
    #[serde(default, rename = "ETag")]
    e_tag: String,
    #[serde(default)]
    last_modified: String,
}

/// Reads a ListObjectVersions page. Versions and delete markers arrive as separate elements; they are merged
/// back into S3's order: by key, newest first.
#[cfg(not(feature = "edge"))]
pub(crate) fn parse_versions(body: &[u8]) -> Result<VersionsPage, XmlError> {
    let r: ListVersionsResult = parse(body, "ListVersionsResult")?;
    let decode = decoder(r.encoding_type.as_deref());
    let listed = |v: VersionXml, delete_marker: bool| {
        Ok(ListedVersion {
            key: decode(v.key)?,
            version_id: v.version_id,
            is_latest: v.is_latest,
            delete_marker,
            size: v.size,
            etag: unquote_etag(&v.e_tag),
            last_modified: v.last_modified,
        })
    };
    let mut versions: Vec<ListedVersion> =
        r.versions.into_iter().map(|v| listed(v, false)).collect::<Result<_, XmlError>>()?;
    for v in r.markers {
        versions.push(listed(v, true)?);
    }
    versions.sort_by(|a, b| a.key.cmp(&b.key).then(b.last_modified.cmp(&a.last_modified)));
    let next = match (r.is_truncated, r.next_key_marker) {
        (true, Some(key)) => Some((decode(key)?, r.next_version_id_marker.unwrap_or_default())),
        _ => None,
    };
    Ok(VersionsPage { versions, next })
}

/// A bucket's versioning state from `<VersioningConfiguration>`: `None` if it was never turned on.
#[cfg(not(any(feature = "edge", feature = "blobstore")))]
pub(crate) fn parse_versioning(body: &[u8]) -> Result<Option<String>, XmlError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct VersioningConfiguration {
        status: Option<String>,
    }
    parse::<VersioningConfiguration>(body, "VersioningConfiguration").map(|v| v.status)
}

/// The upload id from an `<InitiateMultipartUploadResult>`.
pub(crate) fn parse_initiate_multipart(body: &[u8]) -> Result<String, XmlError> {
    let r: InitiateResult = parse(body, "InitiateMultipartUploadResult")?;
    if r.upload_id.is_empty() {
        return Err(XmlError::Malformed("empty UploadId".into()));
    }
    Ok(r.upload_id)
}

/// The final ETag from a `<CompleteMultipartUploadResult>`.
pub(crate) fn parse_complete_multipart(body: &[u8]) -> Result<String, XmlError> {
    parse::<EtagResult>(body, "CompleteMultipartUploadResult").map(|r| unquote_etag(&r.e_tag))
}

/// A part already stored in an incomplete multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StoredPart {
    pub part_number: u32,
    #[serde(rename = "ETag", deserialize_with = "unquoted")]
    pub etag: String,
    pub size: u64,
}

/// One page of a ListParts: the parts, and the marker of the next page when there is one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PartsPage {
    pub parts: Vec<StoredPart>,
    pub next_marker: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListPartsResult {
    #[serde(default, rename = "Part")]
    parts: Vec<StoredPart>,
    #[serde(default)]
    is_truncated: bool,
    next_part_number_marker: Option<u32>,
}

fn unquoted<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    String::deserialize(d).map(|e| unquote_etag(&e))
}

/// Reads a ListParts page.
pub(crate) fn parse_parts(body: &[u8]) -> Result<PartsPage, XmlError> {
    let r: ListPartsResult = parse(body, "ListPartsResult")?;
    let next_marker = match (r.is_truncated, r.next_part_number_marker) {
        (true, Some(m)) => Some(m),
        (true, None) => return Err(XmlError::Malformed("truncated ListParts without NextPartNumberMarker".into())),
        (false, _) => None,
    };
    Ok(PartsPage { parts: r.parts, next_marker })
}

/// An incomplete multipart upload, as ListMultipartUploads lists it.
#[cfg(not(feature = "edge"))]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PendingUpload {
    pub key: String,
    pub upload_id: String,
    #[serde(default)]
    pub initiated: String,
}

/// One page of ListMultipartUploads, and the (key, upload id) markers of the next page when there is one.
#[cfg(not(feature = "edge"))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UploadsPage {
    pub uploads: Vec<PendingUpload>,
    pub next: Option<(String, String)>,
}

#[cfg(not(feature = "edge"))]
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListMultipartUploadsResult {
    #[serde(default, rename = "Upload")]
    uploads: Vec<PendingUpload>,
    #[serde(default)]
    is_truncated: bool,
    next_key_marker: Option<String>,
    next_upload_id_marker: Option<String>,
    encoding_type: Option<String>,
}

/// Reads a ListMultipartUploads page.
#[cfg(not(feature = "edge"))]
pub(crate) fn parse_uploads(body: &[u8]) -> Result<UploadsPage, XmlError> {
    let r: ListMultipartUploadsResult = parse(body, "ListMultipartUploadsResult")?;
    let decode = decoder(r.encoding_type.as_deref());
    let next = match (r.is_truncated, r.next_key_marker) {
        (true, Some(k)) if !k.is_empty() => Some((decode(k)?, r.next_upload_id_marker.unwrap_or_default())),
        (true, _) => return Err(XmlError::Malformed("truncated ListMultipartUploads without NextKeyMarker".into())),
        (false, _) => None,
    };
    let uploads = r
        .uploads
        .into_iter()
        .map(|u| Ok(PendingUpload { key: decode(u.key)?, ..u }))
        .collect::<Result<_, XmlError>>()?;
    Ok(UploadsPage { uploads, next })
}

/// The `<CompleteMultipartUpload>` request body for parts numbered from 1 in order.
pub(crate) fn complete_multipart_body(etags: &[String]) -> String {
    let mut out = String::from("<CompleteMultipartUpload>");
    for (i, etag) in etags.iter().enumerate() {
        out.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><ETag>\"{}\"</ETag></Part>",
            i + 1,
            quick_xml::escape::escape(etag.as_str())
        ));
    }
    out.push_str("</CompleteMultipartUpload>");
    out
}

/// The quiet `<Delete>` request body: only failures come back.
pub(crate) fn delete_objects_body(keys: &[String]) -> String {
    delete_body(keys.iter().map(|k| (k.as_str(), None)))
}

/// A DeleteObjects body for particular versions: (key, version id).
#[cfg(not(feature = "edge"))]
pub(crate) fn delete_versions_body(versions: &[(String, String)]) -> String {
    delete_body(versions.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))))
}

fn delete_body<'a>(objects: impl Iterator<Item = (&'a str, Option<&'a str>)>) -> String {
    let mut out = String::from("<Delete><Quiet>true</Quiet>");
    for (key, version) in objects {
        out.push_str("<Object><Key>");
        out.push_str(&quick_xml::escape::escape(key));
        out.push_str("</Key>");
        if let Some(v) = version {
            out.push_str(&format!("<VersionId>{}</VersionId>", quick_xml::escape::escape(v)));
        }
        out.push_str("</Object>");
    }
    out.push_str("</Delete>");
    out
}

/// The failures listed in a `<DeleteResult>`.
pub(crate) fn parse_delete_result(body: &[u8]) -> Result<Vec<DeleteError>, XmlError> {
    parse::<DeleteResult>(body, "DeleteResult").map(|r| r.errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from radosgw 16.2 (ListObjectsV2 with delimiter=/ and encoding-type=url).
    const RGW_LISTING: &str = concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>test</Name><Prefix>"#,
        r#"</Prefix><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"#,
        r#"<EncodingType>url</EncodingType><Contents><Key>a%20b%2Bc.txt</Key>"#,
        r#"<LastModified>2026-11-28T05:01:02.123Z</LastModified>"#,
        r#"<ETag>&quot;9e107d9d372bb6826bd81d3542a419d6&quot;</ETag><Size>43</Size><StorageClass>STANDARD"#,
        r#"</StorageClass><Owner><ID>tester</ID><DisplayName>tester</DisplayName></Owner><Type>Normal"#,
        r#"</Type></Contents><CommonPrefixes><Prefix>dir%2F%E6%97%A5/</Prefix></CommonPrefixes><KeyCount>2"#,
        r#"</KeyCount><NextContinuationToken>1ABCD</NextContinuationToken></ListBucketResult>"#,
    );

    #[test]
    fn listing_with_url_encoding_and_continuation() {
        let l = parse_listing(RGW_LISTING.as_bytes()).unwrap();
        assert_eq!(l.objects.len(), 1);
        assert_eq!(l.objects[0].key, "a b+c.txt");
        assert_eq!(l.objects[0].etag, "9e107d9d372bb6826bd81d3542a419d6");
        assert_eq!(l.objects[0].size, 43);
        assert_eq!(l.objects[0].storage_class.as_deref(), Some("STANDARD"));
        assert_eq!(l.common_prefixes, vec!["dir/日/".to_string()]);
        assert_eq!(l.next_continuation.as_deref(), Some("1ABCD"));
    }

    #[test]
    fn empty_listing_and_plain_keys() {
        let l = parse_listing(
            b"<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated>\
            <KeyCount>0</KeyCount></ListBucketResult>",
        )
        .unwrap();
        assert_eq!(l, Listing::default());
        let l = parse_listing(
            b"<ListBucketResult><Contents><Key>a+b%</Key><Size>0</Size><ETag>\"x\"</ETag>\
            <LastModified>t</LastModified></Contents><IsTruncated>false</IsTruncated></ListBucketResult>",
        )
        .unwrap();
        assert_eq!(l.objects[0].key, "a+b%", "without encoding-type=url keys are taken literally");
    }

    #[test]
    fn truncated_listing_needs_a_token() {
        let e = parse_listing(b"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>").unwrap_err();
        assert!(matches!(e, XmlError::Malformed(m) if m.contains("NextContinuationToken")));
    }

    #[test]
    fn rgw_error_body() {
        let body = concat!(
            r#"<?xml version="1.0" "#,
            concat!(
                r#"encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message></Message><BucketName>test</BucketName>"#,
                r#"<RequestId>tx00000a-0063-default</RequestId><HostId>1-default-default</HostId></Error>"#,
            ),
        )
        .as_bytes();
        let e = parse_error(body).unwrap();
        assert_eq!(e.code, "NoSuchKey");
        assert_eq!(e.request_id.as_deref(), Some("tx00000a-0063-default"));
    }

    #[test]
    fn error_inside_a_200_answer_is_reported() {
        let body = b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>";
        match parse_complete_multipart(body) {
            Err(XmlError::Service(e)) => assert_eq!(e.code, "InternalError"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn copy_initiate_and_complete_results() {
        #[cfg(not(feature = "edge"))]
        let copy = concat!(
            r#"<CopyObjectResult><LastModified>2026-11-28T05:00:00.000Z</LastModified><ETag>"abc"</ETag>"#,
            r#"</CopyObjectResult>"#,
        )
        .as_bytes();
        #[cfg(not(feature = "edge"))]
        assert_eq!(parse_copy_result(copy).unwrap(), "abc");
        let init = b"<InitiateMultipartUploadResult \
            xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket><Key>k</Key>\
                <UploadId>2~xyz</UploadId></InitiateMultipartUploadResult>";
        assert_eq!(parse_initiate_multipart(init).unwrap(), "2~xyz");
        let done = b"<CompleteMultipartUploadResult><Location>l</Location><Bucket>b</Bucket><Key>k</Key>\
            <ETag>\"e-3\"</ETag></CompleteMultipartUploadResult>";
        assert_eq!(parse_complete_multipart(done).unwrap(), "e-3");
    }

    #[cfg(not(feature = "edge"))]
    #[test]
    fn buckets_as_listed() {
        let body = concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult "#,
            r#"xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>o</ID><DisplayName>o</DisplayName></Owner>"#,
            r#"<Buckets><Bucket><Name>a</Name><CreationDate>2026-12-02T10:00:00.000Z</CreationDate></Bucket>"#,
            r#"<Bucket><Name>b.c</Name><CreationDate>2026-01-31T23:59:59.123Z</CreationDate></Bucket></Buckets>"#,
            r#"</ListAllMyBucketsResult>"#,
        );
        let buckets = parse_buckets(body.as_bytes()).unwrap();
        let names: Vec<_> = buckets.iter().map(|b| (b.name.as_str(), b.creation_date.as_str())).collect();
        assert_eq!(names, [("a", "2026-12-02T10:00:00.000Z"), ("b.c", "2026-01-31T23:59:59.123Z")]);
        let none = b"<ListAllMyBucketsResult><Owner><ID>o</ID></Owner><Buckets/></ListAllMyBucketsResult>";
        assert!(parse_buckets(none).unwrap().is_empty());
        assert!(matches!(parse_buckets(b"<Error><Code>AccessDenied</Code></Error>"), Err(XmlError::Service(_))));
    }

    #[cfg(not(feature = "edge"))]
    #[test]
    fn an_acl_as_rgw_returns_it() {
        let body = concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><AccessControlPolicy "#,
            r#"xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>tester</ID><DisplayName>T</DisplayName>"#,
            r#"</Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#,
            r#"xsi:type="CanonicalUser"><ID>tester</ID><DisplayName>T</DisplayName></Grantee>"#,
            r#"<Permission>FULL_CONTROL</Permission></Grant><Grant><Grantee "#,
            r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">"#,
            r#"<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission>"#,
            r#"</Grant></AccessControlList></AccessControlPolicy>"#,
        );
        let access = parse_access(body.as_bytes()).unwrap();
        assert_eq!(access.owner, "tester");
        assert_eq!(access.grants[0], ("tester".to_string(), "FULL_CONTROL".to_string()));
        assert_eq!(access.grants[1], (ALL_USERS.to_string(), "READ".to_string()));
        assert!(access.public());
        let private = Access { owner: "o".into(), grants: vec![("o".into(), "FULL_CONTROL".into())] };
        assert!(!private.public());
    }

    #[cfg(not(any(feature = "edge", feature = "blobstore")))]
    #[test]
    fn cors_rules_round_trip_through_their_xml() {
        let rules = vec![
            CorsRule {
                allowed_origins: vec!["https://app.example".into(), "https://*.example".into()],
                allowed_methods: vec!["GET".into(), "PUT".into()],
                allowed_headers: vec!["*".into()],
                expose_headers: vec!["ETag".into()],
                max_age_seconds: Some(600),
            },
            CorsRule {
                allowed_origins: vec!["a&b<c>".into()],
                allowed_methods: vec!["HEAD".into()],
                ..CorsRule::default()
            },
        ];
        let body = cors_body(&rules);
        assert!(body.contains("<AllowedOrigin>a&amp;b&lt;c&gt;</AllowedOrigin>"), "{body}");
        assert_eq!(parse_cors(body.as_bytes()).unwrap(), rules);
        let rgw = concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><CORSConfiguration xmlns="http://s3.amazonaws.com/doc/"#,
            r#"2006-03-01/"><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin>"#,
            r#"</CORSRule></CORSConfiguration>"#,
        );
        let parsed = parse_cors(rgw.as_bytes()).unwrap();
        assert_eq!((parsed[0].allowed_origins.as_slice(), parsed[0].max_age_seconds), (&["*".to_string()][..], None));
    }

    #[cfg(not(any(feature = "edge", feature = "blobstore")))]
    #[test]
    fn lifecycle_rules_round_trip_and_either_schema_is_read() {
        let rules = vec![
            LifecycleRule {
                id: "logs".into(),
                prefix: "logs/".into(),
                enabled: true,
                expire_days: Some(30),
                ..Default::default()
            },
            LifecycleRule { id: "a&b".into(), abort_incomplete_days: Some(7), ..Default::default() },
        ];
        let body = lifecycle_body(&rules);
        assert!(body.contains("<ID>a&amp;b</ID>") && body.contains("<Status>Disabled</Status>"), "{body}");
        assert_eq!(parse_lifecycle(body.as_bytes()).unwrap(), rules);
        let filtered = concat!(
            r#"<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ID>x</ID>"#,
            r#"<Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days>"#,
            r#"</Expiration></Rule></LifecycleConfiguration>"#,
        );
        let parsed = parse_lifecycle(filtered.as_bytes()).unwrap();
        assert_eq!((parsed[0].prefix.as_str(), parsed[0].expire_days, parsed[0].enabled), ("tmp/", Some(1), true));
    }

    #[cfg(not(feature = "edge"))]
    #[test]
    fn versions_and_delete_markers_come_back_in_s3_order() {
        let body = concat!(
            r#"<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>"#,
            r#"<IsTruncated>true</IsTruncated><NextKeyMarker>b.txt</NextKeyMarker>"#,
            r#"<NextVersionIdMarker>v3</NextVersionIdMarker>"#,
            r#"<Version><Key>a.txt</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest>"#,
            r#"<LastModified>2026-12-02T10:00:00.000Z</LastModified><ETag>&quot;e1&quot;</ETag><Size>3</Size>"#,
            r#"</Version>"#,
            r#"<Version><Key>b.txt</Key><VersionId>v3</VersionId><IsLatest>true</IsLatest>"#,
            r#"<LastModified>2026-12-02T10:00:02.000Z</LastModified><ETag>&quot;e3&quot;</ETag><Size>5</Size>"#,
            r#"</Version>"#,
            r#"<DeleteMarker><Key>a.txt</Key><VersionId>v2</VersionId><IsLatest>true</IsLatest>"#,
            r#"<LastModified>2026-12-02T10:00:01.000Z</LastModified></DeleteMarker></ListVersionsResult>"#,
        );
        let page = parse_versions(body.as_bytes()).unwrap();
        let order: Vec<(&str, &str, bool)> =
            page.versions.iter().map(|v| (v.key.as_str(), v.version_id.as_str(), v.delete_marker)).collect();
        assert_eq!(order, [("a.txt", "v2", true), ("a.txt", "v1", false), ("b.txt", "v3", false)]);
        assert_eq!((page.versions[1].etag.as_str(), page.versions[1].size), ("e1", 3));
        assert_eq!(page.next, Some(("b.txt".to_string(), "v3".to_string())));
        assert!(
            delete_versions_body(&[("k&".into(), "v1".into())]).contains("<Key>k&amp;</Key><VersionId>v1</VersionId>")
        );
    }

    #[test]
    fn parts_of_an_incomplete_upload() {
        let body = concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#,
            r#"<Bucket>b</Bucket><Key>k</Key><UploadId>2~x</UploadId><PartNumberMarker>0</PartNumberMarker>"#,
            r#"<NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>"#,
            r#"<Part><LastModified>2026-12-02T01:00:00.000Z</LastModified><PartNumber>1</PartNumber>"#,
            r#"<ETag>&quot;9e107d9d372bb6826bd81d3542a419d6&quot;</ETag><Size>5242880</Size></Part>"#,
            r#"<Part><PartNumber>2</PartNumber><ETag>"aa"</ETag><Size>7</Size></Part></ListPartsResult>"#,
        );
        let page = parse_parts(body.as_bytes()).unwrap();
        assert_eq!(page.next_marker, Some(2));
        assert_eq!(
            page.parts,
            [
                StoredPart { part_number: 1, etag: "9e107d9d372bb6826bd81d3542a419d6".into(), size: 5_242_880 },
                StoredPart { part_number: 2, etag: "aa".into(), size: 7 },
            ]
        );
        let last = b"<ListPartsResult><IsTruncated>false</IsTruncated></ListPartsResult>";
        assert_eq!(parse_parts(last).unwrap(), PartsPage::default());
        assert!(parse_parts(b"<ListPartsResult><IsTruncated>true</IsTruncated></ListPartsResult>").is_err());
    }

    #[cfg(not(feature = "edge"))]
    #[test]
    fn incomplete_uploads_listing() {
        let body = concat!(
            r#"<ListMultipartUploadsResult><Bucket>b</Bucket><KeyMarker></KeyMarker><NextKeyMarker>b.bin"#,
            r#"</NextKeyMarker><NextUploadIdMarker>2~y</NextUploadIdMarker><IsTruncated>true</IsTruncated>"#,
            r#"<Upload><Key>a &amp; b.bin</Key><UploadId>2~x</UploadId><Initiator><ID>t</ID></Initiator>"#,
            r#"<Initiated>2026-12-02T01:00:00.000Z</Initiated></Upload></ListMultipartUploadsResult>"#,
        );
        let page = parse_uploads(body.as_bytes()).unwrap();
        assert_eq!(page.next, Some(("b.bin".into(), "2~y".into())));
        assert_eq!(page.uploads.len(), 1);
        assert_eq!((page.uploads[0].key.as_str(), page.uploads[0].upload_id.as_str()), ("a & b.bin", "2~x"));
        assert_eq!(page.uploads[0].initiated, "2026-12-02T01:00:00.000Z");
        let empty = b"<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>";
        assert_eq!(parse_uploads(empty).unwrap(), UploadsPage::default());
    }

    /// Asked for with `encoding-type=url`, keys, markers and the echoed prefix come percent-encoded, so a key
    /// with a control character (which XML cannot carry) lists, and comes back decoded.
    #[cfg(not(feature = "edge"))]
    #[test]
    fn url_encoded_uploads_and_versions_are_decoded() {
        let uploads = concat!(
            r#"<ListMultipartUploadsResult><Prefix>%00%0C</Prefix><EncodingType>url</EncodingType>"#,
            r#"<NextKeyMarker>%0Cb</NextKeyMarker><NextUploadIdMarker>2~y</NextUploadIdMarker>"#,
            r#"<IsTruncated>true</IsTruncated><Upload><Key>tab%09caf%C3%A9%2Bx+y.bin</Key><UploadId>2~x</UploadId>"#,
            r#"</Upload></ListMultipartUploadsResult>"#,
        );
        let page = parse_uploads(uploads.as_bytes()).unwrap();
        assert_eq!(page.uploads[0].key, "tab\tcafé+x y.bin");
        assert_eq!(page.next, Some(("\u{c}b".into(), "2~y".into())));
        let versions = concat!(
            r#"<ListVersionsResult><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"#,
            r#"<NextKeyMarker>a%2Fb%01</NextKeyMarker><NextVersionIdMarker>v2</NextVersionIdMarker>"#,
            r#"<Version><Key>a%2Fb%01</Key><VersionId>v1</VersionId></Version>"#,
            r#"<DeleteMarker><Key>z%20z</Key><VersionId>v9</VersionId></DeleteMarker></ListVersionsResult>"#,
        );
        let page = parse_versions(versions.as_bytes()).unwrap();
        let keys: Vec<&str> = page.versions.iter().map(|v| v.key.as_str()).collect();
        assert_eq!(keys, ["a/b\u{1}", "z z"]);
        assert_eq!(page.next, Some(("a/b\u{1}".into(), "v2".into())));
        assert!(parse_uploads(b"<ListMultipartUploadsResult><EncodingType>url</EncodingType><Upload><Key>%zz</Key><UploadId>u</UploadId></Upload></ListMultipartUploadsResult>").is_err());
    }

    /// RGW ignores `encoding-type` for multipart uploads and echoes a prefix's control characters as references
    /// XML 1.0 forbids; such a page still reads, the characters restored.
    #[cfg(not(feature = "edge"))]
    #[test]
    fn references_to_control_characters_read_as_the_characters() {
        let body = concat!(
            r#"<ListMultipartUploadsResult><Prefix>&#x01;ab&#0;</Prefix><IsTruncated>false</IsTruncated>"#,
            r#"<Upload><Key>k&#x1F;&#31;&#9;&amp;&#38;</Key><UploadId>u</UploadId></Upload>"#,
            r#"</ListMultipartUploadsResult>"#,
        );
        let page = parse_uploads(body.as_bytes()).unwrap();
        assert_eq!(page.uploads[0].key, "k\u{1f}\u{1f}\t&&");
        let bad = b"<ListMultipartUploadsResult><Prefix>&#xZZ;</Prefix></ListMultipartUploadsResult>";
        assert!(parse_uploads(bad).is_err(), "a reference that is no number stays the reader's to refuse");
    }

    #[test]
    fn malformed_xml_is_an_error_not_a_panic() {
        for body in [
            &b""[..],
            b"not xml",
            b"<ListBucketResult><Contents><Key>k</Key>",
            b"<ListBucketResult><Contents><Key>k</Key><Size>minus one</Size></Contents></ListBucketResult>",
            b"<Other/>",
            b"<ListBucketResult></Wrong>",
            b"\xff\xfe<x/>",
        ] {
            assert!(matches!(parse_listing(body), Err(XmlError::Malformed(_))), "{body:?}");
        }
        #[cfg(not(feature = "edge"))]
        assert!(parse_copy_result(b"<CopyObjectResult/>").is_err());
        assert!(parse_initiate_multipart(
            b"<InitiateMultipartUploadResult><UploadId></UploadId></InitiateMultipartUploadResult>"
        )
        .is_err());
    }

    #[test]
    fn delete_objects_request_and_result() {
        assert_eq!(
            delete_objects_body(&["a&b".into(), "<c>".into()]),
            "<Delete><Quiet>true</Quiet><Object><Key>a&amp;b</Key></Object><Object><Key>&lt;c&gt;</Key></Object>\
                </Delete>"
        );
        let quiet = concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><DeleteResult "#,
            r#"xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>"#,
        )
        .as_bytes();
        assert_eq!(parse_delete_result(quiet).unwrap(), vec![]);
        let failed = b"<DeleteResult><Deleted><Key>ok</Key></Deleted><Error><Key>locked</Key>\
            <Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>";
        let errors = parse_delete_result(failed).unwrap();
        assert_eq!(
            errors,
            vec![DeleteError { key: "locked".into(), code: "AccessDenied".into(), message: "Access Denied".into() }]
        );
        assert!(
            parse_delete_result(b"<DeleteResult><Error><Code>x</Code></Error></DeleteResult>").is_err(),
            "an error needs its key"
        );
    }

    #[test]
    fn complete_body_numbers_parts_from_one() {
        let body = complete_multipart_body(&["a".into(), "b<".into()]);
        assert_eq!(
            body,
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag></Part><Part>\
                <PartNumber>2</PartNumber><ETag>\"b&lt;\"</ETag></Part></CompleteMultipartUpload>"
        );
    }
}
