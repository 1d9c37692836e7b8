//! The components stay portable: each imports exactly the world it declares in `wit/` at one WASI version (checked by
//! `wasm-tools component targets`), so a host that links just that world runs it. The library needs standard WASI
//! plus our three small interfaces — the embedding example (`host/examples/embed.rs`) runs it in a wasmtime host
//! that links only the proxy world's interfaces and ours; the edge build needs the proxy world plus
//! `wasi:cli/environment` and exports only `wasi:http/incoming-handler`; the blobstore build imports standard WASI
//! only (with the environment and `wasi:filesystem`) and exports the three `wasi:blobstore` interfaces. All stay
//! within their size budget.

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

/// `wasm-tools component targets`: does the component at `path` import no more than `world` of `wit/` offers,
/// at the same versions, and export what it demands? The checker's complaint when it does not.
fn targets(path: &std::path::Path, world: &str) -> Result<(), String> {
    let wit = spaces_tests::manifest_dir().join("../wit");
    let out = std::process::Command::new(spaces_tests::tool("wasm-tools"))
        .args(["component", "targets"])
        .arg(&wit)
        .arg(path)
        .args(["--world", world])
        .output()
        .expect("run wasm-tools (installed by tests/scripts/setup.sh)");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn each_component_imports_exactly_its_world_at_one_wasi_version() {
    let components = [
        (component_path(), "client"),
        (spaces_tests::edge_component_path(), "edge"),
        (spaces_tests::blobstore_component_path(), "blobstore"),
    ];
    for (path, world) in components {
        targets(&path, world).unwrap_or_else(|e| panic!("{} does not target world {world}: {e}", path.display()));
        let (imports, exports) = interface(&path);
        // No draft proposal is imported; the one exported (wasi:blobstore) has a version of its own.
        let versions: std::collections::BTreeSet<&str> = imports
            .iter()
            .filter(|i| i.starts_with("wasi:"))
            .filter_map(|i| i.split_once('@'))
            .map(|(_, v)| v)
            .collect();
        assert_eq!(versions.into_iter().collect::<Vec<_>>(), ["0.2.12"], "{world}: {imports:?}");
        if world == "blobstore" {
            // It stages values in files of a directory the host grants, and needs nothing else of the system.
            assert!(!imports.iter().any(|i| i.starts_with("wasi:sockets/")), "{imports:?}");
        } else {
            assert_no_files_or_sockets(&imports);
        }
        println!("{world}: imports {imports:?}, exports {exports:?}");
    }
    // The check discriminates: the edge build imports the environment, which world `client` does not offer.
    let refused = targets(&spaces_tests::edge_component_path(), "client").expect_err("edge is not a client");
    assert!(refused.contains("missing import named `wasi:cli/environment@0.2.12`"), "{refused}");
}

#[test]
fn each_component_imports_only_what_its_face_needs() {
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
    assert!(!imports.iter().any(|i| i.starts_with("wasi:cli/")), "the library needs no wasi:cli: {imports:?}");
    assert!(exports.contains(&"spaces:storage/storage@0.2.0".to_string()), "{exports:?}");

    let (imports, exports) = interface(&spaces_tests::edge_component_path());
    // Everything wasi:http/proxy@0.2.12 may import; the edge adds the environment its settings come from.
    let proxy = [
        "wasi:io/",
        "wasi:clocks/",
        "wasi:random/random@",
        "wasi:cli/stdout@",
        "wasi:cli/stderr@",
        "wasi:cli/stdin@",
        "wasi:http/types@",
        "wasi:http/outgoing-handler@",
    ];
    let beyond: Vec<&String> = imports.iter().filter(|i| !proxy.iter().any(|p| i.starts_with(p))).collect();
    assert_eq!(beyond, ["wasi:cli/environment@0.2.12"], "{imports:?}");
    assert_eq!(exports, ["wasi:http/incoming-handler@0.2.12"]);

    let (imports, exports) = interface(&spaces_tests::blobstore_component_path());
    let foreign: Vec<&String> =
        imports.iter().filter(|i| !i.starts_with("wasi:") && *i != "spaces:storage/types@0.2.0").collect();
    assert!(foreign.is_empty(), "the blobstore build imports nothing of ours that has functions: {foreign:?}");
    let cli: Vec<&String> = imports.iter().filter(|i| i.starts_with("wasi:cli/")).collect();
    assert_eq!(cli, ["wasi:cli/environment@0.2.12"], "settings come from the environment alone: {imports:?}");
    let standard = ["types", "container", "blobstore"].map(|i| format!("wasi:blobstore/{i}@0.2.0-draft"));
    assert_eq!(exports, standard);
}

/// What an edge platform or a browser downloads and compiles: kept small, and printed so growth is visible.
const SIZE_BUDGET: u64 = 1 << 20;

#[test]
fn every_component_fits_its_size_budget() {
    let components = [
        ("library", component_path()),
        ("edge", spaces_tests::edge_component_path()),
        ("blobstore", spaces_tests::blobstore_component_path()),
    ];
    for (what, path) in components {
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
