//! Every example command line the CLI documents — in `--help` (the top level's and each
//! command's) and in docs/cli.md's code blocks — is one clap accepts. An example that stops
//! parsing is fixed in the example, not here.

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use ssr_onboard::Cli;

const BIN: &str = "ssr-onboard";

/// docs/cli.md, read at build time so a moved file fails loudly.
const CLI_DOC: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/cli.md"));
/// The README and the docs that show `ssr-onboard` commands or deploy commands.
const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"));
const DEPLOY_DOC: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/deploy.md"));
const WATCHDOG_DOC: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/watchdog.md"
));
/// The template whose parameters the README's `sam deploy` passes.
const TEMPLATE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../infra/template.yaml"
));

/// One shell line's words, split as sh would for these examples: single and double quotes,
/// backslash escapes outside single quotes, `#` comments, and `|`, `||`, `&&`, `;` as command
/// separators (returned as their own words).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        q => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            '#' if !in_word => break,
            '|' | '&' | ';' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                let mut op = c.to_string();
                if chars.peek() == Some(&c) {
                    op.extend(chars.next());
                }
                words.push(op);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The `ssr-onboard …` invocations in a block of shell text (lines ending in `\` continue),
/// each as its argument vector; leading `VAR=value` assignments are dropped.
fn invocations(text: &str) -> Vec<Vec<String>> {
    let joined = text.replace("\\\n", " ");
    let mut found = Vec::new();
    for line in joined.lines() {
        let words = shell_words(line);
        for command in words.split(|w| ["|", "||", "&&", ";", "&"].contains(&w.as_str())) {
            let command: Vec<String> = command
                .iter()
                .skip_while(|w| is_assignment(w))
                .cloned()
                .collect();
            if command.first().map(String::as_str) == Some(BIN) {
                found.push(command);
            }
        }
    }
    found
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The text of docs/cli.md's fenced code blocks.
fn code_blocks(markdown: &str) -> String {
    let mut inside = false;
    let mut code = String::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
        } else if inside {
            code.push_str(line);
            code.push('\n');
        }
    }
    code
}

/// The `after_help` of the top level and of every subcommand.
fn help_texts() -> Vec<(String, String)> {
    let cli = Cli::command();
    let mut texts = vec![(
        BIN.to_string(),
        cli.get_after_help()
            .map(ToString::to_string)
            .unwrap_or_default(),
    )];
    for sub in cli.get_subcommands() {
        texts.push((
            format!("{BIN} {}", sub.get_name()),
            sub.get_after_help()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ));
    }
    texts
}

/// Why clap refuses `argv`, or `None` when it accepts it (`--help` and `--version` count as
/// accepted: clap answers them).
fn refusal(argv: &[String]) -> Option<String> {
    match Cli::try_parse_from(argv) {
        Ok(_) => None,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => None,
        Err(e) => Some(e.to_string()),
    }
}

#[test]
fn when_every_documented_example_is_parsed_then_clap_accepts_it() {
    let mut sources: Vec<(String, String)> = help_texts()
        .into_iter()
        .map(|(name, text)| (format!("`{name} --help`"), text))
        .collect();
    sources.push(("docs/cli.md".to_string(), code_blocks(CLI_DOC)));
    sources.push(("README.md".to_string(), code_blocks(README)));
    sources.push(("docs/deploy.md".to_string(), code_blocks(DEPLOY_DOC)));
    sources.push(("docs/watchdog.md".to_string(), code_blocks(WATCHDOG_DOC)));

    let mut checked = 0;
    let mut refused = Vec::new();
    for (source, text) in &sources {
        for argv in invocations(text) {
            checked += 1;
            if let Some(why) = refusal(&argv) {
                refused.push(format!("{source}: `{}`: {why}", argv.join(" ")));
            }
        }
    }
    assert!(refused.is_empty(), "{}", refused.join("\n"));
    // Every command's help has examples, and docs/cli.md repeats them: a parser that found
    // none would pass vacuously.
    assert!(checked >= 25, "only {checked} examples found");
}

#[test]
fn when_shell_lines_are_split_then_quotes_comments_pipes_and_assignments_are_honoured() {
    assert_eq!(
        invocations(
            "STATE_TABLE=t ssr-onboard report --output json | jq '.durations_seconds'  # note\n\
             cat e.json | ssr-onboard invoke instance-guard --event -\n\
             ssr-onboard report --table \"$STATE_TABLE\" \\\n  --region us-east-1\n\
             jq '.a | .b' f.json | ssr-onboard invoke mist-webhook --event -\n\
             # ssr-onboard in a comment\n\
             cargo build -p ssr-onboard"
        ),
        [
            vec!["ssr-onboard", "report", "--output", "json"],
            vec!["ssr-onboard", "invoke", "instance-guard", "--event", "-"],
            vec![
                "ssr-onboard",
                "report",
                "--table",
                "$STATE_TABLE",
                "--region",
                "us-east-1"
            ],
            vec!["ssr-onboard", "invoke", "mist-webhook", "--event", "-"],
        ]
    );
}

/// The names of the template's `Parameters` (the two-space-indented keys of that section).
fn template_parameters(template: &str) -> Vec<String> {
    let section = template
        .split("\nParameters:\n")
        .nth(1)
        .and_then(|rest| rest.split("\nConditions:\n").next())
        .unwrap_or("");
    section
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.trim_end().ends_with(':'))
        .map(|l| l.trim().trim_end_matches(':').to_string())
        .collect()
}

/// The `Key` of every `Key=Value` after `--parameter-overrides` in `text` (continued lines
/// joined).
fn overridden_parameters(text: &str) -> Vec<String> {
    let joined = text.replace("\\\n", " ");
    let mut names = Vec::new();
    for line in joined.lines() {
        let words = shell_words(line);
        let mut after = words
            .iter()
            .skip_while(|w| w.as_str() != "--parameter-overrides")
            .skip(1);
        for w in after.by_ref() {
            match w.split_once('=') {
                Some((k, _)) if k.chars().next().is_some_and(|c| c.is_ascii_uppercase()) => {
                    names.push(k.to_string())
                }
                _ => break,
            }
        }
    }
    names
}

#[test]
fn when_the_readme_deploys_with_parameter_overrides_then_each_is_a_template_parameter() {
    let declared = template_parameters(TEMPLATE);
    assert!(declared.iter().any(|p| p == "AlertEmail"), "{declared:?}");
    let passed = overridden_parameters(&code_blocks(README));
    assert!(
        passed.iter().any(|p| p == "MistTokenSecretArn"),
        "the README's deploy command was not found: {passed:?}"
    );
    let unknown: Vec<&String> = passed.iter().filter(|p| !declared.contains(p)).collect();
    assert!(
        unknown.is_empty(),
        "README passes parameters the template lacks: {unknown:?}"
    );
    // The check itself: a parameter the template lacks is reported.
    let doctored =
        overridden_parameters("sam deploy --parameter-overrides NoSuchParam=1 DryRun=true");
    assert!(
        doctored.contains(&"NoSuchParam".to_string())
            && !declared.contains(&"NoSuchParam".to_string())
    );
}
