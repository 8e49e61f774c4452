//! The crate's integration tests, one test binary (`cargo test -p <crate> --test integration
//! <module>::`): one link of the AWS SDK instead of one per file, on a 2-core CI machine.
//! Declare every new file here (`layering::when_a_test_file_is_added_then_its_crates_tests_main_declares_it`
//! in the core's tests checks it).

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
