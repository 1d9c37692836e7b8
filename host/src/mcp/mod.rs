//! `spaces mcp`: a Model Context Protocol server on stdio (rmcp), so AI assistants can list, read and write
//! objects, make URLs and upload forms, see and set ACLs and CORS rules, purge the CDN and manage access keys
//! through the same component and host as the CLI.
//! Every call runs in a component instance of its own; failures come back as tool errors carrying the typed
//! message, never as a dead server. Objects are also resources, `spaces://BUCKET/KEY`. Content passing through
//! the protocol is capped, and no reply carries a secret except the one-time secret of a key just created.

mod content;
mod framing;
mod tools;

use crate::config::Connection;
use crate::digitalocean::cdn::{bucket_origin, CdnSession, EndpointView};
use crate::digitalocean::keys::{KeyView, KeysSession, NewKeyView};
use crate::error::{Failure, Outcome};
use crate::runtime::bindings::storage::ListRequest;
use crate::runtime::bindings::types::{Config, Error as StorageError};
use crate::runtime::session::Session;
use crate::runtime::streams::Body;
use crate::runtime::Runtime;
use crate::views::{self, plain_get, presign_request, put_options, stored, ObjectView};
use clap::Args;
use content::Shape;
use http_api::bodies::{Method, Page, Pending, PendingUploads, Presigned, Url};
use http_api::bucket::{BucketEntry, Buckets, CorsRule, CorsRules, PresignPostBody, PresignedPost};
use http_api::headers::PutHeaders;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ResourceTemplate, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::async_rw::{AsyncRwTransport, DEFAULT_MAX_LINE_LENGTH};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use serde::Serialize;
use std::sync::Arc;
use tools::{BucketCall, Call, Format};

/// Tool calls served at once (each holds one component instance).
const MAX_INSTANCES: u32 = 16;
/// How long the presigned URL offered for an object too large to pass through MCP lasts.
const LARGE_OBJECT_URL_SECONDS: u32 = 3600;

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "MCP")]
pub(crate) struct McpArgs {
    /// Largest object content passed through the protocol (get_object, put_object, resources), in bytes;
    /// larger objects are offered as presigned URLs [max: 64 MiB]
    #[arg(long, env = "SPACES_MCP_MAX_CONTENT", value_name = "BYTES", default_value_t = 1 << 20,
          value_parser = clap::value_parser!(u64).range(1..=64 << 20))]
    pub max_content_bytes: u64,
    /// Offer only the tools that change nothing: list, head and get objects, URLs, cdn_list, keys_list
    #[arg(long, env = "SPACES_MCP_READ_ONLY", value_parser = clap::builder::FalseyValueParser::new())]
    pub read_only: bool,
    /// Pacing window of cdn_purge in milliseconds (DigitalOcean's limit is 20000)
    #[arg(long, hide = true)]
    pub purge_window_ms: Option<u32>,
}

/// The MCP server: configuration, and the runtime every call instantiates the component from.
struct SpacesMcp {
    runtime: Runtime,
    conn: Connection,
    args: McpArgs,
}

/// Serves MCP on stdin/stdout until the client closes the connection.
pub(crate) async fn run(conn: &Connection, args: &McpArgs) -> Outcome<()> {
    let runtime = conn.runtime(MAX_INSTANCES, None)?;
    let server = SpacesMcp { runtime, conn: conn.clone(), args: args.clone() };
    // A configured bucket the component refuses (a bad name, say) is a start-up error, not a failure per call.
    if let Some(bucket) = &conn.bucket {
        Session::open(&server.runtime, &conn.storage_config_for(bucket.clone())).await?;
    }
    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    let (stdin, stdout) = framing::guard(stdin, stdout, max_message(args));
    let transport = AsyncRwTransport::new_server(stdin, stdout).with_max_line_length(max_message(args));
    let service = server
        .serve(transport)
        .await
        .map_err(|e| Failure::usage(format!("no MCP session was established on stdin/stdout: {e}")))?;
    service.waiting().await.map_err(|e| Failure::caused("the MCP session", e))?;
    Ok(())
}

/// The longest message a client may send: content at the limit, however JSON spells it (base64 is 4/3 of the
/// bytes; a text's control characters 6 each, as `\u00XX`), plus room for the rest of the call. Longer lines are
/// dropped by the transport unread, so memory stays bounded.
fn max_message(args: &McpArgs) -> usize {
    let bytes = args.max_content_bytes.saturating_mul(6).saturating_add(1 << 20);
    usize::try_from(bytes).unwrap_or(usize::MAX).max(DEFAULT_MAX_LINE_LENGTH)
}

fn structured(value: impl Serialize) -> Outcome<CallToolResult> {
    Ok(CallToolResult::structured(serde_json::to_value(value).map_err(|e| Failure::caused("encoding JSON", e))?))
}

impl SpacesMcp {
    /// The storage configuration for `bucket`, else the configured one.
    fn storage_config(&self, bucket: Option<String>) -> Outcome<Config> {
        let bucket = bucket.or_else(|| self.conn.bucket.clone()).ok_or_else(|| {
            Failure::usage("no bucket: pass `bucket`, or start the server with --bucket (or SPACES_BUCKET)")
        })?;
        Ok(self.conn.storage_config_for(bucket))
    }

    async fn session(&self, bucket: Option<String>) -> Outcome<(String, Session)> {
        let cfg = self.storage_config(bucket)?;
        let session = Session::open(&self.runtime, &cfg).await?;
        Ok((cfg.bucket, session))
    }

    async fn cdn(&self) -> Outcome<CdnSession> {
        CdnSession::open(&self.runtime, &self.conn.api_config(self.args.purge_window_ms)).await
    }

    async fn keys(&self) -> Outcome<KeysSession> {
        KeysSession::open(&self.runtime, &self.conn.api_config(None)).await
    }

    /// Runs one parsed tool call. A cancelled call interrupts its instance, so an upload aborts itself.
    async fn execute(&self, call: Call, context: &RequestContext<RoleServer>) -> Outcome<CallToolResult> {
        let cancelled = {
            let ct = context.ct.clone();
            async move { ct.cancelled().await }
        };
        match call {
            Call::ListObjects(a) => {
                let (_, mut s) = self.session(a.bucket).await?;
                let req = ListRequest {
                    prefix: a.prefix,
                    delimiter: a.delimiter,
                    continuation: a.cursor,
                    max_keys: Some(a.limit.unwrap_or(100)),
                };
                structured(Page::from(s.list(&req).await?))
            }
            Call::HeadObject(a) => {
                let (_, mut s) = self.session(a.bucket).await?;
                structured(ObjectView::from(s.head(&a.key).await?))
            }
            Call::GetObject(a) => self.get_object(a, cancelled).await,
            Call::PutObject(a, body) => self.put_object(a, body, cancelled).await,
            Call::DeleteObject(a) => {
                let (bucket, mut s) = self.session(a.bucket).await?;
                s.delete(&a.key).await?;
                structured(tools::Deleted { bucket, key: a.key })
            }
            Call::PresignUrl(a) => {
                let (_, mut s) = self.session(a.bucket).await?;
                let req = presign_request(a.key, a.method, a.expires_seconds, a.content_type);
                structured(Presigned::from(s.presign(&req).await?))
            }
            Call::ObjectUrl(a) => {
                let mut cfg = self.storage_config(a.bucket)?;
                if a.cdn {
                    crate::digitalocean::cdn::use_served_host(&self.runtime, &self.conn.api_config(None), &mut cfg)
                        .await;
                }
                let mut s = Session::open(&self.runtime, &cfg).await?;
                let url = if a.cdn { s.cdn_url(&a.key).await? } else { s.public_url(&a.key).await? };
                structured(Url { url })
            }
            Call::ListUploads(a) => {
                let (_, mut s) = self.session(a.bucket).await?;
                let uploads = s.list_uploads(a.prefix.as_deref()).await?;
                structured(PendingUploads { uploads: uploads.into_iter().map(Pending::from).collect() })
            }
            Call::AbortUpload(a) => {
                let (bucket, mut s) = self.session(a.bucket).await?;
                s.abort_upload(&a.key, &a.upload_id).await?;
                structured(tools::Aborted { bucket, key: a.key, upload_id: a.upload_id })
            }
            Call::Bucket(call) => self.bucket_call(call).await,
            Call::CdnList => {
                let endpoints = self.cdn().await?.list().await?;
                structured(tools::Endpoints { endpoints: endpoints.into_iter().map(EndpointView::from).collect() })
            }
            Call::CdnPurge(a) => self.purge(a, context).await,
            Call::KeysList(a) => {
                let filter = crate::runtime::bindings::exports::spaces::storage::keys::KeyFilter {
                    name: a.name,
                    bucket: a.bucket,
                    permission: a.permission.map(Into::into),
                };
                let keys = self.keys().await?.list(&filter).await?;
                structured(tools::Keys { keys: keys.into_iter().map(KeyView::from).collect() })
            }
            Call::KeysCreate(a) => {
                let grants: Vec<_> = a.grants.into_iter().map(Into::into).collect();
                structured(NewKeyView::from(self.keys().await?.create(&a.name, &grants).await?))
            }
            Call::KeysDelete(a) => {
                self.keys().await?.delete(&a.access_key).await?;
                structured(tools::KeyDeleted { access_key: a.access_key })
            }
        }
    }

    /// The bucket tools: the bucket list, ACLs, CORS rules and browser upload forms.
    async fn bucket_call(&self, call: BucketCall) -> Outcome<CallToolResult> {
        match call {
            BucketCall::List => {
                let mut s = Session::open(&self.runtime, &self.conn.bucketless_config()).await?;
                let buckets = s.list_buckets().await?.into_iter().map(BucketEntry::from).collect();
                structured(Buckets { buckets })
            }
            BucketCall::GetAcl(a) => {
                let (_, mut s) = self.session(a.bucket).await?;
                let access = s.get_access(&a.key).await?;
                structured(views::access(a.key, access))
            }
            BucketCall::SetAcl(a) => {
                let (bucket, mut s) = self.session(a.bucket).await?;
                s.set_access(&a.key, views::acl(a.acl)).await?;
                structured(tools::AclSet { bucket, key: a.key, acl: a.acl })
            }
            BucketCall::GetCors(a) => {
                let (_, mut s) = self.session(a.bucket).await?;
                let rules = s.get_cors().await?;
                structured(CorsRules { cors_rules: rules.into_iter().map(CorsRule::from).collect() })
            }
            BucketCall::SetCors(a) => {
                let (bucket, mut s) = self.session(a.bucket).await?;
                let rules: Vec<_> = a.rules.into_iter().map(Into::into).collect();
                s.set_cors(&rules).await?;
                structured(tools::CorsSet { bucket, rules: rules.len() })
            }
            BucketCall::PresignPost(a) => {
                let (_, mut s) = self.session(a.bucket).await?;
                let body = PresignPostBody {
                    key: a.key,
                    max_size: a.max_size,
                    content_type: a.content_type,
                    expires: a.expires_seconds,
                };
                structured(PresignedPost::from(s.presign_post(&views::post_request(body)).await?))
            }
        }
    }

    /// `get_object`: the content as text, an image or a blob, or a link; too large, a presigned URL instead.
    async fn get_object(
        &self,
        a: tools::GetObject,
        cancelled: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Outcome<CallToolResult> {
        let (bucket, mut s) = self.session(a.bucket).await?;
        if a.format == Format::Link {
            let meta = s.head(&a.key).await?;
            let mut link = Resource::new(object_keys::to_uri(&bucket, &a.key), a.key).with_size(meta.size);
            if let Some(t) = meta.content_type {
                link = link.with_mime_type(t);
            }
            return Ok(CallToolResult::success(vec![ContentBlock::resource_link(link)]));
        }
        let _link = s.interrupt().trigger_on(cancelled);
        let (meta, download) = s.get(&a.key, &plain_get(None)).await?;
        if meta.size > self.args.max_content_bytes {
            return self.too_large(&mut s, &a.key, meta.size).await;
        }
        let body = s.read_to_vec(download, self.args.max_content_bytes).await?;
        let block = match content::shape(body, meta.content_type.as_deref(), a.format).map_err(Failure::usage)? {
            Shape::Text(text) => ContentBlock::text(text),
            Shape::Image { data, mime } => ContentBlock::image(data, mime),
            Shape::Blob { data, mime } => ContentBlock::resource(
                ResourceContents::blob(data, object_keys::to_uri(&bucket, &a.key)).with_mime_type(mime),
            ),
        };
        Ok(CallToolResult::success(vec![block]))
    }

    /// `put_object`: stores the content, refusing to replace an object unless asked to.
    async fn put_object(
        &self,
        a: tools::PutObject,
        body: Vec<u8>,
        cancelled: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Outcome<CallToolResult> {
        let (_, mut s) = self.session(a.bucket).await?;
        if !a.overwrite && s.exists(&a.key).await? {
            return Err(Failure::Storage(StorageError::Conflict(format!(
                "{:?} already exists; pass overwrite: true to replace it",
                a.key
            ))));
        }
        let upload = PutHeaders {
            content_type: a.content_type,
            cache_control: a.cache_control,
            public: a.public,
            metadata: a.metadata.into_iter().collect(),
        };
        let opts = put_options(&upload, &a.key);
        let _link = s.interrupt().trigger_on(cancelled);
        let size = body.len() as u64;
        let put = s.put(&a.key, Body::Whole(body.into()), Some(size), &opts).await?;
        structured(stored(a.key, put))
    }

    /// The answer for an object over the content limit: a tool error that says so and offers a presigned URL.
    async fn too_large(&self, s: &mut Session, key: &str, size: u64) -> Outcome<CallToolResult> {
        let req = presign_request(key.to_string(), Method::Get, Some(LARGE_OBJECT_URL_SECONDS), None);
        let url = s.presign(&req).await?.url;
        let limit = self.args.max_content_bytes;
        Ok(CallToolResult::error(vec![ContentBlock::text(format!(
            "{key:?} is {size} bytes, more than the {limit} bytes this server passes through MCP \
             (--max-content-bytes). This presigned URL downloads it for the next hour: {url}"
        ))]))
    }

    /// Purges paths from a CDN endpoint; when the client asked for progress, each paced batch reports it.
    async fn purge(&self, a: tools::CdnPurge, context: &RequestContext<RoleServer>) -> Outcome<CallToolResult> {
        let mut s = self.cdn().await?;
        let origin = match &a.endpoint_id {
            Some(_) => String::new(),
            None => {
                let cfg = self.storage_config(a.bucket)?;
                bucket_origin(&cfg.bucket, &cfg.region)
            }
        };
        let id = s.resolve(a.endpoint_id.as_deref(), &origin).await?;
        let mut forwarder = None;
        if let Some(token) = context.meta.get_progress_token() {
            // One task sends the notifications in order; it ends when the session (and its sender) is dropped.
            let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<(u32, u32)>();
            let peer = context.peer.clone();
            forwarder = Some(tokio::spawn(async move {
                while let Some((done, total)) = receiver.recv().await {
                    let note = ProgressNotificationParam::new(token.clone(), f64::from(done))
                        .with_total(f64::from(total))
                        .with_message(format!("purged {done} of {total} paths"));
                    if peer.notify_progress(note).await.is_err() {
                        break;
                    }
                }
            }));
            s.set_purge_progress(Arc::new(move |done, total| {
                let _ = sender.send((done, total));
            }));
        }
        let report = s.purge(&id, &a.paths).await;
        drop(s);
        if let Some(f) = forwarder {
            let _ = f.await;
        }
        let report = report?;
        structured(tools::Purged { id, files: report.files, requests: report.requests })
    }

    async fn read(&self, uri: &str) -> Result<ReadResourceResult, McpError> {
        let (bucket, key) = object_keys::from_uri(uri).map_err(|e| McpError::invalid_params(e, None))?;
        let failed = |f: Failure| match f {
            Failure::Storage(StorageError::NotFound(_)) => McpError::resource_not_found(f.to_string(), None),
            Failure::Storage(StorageError::InvalidArgument(_)) => McpError::invalid_params(f.to_string(), None),
            f => McpError::internal_error(f.to_string(), None),
        };
        let (_, mut s) = self.session(Some(bucket)).await.map_err(failed)?;
        let (meta, download) = s.get(&key, &plain_get(None)).await.map_err(failed)?;
        let limit = self.args.max_content_bytes;
        if meta.size > limit {
            return Err(McpError::invalid_params(
                format!(
                    "{key:?} is {} bytes, more than the {limit} bytes this server passes through MCP \
                     (--max-content-bytes); the presign_url tool makes a URL to download it",
                    meta.size
                ),
                None,
            ));
        }
        let body = s.read_to_vec(download, limit).await.map_err(failed)?;
        let contents = match content::shape(body, meta.content_type.as_deref(), Format::Auto) {
            Ok(Shape::Text(text)) => {
                let mime = meta.content_type.unwrap_or_else(|| "text/plain".into());
                ResourceContents::text(text, uri).with_mime_type(mime)
            }
            Ok(Shape::Image { data, mime } | Shape::Blob { data, mime }) => {
                ResourceContents::blob(data, uri).with_mime_type(mime)
            }
            Err(e) => return Err(McpError::internal_error(e, None)),
        };
        Ok(ReadResourceResult::new(vec![contents]))
    }
}

impl ServerHandler for SpacesMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder().enable_tools().enable_resources().build();
        let bucket = match &self.conn.bucket {
            Some(b) => format!("The default bucket is {b:?}; tools take `bucket` to work on another."),
            None => "No default bucket is configured: pass `bucket` to every object tool.".into(),
        };
        let mode = if self.args.read_only {
            " This server is read-only: it offers no tool that changes anything."
        } else {
            ""
        };
        ServerConfig::new(capabilities)
            .with_server_info(
                rmcp::model::Implementation::new("spaces", env!("CARGO_PKG_VERSION")).with_title("Spaces"),
            )
            .with_instructions(format!(
                "Objects in DigitalOcean Spaces (S3-compatible storage), DigitalOcean CDN endpoints and Spaces access \
                 keys. {bucket} Objects are also resources, spaces://BUCKET/KEY. Content up to {} bytes passes \
                 through; for larger objects use presign_url.{mode}",
                self.args.max_content_bytes
            ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let tools = tools::catalogue(self.args.read_only).map_err(|e| McpError::internal_error(e, None))?;
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.to_string();
        if self.args.read_only && !tools::is_read_only(&name) {
            let refusal = format!("{name} changes things, and this server was started with --read-only");
            return Ok(CallToolResult::error(vec![ContentBlock::text(refusal)]).into());
        }
        let result = match tools::parse(&name, request.arguments, self.args.max_content_bytes) {
            Ok(call) => self.execute(call, &context).await.unwrap_or_else(|f| {
                tracing::info!(tool = %name, error = %f, "tool call failed");
                CallToolResult::error(vec![ContentBlock::text(f.to_string())])
            }),
            Err(reason) => CallToolResult::error(vec![ContentBlock::text(reason)]),
        };
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let Some(bucket) = self.conn.bucket.clone() else {
            return Ok(ListResourcesResult::default());
        };
        let failed = |f: Failure| McpError::internal_error(f.to_string(), None);
        let (_, mut s) = self.session(Some(bucket.clone())).await.map_err(failed)?;
        let continuation = request.and_then(|r| r.cursor);
        let req = ListRequest { prefix: None, delimiter: None, continuation, max_keys: Some(1000) };
        let page = s.list(&req).await.map_err(failed)?;
        let resources = page
            .objects
            .into_iter()
            .map(|o| {
                let uri = object_keys::to_uri(&bucket, &o.key);
                let r = Resource::new(uri, o.key.clone()).with_size(o.size);
                match http_api::content_type::guess(&o.key) {
                    Some(t) => r.with_mime_type(t),
                    None => r,
                }
            })
            .collect();
        let mut result = ListResourcesResult::with_all_items(resources);
        result.next_cursor = page.next_continuation;
        Ok(result)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let template = ResourceTemplate::new(format!("{}{{bucket}}/{{+key}}", object_keys::URI_SCHEME), "object")
            .with_title("An object in a Space")
            .with_description("The object KEY in bucket BUCKET, with its content type; text as text, else base64");
        Ok(ListResourceTemplatesResult::with_all_items(vec![template]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        Ok(self.read(&request.uri).await?.into())
    }
}
