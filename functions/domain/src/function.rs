//! Which of the four Lambda functions: the `Function` metric dimension, the IAM table's rows.

/// One of the deployed functions (the value of the `Function` metric dimension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    InstanceGuard,
    StackWatch,
    OnboardingWatchdog,
    MistWebhook,
}

impl Function {
    /// Every function, in the template's order.
    pub const ALL: [Function; 4] = [
        Function::InstanceGuard,
        Function::StackWatch,
        Function::OnboardingWatchdog,
        Function::MistWebhook,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::InstanceGuard => "instance-guard",
            Function::StackWatch => "stack-watch",
            Function::OnboardingWatchdog => "onboarding-watchdog",
            Function::MistWebhook => "mist-webhook",
        }
    }
}
