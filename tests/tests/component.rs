//! The components stay portable: the library imports only standard WASI 0.2 plus our three small interfaces, so any
//! WASI host can run it — the embedding example (`host/examples/embed.rs`) does, in a plain wasmtime host; the edge
//! build imports nothing but standard WASI and exports only `wasi:http/incoming-handler`; both stay within their
//! size budget.

use spaces_tests::component_path;
use wasmparser::{Parser, Payload};

/// The outermost component's import and export names.
fn interface(path: &std::path::Path) -> (Vec<String>, Vec<String>) {
    let bytes = std::fs::read(path).expect("the component built by host/build.rs");
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    // Nested core modules and components have imports of their own; only the outermost component's count.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(&bytes) {
        match payload.expect("valid component") {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(section) if depth == 0 => {
                for import in section {
                    imports.push(import.expect("import").name.name.to_string());
                }
            }
            Payload::ComponentExportSection(section) if depth == 0 => {
                for export in section {
                    exports.push(export.expect("export").name.name.to_string());
                }
            }
            _ => {}
        }
    }
    (imports, exports)
}

/// Imports a sandbox would refuse or a host may not have.
fn assert_no_files_or_sockets(imports: &[String]) {
    for forbidden in ["wasi:sockets/", "wasi:filesystem/"] {
        assert!(
            !imports.iter().any(|i| i.starts_with(forbidden)),
            "the component must not need {forbidden}: {imports:?}"
        );
    }
}

#[test]
fn imports_only_standard_wasi_and_the_three_host_interfaces() {
    let (imports, exports) = interface(&component_path());
    let ours = [
        "spaces:storage/credentials@0.2.0",
        "spaces:storage/metrics@0.2.0",
        "spaces:storage/progress@0.2.0",
        "spaces:storage/types@0.2.0",
    ];
    let foreign: Vec<&String> =
        imports.iter().filter(|i| !i.starts_with("wasi:") && !ours.contains(&i.as_str())).collect();
    assert!(foreign.is_empty(), "non-standard imports: {foreign:?}");
    assert!(imports.iter().any(|i| i.starts_with("wasi:http/outgoing-handler@0.2")), "{imports:?}");
    assert_no_files_or_sockets(&imports);
    assert!(exports.contains(&"spaces:storage/storage@0.2.0".to_string()), "{exports:?}");
    println!("component: {} imports", imports.len());
}

#[test]
fn the_edge_component_is_a_plain_wasi_http_proxy() {
    let (imports, exports) = interface(&spaces_tests::edge_component_path());
    let foreign: Vec<&String> = imports.iter().filter(|i| !i.starts_with("wasi:")).collect();
    assert!(foreign.is_empty(), "the edge component imports something of ours: {foreign:?}");
    assert!(imports.iter().any(|i| i.starts_with("wasi:http/outgoing-handler@0.2")), "{imports:?}");
    assert!(imports.iter().any(|i| i.starts_with("wasi:cli/environment@0.2")), "settings come from the environment");
    assert_no_files_or_sockets(&imports);
    assert_eq!(exports, ["wasi:http/incoming-handler@0.2.12"]);
}

/// What an edge platform or a browser downloads and compiles: kept small, and printed so growth is visible.
const SIZE_BUDGET: u64 = 2 << 20;

#[test]
fn both_components_fit_their_size_budget() {
    for (what, path) in [("library", component_path()), ("edge", spaces_tests::edge_component_path())] {
        let size = std::fs::metadata(&path).expect("the components built by host/build.rs").len();
        eprintln!("{what} component: {size} bytes ({:.0} KiB; budget {} KiB)", size as f64 / 1024.0, SIZE_BUDGET >> 10);
        assert!(size <= SIZE_BUDGET, "the {what} component is {size} bytes, over the budget of {SIZE_BUDGET}");
    }
}

#[test]
fn the_embedding_example_runs_the_component_in_a_plain_wasmtime_host() {
    let bucket = spaces_tests::Bucket::new("embed-example");
    std::fs::write(bucket.path("note.txt"), "stored by host/examples/embed.rs\n").unwrap();
    let example = spaces_tests::profile_dir().join("examples/embed");
    let mut cmd = std::process::Command::new(example);
    bucket.configure(&mut cmd).arg(component_path()).arg(bucket.path("note.txt")).arg("docs/note.txt");
    let out = spaces_tests::run(&mut cmd);
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("stored docs/note.txt: 33 bytes") && stdout.contains("listed docs/note.txt"), "{stdout}");
    let url = stdout.lines().last().unwrap();
    let (status, body) = spaces_tests::curl("GET", url, None, &[]);
    assert_eq!((status, body.as_slice()), (200, "stored by host/examples/embed.rs\n".as_bytes()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("put-object PUT -> 200"), "metrics reach the host's import");
}
