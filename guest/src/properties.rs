//! Properties of the pure protocol modules over arbitrary input (proptest): the XML readers never panic on any
//! bytes a server might send, URI encoding round-trips every string, and SigV4 canonicalisation is well formed
//! for any header names and values. Native tests only.

use crate::base::encode::{uri_decode, uri_encode};
use crate::s3::sigv4::{canonical_headers, trim_all};
use crate::s3::xml;
use proptest::prelude::*;

proptest! {
    #[test]
    fn xml_readers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = xml::parse_error(&body);
        let _ = xml::parse_listing(&body);
        let _ = xml::parse_initiate_multipart(&body);
        let _ = xml::parse_complete_multipart(&body);
        let _ = xml::parse_delete_result(&body);
    }

    #[test]
    fn xml_readers_never_panic_on_near_xml(inner in "[<>/a-zA-Z&;\"= 0-9%]{0,400}") {
        for root in ["ListBucketResult", "Error", "DeleteResult", "CompleteMultipartUploadResult"] {
            let body = format!("<{root}>{inner}</{root}>");
            let _ = xml::parse_listing(body.as_bytes());
            let _ = xml::parse_error(body.as_bytes());
            let _ = xml::parse_delete_result(body.as_bytes());
            let _ = xml::parse_complete_multipart(body.as_bytes());
        }
    }

    #[test]
    fn uri_encoding_round_trips(s in any::<String>(), keep_slash in any::<bool>()) {
        let encoded = uri_encode(&s, keep_slash);
        prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%/".contains(&b)));
        prop_assert_eq!(uri_decode(&encoded).unwrap(), s);
    }

    #[test]
    fn canonical_headers_are_well_formed(
        headers in proptest::collection::vec(("[A-Za-z-]{1,12}", "[ -~\u{a0}-\u{ff}\t]{0,24}"), 0..8),
    ) {
        let mut all: Vec<(String, String)> = headers;
        all.push(("host".into(), "example.com".into()));
        let (block, names) = canonical_headers(&all);
        let names: Vec<&str> = names.split(';').collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(&names, &sorted, "names sorted, each once");
        prop_assert_eq!(block.lines().count(), names.len());
        for value in all.iter().map(|(_, v)| trim_all(v)) {
            prop_assert_eq!(trim_all(&value), value.clone(), "trimming is idempotent");
        }
    }
}
