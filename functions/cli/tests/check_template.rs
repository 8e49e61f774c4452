//! `ssr-onboard check-template`: the project's router template passes; each broken variant of it
//! gives its finding code; what is known only at deployment is `unchecked`; the registration
//! code never appears in the output; an unreadable file exits 2. Runs the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use ssr_onboard::ops::check_template::{TemplateCode, CHECK_TEMPLATE_SCHEMA};

const BIN: &str = env!("CARGO_BIN_EXE_ssr-onboard");
/// infra/ssr-router.yaml: the project's example router stack.
const ROUTER: &str = include_str!("../../../infra/ssr-router.yaml");
/// The registration code in the fixtures' parameter files.
const FIXTURE_CODE: &str = "FIXTURE-REGCODE-7f3a9c1e";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/check-template")
        .join(name)
}

/// Writes `text` to a file of its own under the target's test directory.
fn write(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("check-template");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture");
    path
}

/// Text replacements: `(from, to)`.
type Edits<'a> = &'a [(&'a str, &'a str)];

/// infra/ssr-router.yaml with each `(from, to)` applied; `from` must occur exactly once.
fn variant(edits: Edits) -> String {
    let mut text = ROUTER.to_string();
    for (from, to) in edits {
        assert_eq!(
            text.matches(from).count(),
            1,
            "infra/ssr-router.yaml no longer has exactly one {from:?}: update this test"
        );
        text = text.replacen(from, to, 1);
    }
    text
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.arg("check-template")
        .args(args)
        .env_remove("MIN_ROOT_VOLUME_GB")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run ssr-onboard");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let r = run(&all, &[]);
    let v = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", r.stdout, r.stderr));
    (r.code, v)
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The rows of a report with this status.
fn rows<'a>(report: &'a Value, status: &str) -> Vec<&'a Value> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|r| r["status"] == status)
        .collect()
}

fn finding_codes(report: &Value) -> Vec<String> {
    rows(report, "finding")
        .iter()
        .map(|r| r["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn row<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|r| r["check"] == check)
        .unwrap_or_else(|| panic!("no {check} row: {report:#}"))
}

#[test]
fn when_the_projects_router_template_is_checked_then_it_passes() {
    let path = write("router.yaml", ROUTER);
    let (code, report) = json(&[p(&path)]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["schema"], CHECK_TEMPLATE_SCHEMA);
    assert_eq!(report["routers"], serde_json::json!(["Router"]));
    assert!(finding_codes(&report).is_empty(), "{report:#}");
    assert!(rows(&report, "unchecked").is_empty(), "{report:#}");
    for check in [
        "instance-type",
        "root-volume",
        "interfaces",
        "source-dest-check",
        "instance-profile",
        "onboarding-config",
        "registration-code",
    ] {
        assert_eq!(row(&report, check)["status"], "ok", "{check}: {report:#}");
    }
    // The router stack takes an existing VPC: the route is the guard's to check after launch.
    assert_eq!(row(&report, "internet-route")["status"], "skipped");
    assert_eq!(report["summary"]["findings"], 0);

    let text = run(&[p(&path)], &[]);
    assert_eq!(text.code, 0, "{}{}", text.stdout, text.stderr);
    assert!(text.stdout.contains("0 findings"), "{}", text.stdout);
}

#[test]
fn when_the_guides_parameters_file_is_given_then_values_come_from_it_and_the_code_is_not_printed() {
    let path = write("router-params.yaml", ROUTER);
    let params = fixture("router.parameters.json");
    let (code, report) = json(&[p(&path), "--parameters", p(&params)]);
    assert_eq!(code, 0, "{report:#}");
    let onboarding = row(&report, "onboarding-config")["detail"]
        .as_str()
        .unwrap_or_default();
    assert!(
        onboarding.contains("\"ssr-fixture-1\"") && onboarding.contains("6.3.0-107.r1"),
        "StackName and SSRVersion from the file: {onboarding}"
    );
    for out in [
        run(&[p(&path), "--parameters", p(&params)], &[]),
        run(&[p(&path), "--parameters", p(&params), "-o", "json"], &[]),
    ] {
        assert!(!out.stdout.contains(FIXTURE_CODE) && !out.stderr.contains(FIXTURE_CODE));
    }
}

#[test]
fn when_a_broken_variant_of_the_router_template_is_checked_then_it_reports_the_guards_code() {
    let cases: &[(&str, &str, Edits)] = &[
        (
            "INSTANCE_TYPE_TOO_SMALL",
            "instance-type",
            &[("    Default: c5.xlarge\n", "    Default: c5.large\n")],
        ),
        (
            "ROOT_VOLUME_TOO_SMALL",
            "root-volume",
            &[("VolumeSize: 128", "VolumeSize: 64")],
        ),
        (
            "SRC_DST_CHECK_ENABLED",
            "source-dest-check",
            &[(
                "      GroupSet: [!Ref PrivateSecurityGroup]\n      SourceDestCheck: false\n",
                "      GroupSet: [!Ref PrivateSecurityGroup]\n",
            )],
        ),
        (
            "SRC_DST_CHECK_ENABLED",
            "source-dest-check",
            &[(
                "      GroupSet: [!Ref PublicSecurityGroup]\n      SourceDestCheck: false\n",
                "      GroupSet: [!Ref PublicSecurityGroup]\n      SourceDestCheck: true\n",
            )],
        ),
        (
            "WAN_NOT_DEVICE_0",
            "interfaces",
            &[
                (
                    "!Ref PublicInterface\n          DeviceIndex: \"0\"",
                    "!Ref PublicInterface\n          DeviceIndex: \"1\"",
                ),
                (
                    "!Ref PrivateInterface\n          DeviceIndex: \"1\"",
                    "!Ref PrivateInterface\n          DeviceIndex: \"0\"",
                ),
            ],
        ),
        (
            "ENI_ROLE_TAG_MISSING",
            "interfaces",
            &[("        - Key: SSR-ROLE\n          Value: LAN\n", "")],
        ),
        (
            "NO_LAN_INTERFACE",
            "interfaces",
            &[("        - Key: SSR-ROLE\n          Value: LAN\n", "")],
        ),
        (
            "ENI_ROLE_TAG_INVALID",
            "interfaces",
            &[("          Value: LAN\n", "          Value: lan\n")],
        ),
        (
            "MULTIPLE_WAN_INTERFACES",
            "interfaces",
            &[("          Value: LAN\n", "          Value: WAN\n")],
        ),
        (
            "NO_WAN_INTERFACE",
            "interfaces",
            &[("        - Key: SSR-ROLE\n          Value: WAN\n", "")],
        ),
        (
            "NO_INSTANCE_PROFILE",
            "instance-profile",
            &[("      IamInstanceProfile: !Ref RouterInstanceProfile\n", "")],
        ),
        (
            TemplateCode::ProfileCannotDescribeEnis.as_str(),
            "instance-profile",
            &[(
                "Action: ec2:DescribeNetworkInterfaces",
                "Action: ec2:DescribeInstances",
            )],
        ),
        (
            "ONBOARDING_CONFIG_INVALID",
            "onboarding-config",
            &[("\"mode\": \"mist-managed\"", "\"mode\": \"conductor\"")],
        ),
        (
            "ONBOARDING_CONFIG_INVALID",
            "onboarding-config",
            &[(
                "\"cloud-provider\": \"aws\"",
                "\"cloud-provider\": \"azure\"",
            )],
        ),
        (
            "ONBOARDING_CONFIG_INVALID",
            "onboarding-config",
            &[("\"ssr-version\": \"${SSRVersion}\", ", "")],
        ),
        (
            "ONBOARDING_CONFIG_INVALID",
            "onboarding-config",
            &[("#cloud-config\n", "#!/bin/bash\n")],
        ),
        (
            "ONBOARDING_CONFIG_MISSING",
            "onboarding-config",
            &[(
                "- path: /etc/128T-hardware-bootstrapper/onboarding-config.json",
                "- path: /etc/motd",
            )],
        ),
        (
            TemplateCode::RegistrationCodeNotNoEcho.as_str(),
            "registration-code",
            &[("    NoEcho: true\n", "")],
        ),
    ];
    for (i, (code, check, edits)) in cases.iter().enumerate() {
        let path = write(&format!("broken-{i}.yaml"), &variant(edits));
        let (exit, report) = json(&[p(&path)]);
        assert_eq!(exit, 3, "{code}: {report:#}");
        let found: Vec<&Value> = rows(&report, "finding")
            .into_iter()
            .filter(|r| r["code"] == *code)
            .collect();
        assert!(
            !found.is_empty(),
            "{code} expected for edit {edits:?}: {report:#}"
        );
        assert!(found.iter().all(|r| r["check"] == *check), "{report:#}");
        assert!(
            found
                .iter()
                .all(|r| r["remediation"].as_str().is_some_and(|s| !s.is_empty())),
            "{report:#}"
        );
        let text = run(&[p(&path)], &[]);
        assert_eq!(text.code, 3);
        assert!(text.stdout.contains(code), "{}", text.stdout);
    }
}

#[test]
fn when_the_router_has_no_user_data_then_onboarding_config_missing() {
    let start = ROUTER.find("      UserData:\n").expect("UserData");
    let end = ROUTER[start..]
        .find("\n\n")
        .map(|e| start + e)
        .expect("end of the UserData block");
    let text = format!("{}{}", &ROUTER[..start], &ROUTER[end + 1..]);
    let path = write("no-user-data.yaml", &text);
    let (code, report) = json(&[p(&path)]);
    assert_eq!(code, 3);
    assert_eq!(
        finding_codes(&report),
        ["ONBOARDING_CONFIG_MISSING"],
        "{report:#}"
    );
}

#[test]
fn when_the_registration_code_is_written_in_the_template_then_finding_and_the_value_is_not_printed()
{
    let code = "HARDCODED-REGCODE-51c0d3";
    let path = write(
        "hardcoded-code.yaml",
        &variant(&[(
            "\"registration-code\": \"${RegistrationCode}\"",
            &format!("\"registration-code\": \"{code}\""),
        )]),
    );
    let (exit, report) = json(&[p(&path)]);
    assert_eq!(exit, 3);
    assert_eq!(
        finding_codes(&report),
        [TemplateCode::RegistrationCodeInTemplate.as_str()],
        "{report:#}"
    );
    for out in [run(&[p(&path)], &[]), run(&[p(&path), "-o", "json"], &[])] {
        assert!(
            !out.stdout.contains(code) && !out.stderr.contains(code),
            "{}",
            out.stdout
        );
        assert!(!out.stdout.contains("51c0d3"));
    }
}

#[test]
fn when_findings_are_printed_then_the_registration_code_from_parameters_is_not() {
    let path = write(
        "no-noecho-bad-mode.yaml",
        &variant(&[
            ("    NoEcho: true\n", ""),
            ("\"mode\": \"mist-managed\"", "\"mode\": \"conductor\""),
        ]),
    );
    for params in ["router.parameters.json", "create-stack.parameters.json"] {
        let params = fixture(params);
        for format in ["text", "json"] {
            let out = run(&[p(&path), "--parameters", p(&params), "-o", format], &[]);
            assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
            assert!(out.stdout.contains("REGISTRATION_CODE_NOT_NO_ECHO"));
            assert!(
                !out.stdout.contains(FIXTURE_CODE) && !out.stderr.contains(FIXTURE_CODE),
                "{}",
                out.stdout
            );
        }
    }
}

#[test]
fn when_the_registration_code_flows_into_another_value_then_it_is_masked_there_too() {
    let path = write(
        "code-in-tag.yaml",
        &variant(&[(
            "          Value: LAN\n",
            "          Value: !Ref RegistrationCode\n",
        )]),
    );
    let params = fixture("router.parameters.json");
    let (code, report) = json(&[p(&path), "--parameters", p(&params)]);
    assert_eq!(code, 3);
    let invalid = rows(&report, "finding")
        .into_iter()
        .find(|r| r["code"] == "ENI_ROLE_TAG_INVALID")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert!(
        invalid["detail"]
            .as_str()
            .is_some_and(|d| d.contains("****")),
        "{invalid:#}"
    );
    let text = run(&[p(&path), "--parameters", p(&params)], &[]);
    assert!(!text.stdout.contains(FIXTURE_CODE) && !report.to_string().contains(FIXTURE_CODE));
}

#[test]
fn when_a_value_is_known_only_at_deployment_then_it_is_unchecked_not_guessed() {
    let cases: &[(&str, Edits, &str)] = &[
        // A Ref to a parameter without a value (no Default, no --parameters).
        (
            "instance-type",
            &[("    Default: c5.xlarge\n", "")],
            "parameter InstanceType has no value",
        ),
        (
            "instance-type",
            &[(
                "InstanceType: !Ref InstanceType",
                "InstanceType: !ImportValue shared-router-type",
            )],
            "Fn::ImportValue",
        ),
        (
            "root-volume",
            &[("VolumeSize: 128", "VolumeSize: !GetAtt Sizing.Gb")],
            "Fn::GetAtt Sizing.Gb",
        ),
        // Nothing says SSRVersion cannot be empty once its AllowedPattern is gone.
        (
            "onboarding-config",
            &[(
                "    AllowedPattern: \"^[0-9]+\\\\.[0-9]+\\\\.[0-9]+[A-Za-z0-9.-]*$\"\n",
                "",
            )],
            "parameter SSRVersion has no value",
        ),
        // A part that could shape the whole cloud-config (it starts a line) leaves it unchecked.
        (
            "onboarding-config",
            &[
                (
                    "\nParameters:\n  VpcId:",
                    "\nParameters:\n  CloudInit:\n    Type: String\n  VpcId:",
                ),
                ("          #cloud-config\n", "          ${CloudInit}\n"),
            ],
            "parameter CloudInit has no value",
        ),
    ];
    for (i, (check, edits, why)) in cases.iter().enumerate() {
        let path = write(&format!("unresolved-{i}.yaml"), &variant(edits));
        let (code, report) = json(&[p(&path)]);
        assert_eq!(code, 0, "unchecked is not a finding: {report:#}");
        let r = row(&report, check);
        assert_eq!(r["status"], "unchecked", "{report:#}");
        assert!(
            r["detail"].as_str().is_some_and(|d| d.contains(why)),
            "{why}: {r:#}"
        );
        assert!(r.get("code").is_none(), "{r:#}");
    }
    // With the value given, the same check is made.
    let path = write(
        "resolved.yaml",
        &variant(&[("    Default: c5.xlarge\n", "")]),
    );
    let params = write(
        "small.parameters.json",
        r#"[{"ParameterKey": "InstanceType", "ParameterValue": "t3.medium"}]"#,
    );
    let (code, report) = json(&[p(&path), "--parameters", p(&params)]);
    assert_eq!(code, 3);
    assert_eq!(
        finding_codes(&report),
        ["INSTANCE_TYPE_TOO_SMALL"],
        "{report:#}"
    );
}

#[test]
fn when_the_template_is_json_with_long_form_intrinsics_then_it_is_checked_like_yaml() {
    let template = fixture("vpc-router.json");
    let (code, report) = json(&[p(&template)]);
    assert_eq!(code, 0, "{report:#}");
    assert!(rows(&report, "unchecked").is_empty(), "{report:#}");
    assert_eq!(row(&report, "internet-route")["status"], "ok", "{report:#}");
    assert!(row(&report, "instance-profile")["detail"]
        .as_str()
        .is_some_and(|d| d.contains("ec2:Describe*")));
    // Fn::FindInMap over the Size parameter given in create-stack's list form.
    let params = fixture("create-stack.parameters.json");
    let (code, report) = json(&[p(&template), "--parameters", p(&params)]);
    assert_eq!(code, 0, "{report:#}");
    assert!(row(&report, "instance-type")["detail"]
        .as_str()
        .is_some_and(|d| d.starts_with("c5.4xlarge")));
}

#[test]
fn when_the_wan_subnet_has_no_default_route_to_an_internet_gateway_then_wan_no_internet_route() {
    let json_text = std::fs::read_to_string(fixture("vpc-router.json")).expect("fixture");
    for (name, from, to) in [
        (
            "other-destination",
            "\"DestinationCidrBlock\": \"0.0.0.0/0\"",
            "\"DestinationCidrBlock\": \"10.0.0.0/8\"",
        ),
        (
            "no-association",
            "\"SubnetId\": {\"Ref\": \"PublicSubnet\"}, \"RouteTableId\"",
            "\"SubnetId\": {\"Ref\": \"PrivateSubnet\"}, \"RouteTableId\"",
        ),
    ] {
        assert_eq!(json_text.matches(from).count(), 1, "{from}");
        let path = write(
            &format!("vpc-{name}.json"),
            &json_text.replacen(from, to, 1),
        );
        let (code, report) = json(&[p(&path)]);
        assert_eq!(code, 3, "{report:#}");
        assert_eq!(
            finding_codes(&report),
            ["WAN_NO_INTERNET_ROUTE"],
            "{report:#}"
        );
        assert_eq!(row(&report, "internet-route")["resource"], "PublicSubnet");
    }
}

#[test]
fn when_min_root_volume_gb_is_set_then_the_root_volume_is_held_to_it() {
    let path = write("router-min.yaml", ROUTER);
    let out = run(&[p(&path), "-o", "json"], &[("MIN_ROOT_VOLUME_GB", "256")]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(out.stdout.contains("ROOT_VOLUME_TOO_SMALL"));
    let bad = run(&[p(&path)], &[("MIN_ROOT_VOLUME_GB", "lots")]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("MIN_ROOT_VOLUME_GB"), "{}", bad.stderr);
}

#[test]
fn when_the_template_or_parameters_file_cannot_be_read_then_exit_2_and_say_why() {
    let router = write("readable.yaml", ROUTER);
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("check-template/absent.yaml");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![p(&missing).to_string()], "cannot read"),
        (
            vec![p(&write("bad.yaml", "Resources:\n  Router: [\n")).to_string()],
            "not valid YAML",
        ),
        (
            vec![p(&write("bad.json", "{\"Resources\": {")).to_string()],
            "not valid JSON",
        ),
        (
            vec![p(&write("list.yaml", "- a\n- b\n")).to_string()],
            "not a CloudFormation template",
        ),
        (
            vec![p(&write(
                "alias.yaml",
                "Resources:\n  A: &a\n    Type: AWS::EC2::Instance\n  B: *a\n",
            ))
            .to_string()],
            "aliases",
        ),
        (
            vec![p(&write(
                "no-instance.yaml",
                "Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties: {GroupDescription: x}\n",
            ))
            .to_string()],
            "no AWS::EC2::Instance",
        ),
        (
            vec![
                p(&router).to_string(),
                "--parameters".to_string(),
                p(&write(
                    "bad.parameters.json",
                    &format!(r#"[{{"ParameterValue": "{FIXTURE_CODE}"}}]"#),
                ))
                .to_string(),
            ],
            "ParameterKey",
        ),
        (
            vec![
                p(&router).to_string(),
                "--parameters".to_string(),
                p(&write(
                    "cut.parameters.json",
                    &format!(r#"[{{"ParameterKey": "RegistrationCode", "ParameterValue": "{FIXTURE_CODE}"#),
                ))
                .to_string(),
            ],
            "not valid JSON",
        ),
    ];
    for (args, why) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args, &[]);
        assert_eq!(out.code, 2, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(why), "{why}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        assert!(!out.stderr.contains(FIXTURE_CODE), "{}", out.stderr);
    }
}

#[test]
fn when_a_template_only_code_exists_then_docs_findings_md_documents_it() {
    let doc = include_str!("../../../docs/findings.md");
    for code in TemplateCode::ALL {
        let row = format!("| `{}` | {} |", code.as_str(), code.severity().as_str());
        assert!(doc.contains(&row), "docs/findings.md lacks the row {row}");
    }
}
