//! `ssr-onboard audit`: every managed router in a region (or across accounts and regions)
//! checked with the guard's rules; with `--fix` the safe fixes applied. The engine is
//! [`crate::ops::audit`]; here: the flags, the output and the exit code.

use clap::Args;
use ssr_core::config::{is_role_name, parse_regions, ConfigError, MemberAccounts};
use ssr_core::Config;

use crate::aws_args::AwsArgs;
use crate::aws_errors;
use crate::exit;
use crate::ops::audit::{self, render_text, AuditOptions, AuditReport, Fleet, Mode};
use crate::output::{print_json, OutputFormat, Style};
use crate::stack::{self, StackArg};

/// Account/region scopes audited at once unless `--concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: u8 = 4;

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  ssr-onboard audit --region us-east-1
  ssr-onboard audit --profile prod --region eu-west-1 --output json | jq '.summary'
  ssr-onboard audit --fix --dry-run      # show what --fix would change, change nothing
  ssr-onboard audit --fix                # disable source/dest check on router ENIs, etc.
  ssr-onboard audit --accounts 444455556666,777788889999 --regions us-east-1,eu-west-1
  ssr-onboard audit --accounts org --role-name ssr-onboard-member --output json

Which instances are routers: the SSR-ROUTER instance tag (ROUTER_TAG_KEY), an SSR-ROLE tag on
any interface, or a CloudFormation stack name matching ROUTER_STACKS (comma-separated globs).
MIN_ROOT_VOLUME_GB and ENA_FIX_WHEN_STOPPED apply as in the Lambda.

Safe fixes (--fix): source/destination check off on each router ENI of a pending/running
router; ENA on for a stopped router when ENA_FIX_WHEN_STOPPED=true. Every write is read back.

Several accounts and regions (--accounts, --regions): the credentials' own account (from
sts:GetCallerIdentity) in its own region first, then every account in every region; in another
account the audit assumes arn:aws:iam::<account>:role/<--role-name> (infra/member.yaml's role),
so the caller needs sts:AssumeRole on it and the role must trust the caller (member.yaml trusts
the hub account's roles named <HubStackName>-*; see docs/cli.md). `--accounts org`
lists the organization's active accounts (organizations:ListAccounts, from the management or a
delegated administrator account). An account or region that cannot be audited is reported with
its error; the others are still audited.

Exit codes: 0 no findings remain, 3 findings remain (warnings or errors; info such as
ENA_UNKNOWN does not count), 1 AWS error, a fix that did not take, or an account/region that
could not be audited (1 wins over 3), 2 usage/configuration.")]
pub struct AuditArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Take the router selection and every setting from the deployed stack.
    #[command(flatten)]
    pub stack: StackArg,
    /// Apply the safe automatic fixes (each verified by read-back).
    #[arg(long)]
    pub fix: bool,
    /// With --fix: show the fixes that would be applied, write nothing.
    #[arg(long, requires = "fix")]
    pub dry_run: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Member accounts to audit besides the credentials' own: a comma list of 12-digit account
    /// ids, or `org` for every active account of the AWS Organization.
    #[arg(long, value_name = "A,B|org")]
    pub accounts: Option<String>,
    /// Regions to audit in every account, comma-separated (default: the --region one).
    #[arg(long, value_name = "R1,R2")]
    pub regions: Option<String>,
    /// The role assumed in each member account (default: MEMBER_ROLE_NAME, else
    /// ssr-onboard-member).
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// How many account/region scopes are audited at once (1-32).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u8).range(1..=32))]
    pub concurrency: u8,
}

impl AuditArgs {
    /// `--fix` and `--dry-run` as the audit's mode.
    fn mode(&self) -> Mode {
        match (self.fix, self.dry_run) {
            (true, false) => Mode::Fix,
            (true, true) => Mode::DryRun,
            (false, _) => Mode::Check,
        }
    }
}

/// The multi-account flags, validated: `None` when neither `--accounts` nor `--regions` is
/// given (the single-region audit).
pub fn fleet(accounts: Option<&str>, regions: Option<&str>) -> Result<Option<Fleet>, ConfigError> {
    if accounts.is_none() && regions.is_none() {
        return Ok(None);
    }
    Ok(Some(Fleet {
        members: MemberAccounts::parse("--accounts", accounts)?,
        regions: parse_regions("--regions", regions)?,
    }))
}

/// `config` with the member role `--role-name` names (validated as `MEMBER_ROLE_NAME` is).
pub fn with_role_name(mut config: Config, role_name: Option<&str>) -> Result<Config, ConfigError> {
    if let Some(name) = role_name {
        if !is_role_name(name) {
            return Err(ConfigError::Invalid {
                var: "--role-name",
                reason: format!(
                    "`{name}` is not an IAM role name (1-64 of A-Z a-z 0-9 + = , . @ _ -)"
                ),
            });
        }
        config.member_role_name = name.to_string();
    }
    Ok(config)
}

/// Runs the audit the flags ask for, prints its report; returns the exit code.
pub async fn exec(args: AuditArgs) -> u8 {
    let fleet = match fleet(args.accounts.as_deref(), args.regions.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let Some(sdk) = args.aws.load_with_region().await else {
        return exit::USAGE;
    };
    let base = match args.stack.stack.as_deref() {
        Some(name) => match stack::resolve_for_command(&sdk, name).await {
            Ok(s) => s.config(),
            Err(code) => return code,
        },
        None => Config::from_env(),
    };
    let config = match base.and_then(|c| with_role_name(c, args.role_name.as_deref())) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: bad configuration: {e}");
            return exit::USAGE;
        }
    };
    let mode = args.mode();
    if mode == Mode::Fix && config.dry_run {
        eprintln!("note: DRY_RUN=true in the environment: nothing will be written");
    }
    let options = AuditOptions {
        config,
        mode,
        fleet,
        concurrency: usize::from(args.concurrency),
    };
    let report = match audit::run(&sdk, options).await {
        Ok(r) => r,
        Err(e) => {
            aws_errors::print_with_hint(&e);
            return exit::AWS;
        }
    };
    match args.output {
        OutputFormat::Json => {
            for a in report.accounts.iter().filter(|a| a.error.is_some()) {
                eprintln!(
                    "error: {}/{} not audited: {}",
                    a.account.as_deref().unwrap_or("?"),
                    a.region.as_deref().unwrap_or("?"),
                    a.error.as_deref().unwrap_or_default()
                );
            }
            let code = print_json(&report);
            if code != exit::OK {
                return code;
            }
        }
        OutputFormat::Text => print!("{}", render_text(&report, &Style::for_stdout())),
    }
    exit_code(&report)
}

/// The exit code a finished audit deserves: 1 for a fix that did not take or a scope that could
/// not be audited, else 3 when findings remain.
pub fn exit_code(report: &AuditReport) -> u8 {
    if report.summary.fixes_failed > 0 || report.summary.accounts_failed > 0 {
        exit::AWS
    } else if report.summary.findings_remaining > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_neither_accounts_nor_regions_are_given_then_the_audit_is_of_one_region() {
        assert_eq!(fleet(None, None).expect("valid"), None);
        assert_eq!(
            fleet(Some("org"), None).expect("valid"),
            Some(Fleet {
                members: MemberAccounts::Organization,
                regions: vec![]
            })
        );
        assert_eq!(
            fleet(
                Some("444455556666,444455556666"),
                Some("eu-west-1,us-east-1")
            )
            .expect("valid"),
            Some(Fleet {
                members: MemberAccounts::List(vec!["444455556666".into()]),
                regions: vec!["eu-west-1".into(), "us-east-1".into()]
            })
        );
    }

    #[test]
    fn when_an_account_region_or_role_name_is_malformed_then_the_error_names_the_flag() {
        let e = fleet(Some("444455556666,12345"), None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--accounts: `12345`"), "{e}");
        let e = fleet(None, Some("eu-west-1,Frankfurt"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--regions: `Frankfurt`"), "{e}");
        let config = Config::from_vars(|_| None).expect("default config");
        let e = with_role_name(config.clone(), Some("role/with/slashes"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--role-name"), "{e}");
        assert_eq!(
            with_role_name(config.clone(), Some("ops.member"))
                .expect("valid")
                .member_role_name,
            "ops.member"
        );
        assert_eq!(
            with_role_name(config, None)
                .expect("valid")
                .member_role_name,
            ssr_core::config::DEFAULT_MEMBER_ROLE_NAME
        );
    }
}
