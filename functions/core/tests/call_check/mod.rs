//! The clients a contract test hands a handler, each checked by `ssr_testkit::CallCheck`
//! against the function's row of `ssr_core::aws::permissions` (an operation missing from it
//! fails the test).
#![allow(dead_code)]

use ssr_core::aws::permissions::called_actions;
use ssr_core::deps::Clients;
use ssr_core::metrics::Function;
use ssr_testkit::CallCheck;

/// The check for `function`'s table row.
pub fn check(function: Function) -> CallCheck {
    CallCheck::new(function.name(), called_actions(function))
}

/// `clients`, each with `function`'s check installed.
pub fn checked(function: Function, clients: Clients) -> Clients {
    let c = check(function);
    Clients {
        ec2: c.ec2(clients.ec2),
        sns: c.sns(clients.sns),
        dynamodb: c.dynamodb(clients.dynamodb),
        cloudformation: c.cloudformation(clients.cloudformation),
        secrets: c.secrets(clients.secrets),
    }
}
