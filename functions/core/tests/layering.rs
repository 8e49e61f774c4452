//! The layers point one way (docs/architecture.md), read from the code itself:
//! - the pure rooms live in the `ssr-onboard-domain` crate, whose dependencies hold no AWS SDK,
//!   no HTTP client and no async runtime (so the compiler keeps them pure), and whose modules
//!   import each other without a cycle;
//! - the core's modules import each other without a cycle, and each only from a lower layer:
//!   `lambda` → `handlers` → (`alerting`, `apply`, `deps`, `mist`) → `aws` → (`retry`,
//!   `metrics`, `telemetry`) → the domain's rooms.
//!
//! Imports are read from the `crate::…` paths of each file's code (comments and test code
//! left out), so a new `use` that breaks the rule fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CORE_SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
const DOMAIN_SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../domain/src");
const DOMAIN_MANIFEST: &str = include_str!("../../domain/Cargo.toml");

/// The core's layers, lowest first. A module may import only from a strictly lower layer (or
/// from the domain's rooms, which the core re-exports under their own names).
const CORE_LAYERS: &[&[&str]] = &[
    &["retry", "metrics", "telemetry"],
    &["aws"],
    &["alerting", "apply", "deps", "mist"],
    &["handlers"],
    &["lambda"],
];

/// Crates the domain must never depend on.
const NOT_PURE: &[&str] = &[
    "aws-config",
    "aws-sdk-",
    "aws-smithy-",
    "aws_lambda_events",
    "lambda_runtime",
    "tokio",
    "reqwest",
    "futures",
    "hyper",
];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`aws/ec2/mod.rs` → `aws`, `lib.rs` → `lib`).
fn top_module(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file);
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a file without its comments and its test code (`tests.rs` files, the
/// `test_support` module, a trailing `#[cfg(test)]` block).
fn code_of(file: &Path, text: &str) -> String {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == "tests.rs" || name == "test_support.rs" {
        return String::new();
    }
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment of every `crate::` path in `code`, braces of `use crate::{a, b::c}`
/// included.
fn imported_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut at_start = true;
            let mut word = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => {
                        depth += 1;
                        at_start = false;
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => {
                        if !word.is_empty() {
                            out.insert(std::mem::take(&mut word));
                        }
                        at_start = true;
                    }
                    c if depth == 1 && at_start && (c.is_alphanumeric() || c == '_') => {
                        word.push(c)
                    }
                    c if depth == 1 && at_start && !c.is_whitespace() => {
                        if !word.is_empty() {
                            out.insert(std::mem::take(&mut word));
                        }
                        at_start = false;
                    }
                    _ => {}
                }
            }
            if !word.is_empty() {
                out.insert(word);
            }
        } else {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !word.is_empty() {
                out.insert(word);
            }
        }
    }
    out
}

/// Module → the modules of the same crate it imports.
fn graph_of(root: &str) -> Graph {
    let root = Path::new(root);
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mut modules: BTreeSet<String> = BTreeSet::new();
    for f in &files {
        modules.insert(top_module(root, f));
    }
    let mut graph = Graph::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let from = top_module(root, f);
        let to = graph.entry(from.clone()).or_default();
        for m in imported_modules(&code_of(f, &text)) {
            if m != from && modules.contains(&m) {
                to.insert(m);
            }
        }
    }
    graph
}

/// A cycle of `graph`, if it has one (as the list of modules around it).
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

/// The imports that go sideways or up the layers (`from -> to`).
fn layer_violations(graph: &Graph, layers: &[&[&str]]) -> Vec<String> {
    let rank = |m: &str| layers.iter().position(|l| l.contains(&m));
    let mut out = Vec::new();
    for (from, tos) in graph {
        let Some(rf) = rank(from) else { continue };
        for to in tos {
            if let Some(rt) = rank(to) {
                if rt >= rf {
                    out.push(format!("{from} -> {to}"));
                }
            }
        }
    }
    out
}

fn graph(edges: &[(&str, &str)]) -> Graph {
    let mut g = Graph::new();
    for (a, b) in edges {
        g.entry(a.to_string()).or_default().insert(b.to_string());
        g.entry(b.to_string()).or_default();
    }
    g
}

#[test]
fn when_the_import_reader_meets_use_lines_then_it_finds_every_module_and_skips_comments() {
    let code = code_of(
        Path::new("x.rs"),
        "use crate::aws::ec2::Ec2;\nuse crate::{deps::Deps, render, episode::{a, b}};\n// crate::lambda\nfn f() { crate::metrics::emit(); }\n#[cfg(test)]\nmod tests {\n use crate::handlers;\n}\n",
    );
    let got = imported_modules(&code);
    let want: BTreeSet<String> = ["aws", "deps", "render", "episode", "metrics"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(got, want);
}

#[test]
fn when_modules_import_in_a_circle_or_up_the_layers_then_both_are_reported() {
    let cyclic = graph(&[("aws", "deps"), ("deps", "aws"), ("handlers", "aws")]);
    assert!(find_cycle(&cyclic).is_some());
    assert!(find_cycle(&graph(&[("handlers", "aws"), ("aws", "retry")])).is_none());
    assert_eq!(
        layer_violations(
            &graph(&[("aws", "handlers"), ("handlers", "aws")]),
            CORE_LAYERS
        ),
        ["aws -> handlers"]
    );
    assert_eq!(
        layer_violations(&graph(&[("mist", "deps")]), CORE_LAYERS),
        ["mist -> deps"]
    );
}

#[test]
fn when_the_core_is_read_then_its_modules_form_no_cycle_and_import_only_downwards() {
    let g = graph_of(CORE_SRC);
    assert!(g.contains_key("handlers") && g.contains_key("aws"), "{g:?}");
    assert_eq!(find_cycle(&g), None, "import cycle in functions/core/src");
    let unknown: Vec<&String> = g
        .keys()
        .filter(|m| *m != "lib" && !CORE_LAYERS.iter().any(|l| l.contains(&m.as_str())))
        .collect();
    assert!(
        unknown.is_empty(),
        "modules with no layer in CORE_LAYERS: {unknown:?} (add them where they belong)"
    );
    assert_eq!(layer_violations(&g, CORE_LAYERS), Vec::<String>::new());
}

#[test]
fn when_the_domain_is_read_then_its_rooms_form_no_cycle() {
    let g = graph_of(DOMAIN_SRC);
    assert!(
        g.contains_key("episode") && g.contains_key("render"),
        "{g:?}"
    );
    assert_eq!(find_cycle(&g), None, "import cycle in functions/domain/src");
}

#[test]
fn when_the_domain_manifest_is_read_then_it_depends_on_nothing_that_does_io() {
    let deps = DOMAIN_MANIFEST
        .split("[dependencies]")
        .nth(1)
        .map(|s| s.split("\n[").next().unwrap_or(s))
        .unwrap_or("");
    assert!(deps.contains("serde"), "{deps}");
    for line in deps.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        let name = line.split(['.', '=', ' ']).next().unwrap_or("");
        assert!(
            !NOT_PURE.iter().any(|bad| name.starts_with(bad)),
            "the domain crate must stay pure, but depends on {name}"
        );
    }
}

/// Every crate with `autotests = false` runs its tests/*.rs as modules of tests/main.rs: a file
/// (or a directory module) not declared there would never be compiled or run.
#[test]
fn when_a_test_file_is_added_then_its_crates_tests_main_declares_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    let members: Vec<&str> = workspace
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix('"')?.strip_suffix("\","))
        .collect();
    let mut checked = 0;
    let mut undeclared = Vec::new();
    for member in members {
        let dir = root.join(member);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        if !manifest.lines().any(|l| l.trim() == "autotests = false") {
            continue;
        }
        checked += 1;
        let tests = dir.join("tests");
        let main = std::fs::read_to_string(tests.join("main.rs")).unwrap_or_default();
        for entry in std::fs::read_dir(&tests).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let module =
                path.extension().is_some_and(|e| e == "rs") || path.join("mod.rs").is_file();
            if module && name != "main" && !main.contains(&format!("\nmod {name};\n")) {
                undeclared.push(format!("{member}/tests/{name}"));
            }
        }
    }
    assert!(
        checked >= 5,
        "the workspace's crates with one test binary: {checked}"
    );
    assert!(
        undeclared.is_empty(),
        "declare these in their tests/main.rs: {undeclared:?}"
    );
}
