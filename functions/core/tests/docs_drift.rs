//! The docs name exactly what the code and the templates have, so they cannot drift:
//!
//! - every parameter of infra/template.yaml and infra/member.yaml is in its table in
//!   docs/configuration.md, and every parameter named there exists;
//! - every environment variable the Lambda code reads, and every variable the template sets, is
//!   in docs/configuration.md's variable table, and every variable named there is read or set;
//! - every metric the code emits (the name constants next to `NAMESPACE` in metrics.rs) is in
//!   docs/metrics.md's table, and every metric named there is emitted; every `SsrOnboard` metric
//!   the template's alarms and dashboard read is emitted;
//! - every relative link in README.md, CHANGELOG.md, SECURITY.md and docs/*.md points at a file
//!   that exists.
//!
//! Each test also runs its comparison on a doctored text (a row removed, a row or link added)
//! and checks that the difference is reported, so no test can pass by finding nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;
use yaml_rust2::Yaml;

use crate::template;

const CONFIGURATION: &str = include_str!("../../../docs/configuration.md");
const METRICS: &str = include_str!("../../../docs/metrics.md");

const TEMPLATE_PARAMETERS: &str = "Parameters of infra/template.yaml";
const MEMBER_PARAMETERS: &str = "Parameters of infra/member.yaml";
const VARIABLES: &str = "Environment variables";

/// Crates under functions/ that are not Lambda code (the CLI, the emulator, test helpers).
const NOT_LAMBDA_CODE: [&str; 3] = ["cli", "sandbox", "testkit"];

// ------------------------------------------------------------------ helpers

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The text under `## <heading>` up to the next heading of level 1 or 2 (empty when absent).
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let start_line = format!("## {heading}");
    let mut offset = 0;
    let mut start = None;
    for line in doc.split_inclusive('\n') {
        let trimmed = line.trim_end();
        match start {
            None if trimmed == start_line => start = Some(offset + line.len()),
            Some(s) if trimmed.starts_with("## ") || trimmed.starts_with("# ") => {
                return &doc[s..offset];
            }
            _ => {}
        }
        offset += line.len();
    }
    start.map_or("", |s| &doc[s..])
}

/// The names in backticks in the first column of every table row of `text`.
fn first_column_names(text: &str) -> BTreeSet<String> {
    let code = Regex::new(r"`([^`]+)`").expect("regex");
    text.lines()
        .filter(|l| l.trim_start().starts_with('|'))
        .filter_map(|l| l.trim_start().trim_start_matches('|').split('|').next())
        .flat_map(|cell| {
            code.captures_iter(cell)
                .map(|c| c[1].to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What `doc` (documenting `what`) lacks from `actual` (found in `source`), and what it names
/// that `actual` does not have. Empty when both agree.
fn compare(
    doc: &str,
    documented: &BTreeSet<String>,
    source: &str,
    actual: &BTreeSet<String>,
) -> Vec<String> {
    let missing = actual
        .difference(documented)
        .map(|n| format!("{doc} lacks `{n}`, which {source} has"));
    let extra = documented
        .difference(actual)
        .map(|n| format!("{doc} names `{n}`, which {source} does not have"));
    missing.chain(extra).collect()
}

/// `doc` without the table row whose first cell is exactly `` `name` ``.
fn without_row(doc: &str, name: &str) -> String {
    let row = format!("| `{name}` |");
    assert!(
        doc.contains(&row),
        "the doctored text needs a row for {name}"
    );
    doc.lines()
        .filter(|l| !l.starts_with(&row))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `doc` with one more row, right after the first row of the section `heading`'s table.
fn with_extra_row(doc: &str, heading: &str, name: &str) -> String {
    let marker = format!("## {heading}");
    let at = doc.find(&marker).expect("the section exists");
    let sep = doc[at..].find("| --- |").expect("the section has a table") + at;
    let line_end = doc[sep..].find('\n').expect("a line end") + sep + 1;
    format!(
        "{}| `{name}` | x | y |\n{}",
        &doc[..line_end],
        &doc[line_end..]
    )
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The Lambda code: `src/` of every crate under functions/ except the CLI, the emulator and the
/// test helpers, without test-only files (`tests.rs`, `test_support.rs`, `tests/` directories).
fn lambda_sources() -> Vec<(PathBuf, String)> {
    let functions = workspace_root().join("functions");
    let mut crates: Vec<PathBuf> = std::fs::read_dir(&functions)
        .expect("functions/ is readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !NOT_LAMBDA_CODE.contains(&n))
        })
        .collect();
    crates.sort();
    let mut files = Vec::new();
    for c in &crates {
        let src = c.join("src");
        let mut found = Vec::new();
        rust_files(&src, &mut found);
        files.extend(found.into_iter().filter(|p| {
            let inside = p.strip_prefix(&src).unwrap_or(p);
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name != "tests.rs"
                && name != "test_support.rs"
                && !inside.components().any(|c| c.as_os_str() == "tests")
        }));
    }
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("source is readable");
            (p, text)
        })
        .collect()
}

// ------------------------------------------------------------------ template parameters

fn parameters(doc: &Yaml) -> BTreeSet<String> {
    doc["Parameters"]
        .as_hash()
        .map(|h| {
            h.keys()
                .filter_map(|k| k.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Both templates' parameters against their tables in `configuration`.
fn parameter_drift(configuration: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (heading, file, text) in [
        (
            TEMPLATE_PARAMETERS,
            "infra/template.yaml",
            template::TEMPLATE,
        ),
        (MEMBER_PARAMETERS, "infra/member.yaml", template::MEMBER),
    ] {
        problems.extend(compare(
            &format!("docs/configuration.md ({heading})"),
            &first_column_names(section(configuration, heading)),
            &format!("{file}'s Parameters"),
            &parameters(&template::load_str(text)),
        ));
    }
    problems
}

#[test]
fn when_a_template_declares_a_parameter_then_configuration_md_documents_it_and_nothing_else() {
    for (file, text) in [
        ("template.yaml", template::TEMPLATE),
        ("member.yaml", template::MEMBER),
    ] {
        assert!(
            !parameters(&template::load_str(text)).is_empty(),
            "{file} has parameters"
        );
    }
    let problems = parameter_drift(CONFIGURATION);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Self-check: a parameter without its row, and a row without its parameter, are reported.
    let doctored = without_row(CONFIGURATION, "MistWebhookConcurrency");
    let problems = parameter_drift(&doctored);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("lacks `MistWebhookConcurrency`")),
        "{problems:?}"
    );
    let doctored = without_row(CONFIGURATION, "HubStackName");
    assert!(parameter_drift(&doctored)
        .iter()
        .any(|p| p.contains("infra/member.yaml") && p.contains("lacks `HubStackName`")));
    let doctored = with_extra_row(CONFIGURATION, TEMPLATE_PARAMETERS, "NoSuchParameter");
    assert!(parameter_drift(&doctored)
        .iter()
        .any(|p| p.contains("names `NoSuchParameter`")));
}

// ------------------------------------------------------------------ environment variables

/// The environment variables `source` reads: `non_empty("X")` (how `Config::from_vars` reads
/// every setting), `env::var("X")`, `var_os("X")`, and tracing's `EnvFilter::DEFAULT_ENV`
/// (`RUST_LOG`).
fn variables_read(source: &str) -> BTreeSet<String> {
    let read =
        Regex::new(r#"\b(?:non_empty|var|env_var|var_os)\(\s*"([A-Z][A-Z0-9_]*)""#).expect("regex");
    let mut names: BTreeSet<String> = read
        .captures_iter(source)
        .map(|c| c[1].to_string())
        .collect();
    if source.contains("EnvFilter::DEFAULT_ENV") {
        names.insert("RUST_LOG".to_string());
    }
    names
}

fn variable_map(y: &Yaml) -> BTreeSet<String> {
    y.as_hash()
        .map(|h| {
            h.keys()
                .filter_map(|k| k.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The variables infra/template.yaml sets: `Globals.Function.Environment.Variables` and every
/// function's own `Environment.Variables`.
fn variables_set_by_template() -> BTreeSet<String> {
    let doc = template::load();
    let mut names = variable_map(&doc["Globals"]["Function"]["Environment"]["Variables"]);
    if let Some(resources) = doc["Resources"].as_hash() {
        for r in resources.values() {
            if r["Type"].as_str() == Some("AWS::Serverless::Function") {
                names.extend(variable_map(&r["Properties"]["Environment"]["Variables"]));
            }
        }
    }
    names
}

fn variable_drift(
    configuration: &str,
    read: &BTreeSet<String>,
    set: &BTreeSet<String>,
) -> Vec<String> {
    let documented = first_column_names(section(configuration, VARIABLES));
    let doc = format!("docs/configuration.md ({VARIABLES})");
    let mut problems = compare(
        &doc,
        &documented,
        "the Lambda code or infra/template.yaml",
        &read.union(set).cloned().collect(),
    );
    // A variable the template sets that no code reads configures nothing.
    problems.extend(
        set.difference(read)
            .map(|n| format!("infra/template.yaml sets `{n}`, which the Lambda code never reads")),
    );
    problems
}

#[test]
fn when_the_variable_scan_reads_source_then_it_finds_exactly_the_names_read() {
    let source = r#"
        let a = non_empty("ROUTER_TAG_KEY");
        let b = std::env::var("AWS_MAX_ATTEMPTS").ok();
        let c = std::env::var(EnvFilter::DEFAULT_ENV).ok();
        return Err(ConfigError::Invalid { var: "NOT_READ_HERE", reason });
        let d = format!("MENTIONED_ONLY");
    "#;
    let found = variables_read(source);
    let expected: BTreeSet<String> = ["AWS_MAX_ATTEMPTS", "ROUTER_TAG_KEY", "RUST_LOG"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn when_the_lambda_code_or_the_template_sets_a_variable_then_configuration_md_documents_it_and_nothing_else(
) {
    let sources = lambda_sources();
    assert!(
        sources.iter().any(|(p, _)| p.ends_with("config.rs")),
        "the scan sees the configuration module"
    );
    let read: BTreeSet<String> = sources
        .iter()
        .flat_map(|(_, text)| variables_read(text))
        .collect();
    assert!(
        read.contains("ROUTER_TAG_KEY") && read.contains("AWS_MAX_ATTEMPTS"),
        "the scan finds the variables Config and the SDK loader read: {read:?}"
    );
    let set = variables_set_by_template();
    assert!(set.contains("ALERT_TOPIC_ARN"), "{set:?}");
    let problems = variable_drift(CONFIGURATION, &read, &set);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Self-check: a variable without its row, and a row without its variable, are reported.
    let doctored = without_row(CONFIGURATION, "MIST_WEBHOOK_SECRET");
    assert!(variable_drift(&doctored, &read, &set)
        .iter()
        .any(|p| p.contains("lacks `MIST_WEBHOOK_SECRET`")));
    let doctored = with_extra_row(CONFIGURATION, VARIABLES, "NO_SUCH_VARIABLE");
    assert!(variable_drift(&doctored, &read, &set)
        .iter()
        .any(|p| p.contains("names `NO_SUCH_VARIABLE`")));
    let mut set_more = set.clone();
    set_more.insert("SET_BUT_NEVER_READ".to_string());
    assert!(variable_drift(CONFIGURATION, &read, &set_more)
        .iter()
        .any(|p| p.contains("sets `SET_BUT_NEVER_READ`")));
}

// ------------------------------------------------------------------ metrics

/// The metric names of the metrics module: its `pub const X: &str = "Name";` constants other
/// than the namespace. The module is the Lambda source file that declares the `SsrOnboard`
/// namespace.
fn metrics_emitted() -> BTreeSet<String> {
    let sources = lambda_sources();
    let modules: Vec<&(PathBuf, String)> = sources
        .iter()
        .filter(|(_, t)| t.contains("pub const NAMESPACE: &str = \"SsrOnboard\";"))
        .collect();
    assert_eq!(
        modules.len(),
        1,
        "exactly one source declares the SsrOnboard namespace: {:?}",
        modules.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    metric_constants(&modules[0].1)
}

fn metric_constants(source: &str) -> BTreeSet<String> {
    let constant =
        Regex::new(r#"(?m)^\s*pub const ([A-Z_]+): &str = "([A-Za-z]+)";"#).expect("regex");
    constant
        .captures_iter(source)
        .filter(|c| &c[1] != "NAMESPACE")
        .map(|c| c[2].to_string())
        .collect()
}

fn metric_drift(metrics_md: &str, emitted: &BTreeSet<String>) -> Vec<String> {
    compare(
        "docs/metrics.md",
        &first_column_names(metrics_md),
        "functions/core/src/metrics.rs",
        emitted,
    )
}

#[test]
fn when_the_code_emits_a_metric_then_metrics_md_documents_it_and_nothing_else() {
    let emitted = metrics_emitted();
    assert!(
        emitted.contains("DurationMs") && emitted.contains("MembersUnreachable"),
        "{emitted:?}"
    );
    let problems = metric_drift(METRICS, &emitted);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Self-check: a metric without its row, and a row without its metric, are reported.
    let doctored = without_row(METRICS, "MembersUnreachable");
    assert!(metric_drift(&doctored, &emitted)
        .iter()
        .any(|p| p.contains("lacks `MembersUnreachable`")));
    let doctored = format!("{METRICS}\n| `NoSuchMetric` | Count | Function | x | y | z |\n");
    assert!(metric_drift(&doctored, &emitted)
        .iter()
        .any(|p| p.contains("names `NoSuchMetric`")));
    let found = metric_constants(
        "pub const NAMESPACE: &str = \"SsrOnboard\";\npub const NEW_ONE: &str = \"NewOne\";\n",
    );
    assert_eq!(found, BTreeSet::from(["NewOne".to_string()]));
}

/// The `SsrOnboard` metric names infra/template.yaml reads: alarms (`Namespace: SsrOnboard`,
/// `MetricName`) and dashboard widgets (`SEARCH(… MetricName="X" …)`, `[ "SsrOnboard", "X", …`).
fn metrics_read_by_template(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let doc = template::load_str(text);
    if let Some(resources) = doc["Resources"].as_hash() {
        for r in resources.values() {
            let p = &r["Properties"];
            if r["Type"].as_str() == Some("AWS::CloudWatch::Alarm")
                && p["Namespace"].as_str() == Some("SsrOnboard")
            {
                names.extend(p["MetricName"].as_str().map(String::from));
            }
        }
    }
    for pattern in [
        r#"MetricName=\\"([A-Za-z]+)\\""#,
        r#"\[\s*"SsrOnboard",\s*"([A-Za-z]+)""#,
    ] {
        let re = Regex::new(pattern).expect("regex");
        names.extend(re.captures_iter(text).map(|c| c[1].to_string()));
    }
    names
}

#[test]
fn when_the_template_reads_a_metric_then_the_code_emits_it() {
    let read = metrics_read_by_template(template::TEMPLATE);
    assert!(
        read.contains("RoutersOverdue") && read.contains("OnboardingSeconds"),
        "the scan sees the alarms and the dashboard: {read:?}"
    );
    let emitted = metrics_emitted();
    let unknown: Vec<&String> = read.difference(&emitted).collect();
    assert!(
        unknown.is_empty(),
        "infra/template.yaml reads SsrOnboard metrics the code never emits: {unknown:?}"
    );
}

// ------------------------------------------------------------------ links

/// The relative link targets of a Markdown text (outside fenced code), without their anchors:
/// `[text](path)` where path is not http(s), mailto or an anchor of the same page.
fn relative_links(markdown: &str) -> Vec<String> {
    let link = Regex::new(r"\]\(([^)\s]+)\)").expect("regex");
    let mut in_code = false;
    let mut out = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        for c in link.captures_iter(line) {
            let target = &c[1];
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with("mailto:")
                || target.starts_with('#')
            {
                continue;
            }
            let path = target.split('#').next().unwrap_or(target);
            out.push(path.to_string());
        }
    }
    out
}

/// Links of `markdown` (a file in `dir`) whose target does not exist.
fn broken_links(name: &str, dir: &Path, markdown: &str) -> Vec<String> {
    relative_links(markdown)
        .into_iter()
        .filter(|target| !dir.join(target).exists())
        .map(|target| format!("{name} links to {target}, which does not exist"))
        .collect()
}

#[test]
fn when_a_doc_links_a_relative_path_then_the_file_exists() {
    let root = workspace_root();
    let mut files: Vec<PathBuf> = ["README.md", "CHANGELOG.md", "SECURITY.md"]
        .iter()
        .map(|f| root.join(f))
        .collect();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ is readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    assert!(
        docs.iter().any(|p| p.ends_with("configuration.md")),
        "{docs:?}"
    );
    files.extend(docs);
    let mut problems = Vec::new();
    let mut links = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{f:?}: {e}"));
        let name = f.strip_prefix(&root).unwrap_or(f).display().to_string();
        let dir = f.parent().expect("a file has a directory");
        links += relative_links(&text).len();
        problems.extend(broken_links(&name, dir, &text));
    }
    assert!(links > 20, "the scan finds the docs' links ({links})");
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Self-check: a link to a missing file is reported; web links, anchors and code are not.
    let text = "See [a](configuration.md#environment-variables), [b](no-such-file.md), \
                [c](https://example.com/x.md), [d](#local).\n```\n[e](also-missing.md)\n```\n";
    let problems = broken_links("sample.md", &root.join("docs"), text);
    assert_eq!(
        problems,
        vec!["sample.md links to no-such-file.md, which does not exist".to_string()]
    );
}

// ---- alert kinds ----------------------------------------------------------------------------

const ALERTS_MD: &str = include_str!("../../../docs/alerts.md");

/// What docs/alerts.md's table of the alerts the functions send lacks or names beyond
/// `AlertKind::ALL`.
fn alert_kind_drift(alerts_md: &str) -> Vec<String> {
    // The table's rows, below its header and `| --- |` line.
    let table = section(alerts_md, "Alerts the functions send");
    let rows = table.find("| --- |").map_or("", |i| &table[i..]);
    let documented = first_column_names(rows);
    let actual: BTreeSet<String> = ssr_core::render::AlertKind::ALL
        .iter()
        .map(|k| k.as_str().to_string())
        .collect();
    compare("docs/alerts.md", &documented, "AlertKind", &actual)
}

#[test]
fn when_the_code_has_an_alert_kind_then_alerts_md_documents_it_and_nothing_else() {
    assert_eq!(alert_kind_drift(ALERTS_MD), Vec::<String>::new());
    let missing = alert_kind_drift(&without_row(ALERTS_MD, "member-unreachable"));
    assert!(
        missing
            .iter()
            .any(|m| m.contains("lacks `member-unreachable`")),
        "{missing:?}"
    );
    let extra = alert_kind_drift(&with_extra_row(
        ALERTS_MD,
        "Alerts the functions send",
        "no-such-kind",
    ));
    assert!(
        extra.iter().any(|m| m.contains("names `no-such-kind`")),
        "{extra:?}"
    );
}
