//! `ssr-onboard check-template FILE [--parameters FILE]`: a router's CloudFormation template
//! checked against the guide before it is deployed. No AWS access. The engine is
//! [`crate::ops::check_template`]; here: the flags, the output and the exit code.

use clap::Args;
use ssr_core::config::Config;

use crate::exit;
use crate::ops::check_template::{self, render_text, CheckTemplateOptions};
use crate::output::{print_as, OutputFormat, Style};

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  ssr-onboard check-template infra/ssr-router.yaml
  ssr-onboard check-template vendor-router.json --parameters router.parameters.json
  ssr-onboard check-template infra/ssr-router.yaml --output json | jq '.checks[] | select(.status != \"ok\")'

Checks every AWS::EC2::Instance of a CloudFormation template (JSON or YAML; !Ref, !Sub, !GetAtt,
!If, Fn::Join, Fn::FindInMap, … in short or long form) against Juniper's guide, with the guard's
finding codes: instance type c5.xlarge or larger; root volume at least MIN_ROOT_VOLUME_GB (128);
device 0 tagged SSR-ROLE=WAN and device 1 SSR-ROLE=LAN with source/destination check off; an
instance profile whose role allows ec2:DescribeNetworkInterfaces; the #cloud-config onboarding
JSON (name, ssr-version, registration-code, mode mist-managed, cloud-provider aws) in the user
data; a registration-code parameter with NoEcho; the WAN subnet's 0.0.0.0/0 route to an internet
gateway where the template defines routes.

Parameters come from --parameters (the create-stack list [{\"ParameterKey\", \"ParameterValue\"}],
{\"Parameters\": {...}}, or the guide's flat {\"StackName\": ..., \"Key\": \"value\"}), then from each
parameter's Default. A value known only at deployment (a parameter without a value, Fn::GetAtt,
Fn::ImportValue, a dynamic reference) is reported as unchecked, never guessed. The registration
code's value is never printed.

Exit codes: 0 no findings (unchecked values do not count), 2 the template or parameters file
cannot be read, 3 findings.")]
pub struct CheckTemplateArgs {
    /// The router template (JSON or YAML).
    #[arg(value_name = "FILE")]
    pub template: String,
    /// Parameter values, as for `aws cloudformation create-stack --parameters file://FILE`.
    #[arg(long, value_name = "FILE")]
    pub parameters: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Checks the template, prints the report; returns the exit code.
pub fn exec(args: CheckTemplateArgs) -> u8 {
    // The guard's own setting and default (MIN_ROOT_VOLUME_GB, 128), validated as the functions
    // validate it; the other settings do not matter here.
    let min_root_volume_gb = match Config::from_vars(|k| {
        (k == "MIN_ROOT_VOLUME_GB")
            .then(|| std::env::var(k).ok())
            .flatten()
    }) {
        Ok(c) => c.min_root_volume_gb,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let opts = CheckTemplateOptions {
        template: args.template,
        parameters: args.parameters,
        min_root_volume_gb,
    };
    let report = match check_template::run(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let printed = print_as(args.output, &report, |r| {
        render_text(r, &Style::for_stdout())
    });
    if printed != exit::OK {
        return printed;
    }
    if report.has_findings() {
        exit::FINDINGS
    } else {
        exit::OK
    }
}
