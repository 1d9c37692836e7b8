//! A content type from a file name or key, so uploads are served right by browsers and the CDN without a flag: the
//! CLI, the service and the edge component guess the same way.

/// The media type for `name`'s extension; `None` leaves the service's default (binary/octet-stream).
pub fn guess(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" | "log" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "wasm" => "application/wasm",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn by_extension_case_insensitive() {
        assert_eq!(super::guess("a/b/Index.HTML"), Some("text/html; charset=utf-8"));
        assert_eq!(super::guess("x.png"), Some("image/png"));
        assert_eq!(super::guess("noext"), None);
        assert_eq!(super::guess("x.unknown"), None);
    }
}
