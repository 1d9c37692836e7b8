//! One component, a second runtime: `tests/jco/embed.mjs` transpiles the exact `.wasm` the `spaces` binary embeds
//! with jco and runs it on Node.js (jco's WASI 0.2 shims; credentials, metrics and progress written in
//! JavaScript) against RGW. What it stored and fetched is checked here byte for byte, and in RGW with s3cmd.

use spaces_tests::{component_path, describe, pattern, run, sha256, Bucket};
use std::process::Command;

#[test]
fn the_embedded_component_runs_unchanged_on_node_through_jco() {
    let bucket = Bucket::new("jco");
    let small = "héllo from node\n";
    let large = pattern(12_000_000, 21);
    std::fs::write(bucket.path("small.txt"), small).unwrap();
    std::fs::write(bucket.path("large.bin"), &large).unwrap();
    let script = spaces_tests::manifest_dir().join("jco/embed.mjs");
    let mut node = Command::new("node");
    bucket.configure(&mut node).arg(script).arg(component_path()).arg(bucket.dir.path());
    let out = run(&mut node);
    assert!(out.status.success(), "node embed.mjs: {}", describe(&out));
    let facts: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
    eprintln!("jco: transpiled in {} ms, core module {} bytes", facts["transpile_ms"], facts["core_wasm_bytes"]);

    // What came back through the component on Node is what went in.
    assert_eq!(std::fs::read_to_string(bucket.path("small.out")).unwrap(), small);
    assert_eq!(sha256(&std::fs::read(bucket.path("large.out")).unwrap()), sha256(&large));
    assert_eq!(std::fs::read(bucket.path("range.out")).unwrap(), &large[100..200]);
    assert_eq!(facts["large_parts"], 3, "12 MB in 5 MiB parts, uploaded with several in flight");
    assert_eq!(facts["listed"], serde_json::json!([["jco/large.bin", 12_000_000], ["jco/small.txt", small.len()]]));
    assert_eq!(facts["presigned_status"], 200);
    assert_eq!(facts["presigned_text"], small, "a URL presigned on Node works without credentials");
    assert_eq!(facts["missing"]["tag"], "not-found", "typed errors cross into JavaScript");
    assert_eq!(facts["bad_key"], "invalid-argument");
    assert_eq!(facts["exists_after_delete"], false);
    for op in ["create-multipart-upload", "upload-part", "complete-multipart-upload", "get-object", "list-objects"] {
        assert!(facts["operations"].as_array().unwrap().contains(&op.into()), "no {op} metric: {facts}");
    }
    assert!(facts["progress_bytes"].as_u64().unwrap() >= 2 * large.len() as u64, "{facts}");
    // Encrypted and decrypted in the component on Node: ciphertext stored (larger than the file by the age header
    // and a 16-byte tag per 64 KiB), the plaintext back whole and as a range, the wrong key a typed error.
    assert!(facts["recipient"].as_str().unwrap().starts_with("age1"), "{facts}");
    let overhead = facts["sealed_size"].as_u64().unwrap() - large.len() as u64;
    assert_eq!(overhead - 16 * (large.len() as u64).div_ceil(65536), 16 + 168, "nonce and one-stanza header");
    assert_eq!(sha256(&std::fs::read(bucket.path("sealed.out")).unwrap()), sha256(&large));
    assert_eq!(std::fs::read(bucket.path("sealed-range.out")).unwrap(), &large[65530..65546]);
    assert_eq!(facts["wrong_key"], "undecryptable");

    // And RGW holds it, as any S3 client sees it.
    let listing = bucket.s3cmd_ok(&["ls", "-r", &format!("s3://{}", bucket.name)]);
    assert!(listing.contains("jco/large.bin") && !listing.contains("jco/small.txt"), "{listing}");
    let fetched = bucket.path("fetched.bin");
    bucket.s3cmd_ok(&["get", &format!("s3://{}/jco/large.bin", bucket.name), fetched.to_str().unwrap()]);
    assert_eq!(sha256(&std::fs::read(fetched).unwrap()), sha256(&large));
}
