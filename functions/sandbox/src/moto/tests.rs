use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::install::{lock_path, venv_dir_from, InstallLock};
use super::recorder::{form_param, parse_recording};
use super::*;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
    let map: HashMap<String, OsString> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn when_venv_variable_set_then_it_wins() {
    let dir = venv_dir_from(env(&[
        (VENV_ENV, "/opt/moto"),
        ("XDG_CACHE_HOME", "/xdg"),
        ("HOME", "/home/u"),
    ]));
    assert_eq!(dir, PathBuf::from("/opt/moto"));
}

#[test]
fn when_xdg_cache_home_set_then_venv_under_it() {
    let dir = venv_dir_from(env(&[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/u")]));
    assert_eq!(
        dir,
        PathBuf::from(format!("/xdg/ssr-onboard/moto-{MOTO_VERSION}"))
    );
}

#[test]
fn when_only_home_set_then_venv_under_dot_cache() {
    let dir = venv_dir_from(env(&[("HOME", "/home/u")]));
    assert_eq!(
        dir,
        PathBuf::from(format!("/home/u/.cache/ssr-onboard/moto-{MOTO_VERSION}"))
    );
}

#[test]
fn when_variables_empty_or_xdg_relative_then_they_are_ignored() {
    let dir = venv_dir_from(env(&[
        (VENV_ENV, ""),
        ("XDG_CACHE_HOME", "relative/cache"),
        ("HOME", "/home/u"),
    ]));
    assert_eq!(
        dir,
        PathBuf::from(format!("/home/u/.cache/ssr-onboard/moto-{MOTO_VERSION}"))
    );
}

#[test]
fn when_nothing_set_then_venv_under_temp_dir() {
    let dir = venv_dir_from(env(&[]));
    assert!(dir.starts_with(std::env::temp_dir()));
    assert!(dir.ends_with(format!("ssr-onboard/moto-{MOTO_VERSION}")));
}

#[test]
fn when_venv_given_then_lock_file_sits_beside_it() {
    assert_eq!(
        lock_path(Path::new("/c/ssr-onboard/moto-5.2.5")),
        PathBuf::from("/c/ssr-onboard/moto-5.2.5.lock")
    );
}

fn scratch_lock(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "ssr-onboard-lock-test-{}-{name}.lock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

#[tokio::test]
async fn when_lock_held_by_live_owner_then_second_acquirer_waits_until_released() {
    let path = scratch_lock("live");
    let first = InstallLock::acquire(&path, &|_| {}).await.expect("first");
    let waited = tokio::time::timeout(
        Duration::from_millis(600),
        InstallLock::acquire(&path, &|_| {}),
    )
    .await;
    assert!(
        waited.is_err(),
        "second acquirer must wait while the lock is held"
    );
    drop(first);
    let second = tokio::time::timeout(Duration::from_secs(5), InstallLock::acquire(&path, &|_| {}))
        .await
        .expect("acquired after release")
        .expect("second");
    drop(second);
    assert!(!path.exists(), "lock file removed on drop");
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn when_lock_owner_is_dead_then_lock_is_taken_over() {
    let path = scratch_lock("dead");
    let file = File::create(&path).expect("create lock");
    // pid_max is at most 2^22 on Linux: this pid cannot exist.
    writeln!(&file, "4294967").expect("write pid");
    file.set_modified(SystemTime::now() - Duration::from_secs(10))
        .expect("age the lock");
    drop(file);
    let lock = tokio::time::timeout(Duration::from_secs(5), InstallLock::acquire(&path, &|_| {}))
        .await
        .expect("stale lock taken over")
        .expect("acquire");
    let owner = std::fs::read_to_string(&path).expect("read lock");
    assert_eq!(owner.trim(), std::process::id().to_string());
    drop(lock);
}

#[test]
fn when_query_request_recorded_then_action_and_service_parsed() {
    let line = r#"{"headers": {"Host": "127.0.0.1:5000", "Content-Type": "application/x-www-form-urlencoded", "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=x"}, "method": "POST", "url": "http://127.0.0.1:5000/", "body": "QWN0aW9uPU1vZGlmeU5ldHdvcmtJbnRlcmZhY2VBdHRyaWJ1dGUmVmVyc2lvbj0yMDE2LTExLTE1", "body_encoded": true}"#;
    let request = RecordedRequest::parse(line).expect("parses");
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/");
    assert_eq!(request.query, "");
    assert_eq!(request.service.as_deref(), Some("ec2"));
    assert_eq!(
        request.action.as_deref(),
        Some("ModifyNetworkInterfaceAttribute")
    );
    assert_eq!(
        request.body,
        "Action=ModifyNetworkInterfaceAttribute&Version=2016-11-15"
    );
}

#[test]
fn when_json_request_recorded_then_action_from_target_header() {
    let line = r#"{"headers": {"x-amz-target": "DynamoDB_20120810.PutItem", "authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x"}, "method": "POST", "url": "http://127.0.0.1:5000/", "body": "{}", "body_encoded": false}"#;
    let request = RecordedRequest::parse(line).expect("parses");
    assert_eq!(request.service.as_deref(), Some("dynamodb"));
    assert_eq!(request.action.as_deref(), Some("PutItem"));
}

#[test]
fn when_concurrent_requests_share_a_line_of_the_recording_then_both_are_read() {
    let a = r#"{"headers": {"x-amz-target": "DynamoDB_20120810.BatchGetItem"}, "method": "POST", "url": "http://127.0.0.1:5000/", "body": "{}", "body_encoded": false}"#;
    let b = r#"{"headers": {}, "method": "GET", "url": "http://127.0.0.1:5000/?Action=DescribeImages&Version=2016-11-15", "body": "", "body_encoded": false}"#;
    let text = format!("{a}{b}\n\n{a}\n");
    let all = parse_recording(&text).expect("parses");
    let actions: Vec<_> = all.iter().map(|r| r.action.as_deref()).collect();
    assert_eq!(
        actions,
        [
            Some("BatchGetItem"),
            Some("DescribeImages"),
            Some("BatchGetItem")
        ]
    );
    assert!(parse_recording("{\"method\": ").is_err());
}

#[test]
fn when_action_in_query_string_then_parsed_from_query() {
    let line = r#"{"headers": {}, "method": "GET", "url": "http://127.0.0.1:5000/?Action=DescribeImages&Version=2016-11-15", "body": "", "body_encoded": false}"#;
    let request = RecordedRequest::parse(line).expect("parses");
    assert_eq!(request.path, "/");
    assert_eq!(request.query, "Action=DescribeImages&Version=2016-11-15");
    assert_eq!(request.action.as_deref(), Some("DescribeImages"));
    assert_eq!(request.service, None);
}

#[test]
fn when_form_value_percent_encoded_then_decoded() {
    assert_eq!(
        form_param("A=1&Name=a%2Fb+c&Z=%", "Name").as_deref(),
        Some("a/b c")
    );
    assert_eq!(form_param("Z=%", "Z").as_deref(), Some("%"));
    assert_eq!(form_param("A=1", "Name"), None);
}

#[test]
fn when_text_longer_than_tail_then_last_lines_kept() {
    assert_eq!(tail("a\nb\nc\nd", 2), "c\nd");
    assert_eq!(tail("a", 5), "a");
}
