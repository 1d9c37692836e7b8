//! How an object's bytes travel through MCP: as text when they are text, as an image when a client can show
//! them, else as base64. Decided from the content type and the bytes themselves. Pure.

use super::tools::Format;
use base64::Engine;

/// An object's content, shaped for a tool result or a resource.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Shape {
    Text(String),
    /// Base64 of an image type MCP clients display.
    Image {
        data: String,
        mime: String,
    },
    /// Base64 of anything else.
    Blob {
        data: String,
        mime: String,
    },
}

const OCTET_STREAM: &str = "application/octet-stream";

/// The media type without parameters, in lower case.
fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Is this media type text, whatever the bytes say?
fn is_textual(essence: &str) -> bool {
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence,
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/yaml"
                | "application/x-yaml"
                | "application/toml"
                | "application/sql"
                | "application/x-sh"
                | "application/x-ndjson"
        )
}

/// Says nothing about the bytes: no type, or one of S3's generic defaults.
fn is_untyped(essence: &str) -> bool {
    essence.is_empty() || essence == OCTET_STREAM || essence == "binary/octet-stream"
}

fn base64(body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(body)
}

/// Shapes `body` for `format` (`Format::Link` carries no content and is the caller's to handle).
pub(super) fn shape(body: Vec<u8>, content_type: Option<&str>, format: Format) -> Result<Shape, String> {
    let essence = content_type.map(essence).unwrap_or_default();
    let mime = if is_untyped(&essence) { OCTET_STREAM.to_string() } else { essence.clone() };
    match format {
        Format::Text => String::from_utf8(body)
            .map(Shape::Text)
            .map_err(|_| "the object is not UTF-8 text; read it with format \"base64\"".to_string()),
        Format::Base64 | Format::Link => Ok(Shape::Blob { data: base64(&body), mime }),
        Format::Auto => {
            let text_like = is_textual(&essence) || (is_untyped(&essence) && !body.contains(&0));
            // The body moves into the text, or comes back unchanged when it is not UTF-8: never copied.
            let body = if text_like {
                match String::from_utf8(body) {
                    Ok(text) => return Ok(Shape::Text(text)),
                    Err(e) => e.into_bytes(),
                }
            } else {
                body
            };
            if matches!(essence.as_str(), "image/png" | "image/jpeg" | "image/gif" | "image/webp") {
                return Ok(Shape::Image { data: base64(&body), mime });
            }
            Ok(Shape::Blob { data: base64(&body), mime })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto(body: &[u8], ct: Option<&str>) -> Shape {
        shape(body.to_vec(), ct, Format::Auto).unwrap()
    }

    #[test]
    fn text_types_and_untyped_utf8_come_back_as_text() {
        assert_eq!(auto(b"hello", Some("text/plain; charset=utf-8")), Shape::Text("hello".into()));
        assert_eq!(auto(b"{\"a\":1}", Some("application/json")), Shape::Text("{\"a\":1}".into()));
        assert_eq!(auto(b"<x/>", Some("application/atom+xml")), Shape::Text("<x/>".into()));
        assert_eq!(auto("café".as_bytes(), None), Shape::Text("café".into()));
        assert_eq!(auto(b"plain", Some("binary/octet-stream")), Shape::Text("plain".into()));
    }

    #[test]
    fn bytes_that_are_not_text_become_base64() {
        let blob = |mime: &str| Shape::Blob { data: "AP8B".into(), mime: mime.into() };
        assert_eq!(auto(&[0, 255, 1], None), blob(OCTET_STREAM));
        assert_eq!(auto(&[0, 255, 1], Some("text/plain")), blob("text/plain"), "a text type with bad UTF-8");
        assert_eq!(auto(&[0, 255, 1], Some("application/pdf")), blob("application/pdf"));
        assert_eq!(
            auto(b"ascii", Some("application/zip")),
            Shape::Blob { data: "YXNjaWk=".into(), mime: "application/zip".into() }
        );
        assert_eq!(auto(b"\0nul", None), Shape::Blob { data: "AG51bA==".into(), mime: OCTET_STREAM.into() });
    }

    #[test]
    fn images_clients_can_show_are_images() {
        assert_eq!(
            auto(&[0x89, b'P'], Some("image/PNG")),
            Shape::Image { data: "iVA=".into(), mime: "image/png".into() }
        );
        assert!(matches!(auto(&[1], Some("image/tiff")), Shape::Blob { .. }));
    }

    #[test]
    fn explicit_formats_win() {
        assert_eq!(
            shape(b"hi".to_vec(), Some("text/plain"), Format::Base64).unwrap(),
            Shape::Blob { data: "aGk=".into(), mime: "text/plain".into() }
        );
        assert_eq!(shape(b"hi".to_vec(), Some("image/png"), Format::Text).unwrap(), Shape::Text("hi".into()));
        assert!(shape(vec![0xff], None, Format::Text).unwrap_err().contains("base64"));
    }
}
