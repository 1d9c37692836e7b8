//! The component stays portable: it imports only standard WASI 0.2 plus our three small interfaces, so any WASI
//! host can run it (every other test instantiates it in the real host with exactly those imports), and it stays
//! within its size budget.

use spaces_tests::component_path;
use wasmparser::{Parser, Payload};

#[test]
fn imports_only_standard_wasi_and_the_three_host_interfaces() {
    let bytes = std::fs::read(component_path()).expect("the component built by host/build.rs");
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
    let ours = [
        "spaces:storage/credentials@0.1.0",
        "spaces:storage/metrics@0.1.0",
        "spaces:storage/progress@0.1.0",
        "spaces:storage/types@0.1.0",
    ];
    let foreign: Vec<&String> =
        imports.iter().filter(|i| !i.starts_with("wasi:") && !ours.contains(&i.as_str())).collect();
    assert!(foreign.is_empty(), "non-standard imports: {foreign:?}");
    assert!(imports.iter().any(|i| i.starts_with("wasi:http/outgoing-handler@0.2")), "{imports:?}");
    for forbidden in ["wasi:sockets/", "wasi:filesystem/"] {
        assert!(
            !imports.iter().any(|i| i.starts_with(forbidden)),
            "the component must not need {forbidden}: {imports:?}"
        );
    }
    assert!(exports.contains(&"spaces:storage/storage@0.1.0".to_string()), "{exports:?}");
    println!("component: {} bytes, {} imports", bytes.len(), imports.len());
}

/// What an edge platform or a browser downloads and compiles: kept small, and printed so growth is visible.
const SIZE_BUDGET: u64 = 2 << 20;

#[test]
fn the_component_fits_its_size_budget() {
    let size = std::fs::metadata(component_path()).expect("the component built by host/build.rs").len();
    eprintln!("component size: {size} bytes ({:.0} KiB; budget {} KiB)", size as f64 / 1024.0, SIZE_BUDGET >> 10);
    assert!(size <= SIZE_BUDGET, "the component is {size} bytes, over the budget of {SIZE_BUDGET}");
}
