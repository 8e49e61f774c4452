//! `--region` / `--profile` and the standard AWS credential chain (hints for AWS errors:
//! [`crate::aws_errors`]).

use aws_config::{Region, SdkConfig};
use clap::Args;

/// Where and as whom to talk to AWS.
#[derive(Args, Debug, Clone, Default)]
pub struct AwsArgs {
    /// AWS region (default: AWS_REGION, then the profile's region).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE). SSO
    /// profiles (`sso_session`, after `aws sso login`), `credential_process` and `role_arn`
    /// profiles work as in the AWS CLI.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

impl AwsArgs {
    /// The standard chain (environment, profile files, web identity, ECS/EC2 roles), with the
    /// region and profile given on the command line taking precedence.
    pub async fn load(&self) -> SdkConfig {
        let mut loader = ssr_core::deps::sdk_loader();
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        loader.load().await
    }

    /// [`AwsArgs::load`], or `None` (after saying how to fix it) when no region is known.
    pub async fn load_with_region(&self) -> Option<SdkConfig> {
        let sdk = self.load().await;
        if sdk.region().is_none() {
            eprintln!(
                "error: no AWS region: pass --region or set AWS_REGION (or a region in the profile)"
            );
            return None;
        }
        Some(sdk)
    }
}
