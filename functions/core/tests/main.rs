//! The crate's integration tests, one test binary (`cargo test -p <crate> --test integration
//! <module>::`): one link of the AWS SDK instead of one per file, on a 2-core CI machine.
//! Declare every new file here (`layering::when_a_test_file_is_added_then_its_crates_tests_main_declares_it`
//! in the core's tests checks it).

mod call_check;
mod cfn;
mod log_capture;
mod template;
mod watchdog_support;

mod custom_resource_logs;
mod docs_drift;
mod event_rules;
mod faults;
mod guard_contract;
mod iam;
mod kill_switch;
mod layering;
mod mist_fixtures;
mod mist_webhook;
mod mist_webhook_logs;
mod org_templates;
mod preflight;
mod prop_drift;
mod prop_events;
mod release_template;
mod safe_upgrades;
mod stack_watch_logs;
mod template_parameters;
mod watchdog_contract;
mod watchdog_logs;
mod watchdog_mist;
