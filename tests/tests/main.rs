//! The crate's integration tests, one test binary (`cargo test -p <crate> --test integration
//! <module>::`): one link of the AWS SDK instead of one per file, on a 2-core CI machine.

mod alert_events;
mod alert_outbox;
mod drift;
mod guard;
mod harness_smoke;
mod mist_probe;
mod network_faults;
mod organization;
mod stack_watch;
mod watchdog;

/// `autotests = false`: a test file not declared above would never be compiled or run.
#[test]
fn when_a_test_file_is_added_then_it_is_declared_in_main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap_or_default();
    let mut undeclared = Vec::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let is_module =
            path.extension().is_some_and(|e| e == "rs") || path.join("mod.rs").is_file();
        if is_module && name != "main" && !main.contains(&format!("\nmod {name};\n")) {
            undeclared.push(name.to_string());
        }
    }
    assert!(
        undeclared.is_empty(),
        "declare these in tests/main.rs: {undeclared:?}"
    );
}
