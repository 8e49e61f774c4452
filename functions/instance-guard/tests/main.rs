//! The crate's integration tests, one test binary (`cargo test -p <crate> --test integration
//! <module>::`): one link of the AWS SDK instead of one per file, on a 2-core CI machine.
//! Declare every new file here (`layering::when_a_test_file_is_added_then_its_crates_tests_main_declares_it`
//! in the core's tests checks it).

mod preflight_runtime;
mod runtime_api;
