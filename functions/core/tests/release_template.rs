//! infra/template.yaml as a release ships it: what an uninstall keeps (the state table), that a
//! reinstall under the same stack name cannot collide with what was kept, the Serverless
//! Application Repository metadata, and how `sam build` builds each function (its own package).

use std::path::Path;

use yaml_rust2::Yaml;

use crate::template;

const INFRA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra");
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn resources(doc: &Yaml) -> Vec<(String, Yaml)> {
    doc["Resources"]
        .as_hash()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
        .collect()
}

fn functions(doc: &Yaml) -> Vec<(String, Yaml)> {
    resources(doc)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .collect()
}

#[test]
fn when_the_stack_is_deleted_or_an_update_replaces_the_table_then_the_state_table_is_retained() {
    let doc = template::load();
    let table = &doc["Resources"]["StateTable"];
    assert_eq!(table["Type"].as_str(), Some("AWS::DynamoDB::Table"));
    // The onboarding history and the alert claims: deleting or replacing the table would lose
    // them (and a new table would page again for what was already paged).
    assert_eq!(table["DeletionPolicy"].as_str(), Some("Retain"));
    assert_eq!(table["UpdateReplacePolicy"].as_str(), Some("Retain"));
}

#[test]
fn when_the_stack_is_reinstalled_under_the_same_name_then_nothing_it_kept_has_a_fixed_name() {
    // A retained resource with a fixed name (a TableName, a LogGroupName…) would make the next
    // stack's create of the same name fail; generated names never collide.
    const NAME_PROPERTIES: &[&str] = &[
        "TableName",
        "BucketName",
        "LogGroupName",
        "QueueName",
        "TopicName",
        "FunctionName",
        "RoleName",
        "AliasName",
        "Name",
        "KeyAlias",
    ];
    let doc = template::load();
    let mut retained = Vec::new();
    for (name, r) in resources(&doc) {
        let policy = r["DeletionPolicy"].as_str().unwrap_or("Delete");
        if policy == "Delete" {
            continue;
        }
        retained.push(name.clone());
        for prop in NAME_PROPERTIES {
            assert!(
                r["Properties"][*prop].is_badvalue(),
                "{name} is kept on delete ({policy}) and has a fixed {prop}: a reinstall under the \
                 same stack name would collide with it"
            );
        }
    }
    assert!(
        retained.contains(&"StateTable".to_string()),
        "retained: {retained:?}"
    );
}

#[test]
fn when_published_to_the_serverless_application_repository_then_its_metadata_is_complete() {
    let doc = template::load();
    let app = &doc["Metadata"]["AWS::ServerlessRepo::Application"];
    let s = |key: &str| {
        app[key]
            .as_str()
            .unwrap_or_else(|| panic!("AWS::ServerlessRepo::Application.{key} is missing"))
            .to_string()
    };
    // The SAR's documented constraints (AWS SAM template Metadata section properties).
    let name = s("Name");
    assert!(
        (1..=140).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "{name}"
    );
    let description = s("Description");
    assert!((1..=256).contains(&description.len()), "{description}");
    let author = s("Author");
    assert!(
        (1..=127).contains(&author.len())
            && author
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !author.starts_with('-')
            && !author.ends_with('-')
            && !author.contains("--"),
        "{author}"
    );
    // The license matches Cargo.toml's, and the files the URLs name exist beside the template.
    assert_eq!(s("SpdxLicenseId"), "Apache-2.0");
    assert_eq!(env!("CARGO_PKG_LICENSE"), "Apache-2.0");
    for key in ["LicenseUrl", "ReadmeUrl"] {
        let file = Path::new(INFRA).join(s(key));
        assert!(file.is_file(), "{key}: {} does not exist", file.display());
    }
    // The published version is the workspace's (bump both together).
    assert_eq!(s("SemanticVersion"), env!("CARGO_PKG_VERSION"));
    let labels = template::strings(&app["Labels"]);
    assert!((1..=10).contains(&labels.len()), "{labels:?}");
    for l in &labels {
        assert!(
            (1..=127).contains(&l.len())
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-_:/@".contains(c)),
            "{l}"
        );
    }
}

#[test]
fn when_sam_builds_a_function_then_it_builds_that_functions_own_package_and_binary() {
    let doc = template::load();
    // A CodeUri in Globals would build a function from the workspace root, where cargo unifies
    // the CLI's features into it.
    assert!(
        doc["Globals"]["Function"]["CodeUri"].is_badvalue(),
        "Globals.Function.CodeUri"
    );
    let fns = functions(&doc);
    assert!(fns.len() >= 4, "{fns:?}");
    for (name, f) in fns {
        assert_eq!(
            f["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{name}"
        );
        let binary = f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no BuildProperties.Binary"));
        assert_eq!(
            f["Properties"]["CodeUri"].as_str(),
            Some(format!("../functions/{binary}").as_str()),
            "{name}"
        );
        // That directory is the package whose binary it is.
        let manifest = Path::new(WORKSPACE)
            .join("functions")
            .join(binary)
            .join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("{name}: {}: {e}", manifest.display()));
        assert!(
            text.contains(&format!("name = \"{binary}\"")),
            "{name}: {} does not define {binary}",
            manifest.display()
        );
        assert!(
            Path::new(WORKSPACE)
                .join("functions")
                .join(binary)
                .join("src/main.rs")
                .is_file(),
            "{name}: {binary} has no src/main.rs"
        );
    }
}

/// The `[profile.release]` lines of the workspace manifest (up to the next table).
fn release_profile() -> Vec<String> {
    let manifest =
        std::fs::read_to_string(Path::new(WORKSPACE).join("Cargo.toml")).unwrap_or_default();
    manifest
        .lines()
        .skip_while(|l| l.trim() != "[profile.release]")
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn when_sam_build_runs_cargo_lambda_then_the_release_profile_says_how_a_panic_ends() {
    // cargo-lambda adds `--config profile.release.panic="abort"` unless the workspace's release
    // profile sets `panic`: saying it keeps `cargo build --release` and `sam build` building the
    // same binaries, and the docs (docs/stack-watch.md) describing the one that is deployed.
    let profile = release_profile();
    assert!(
        profile.iter().any(|l| l == "panic = \"abort\""),
        "[profile.release] must set panic explicitly: {profile:?}"
    );
}
