//! The checks of one router (`AWS::EC2::Instance`): size, root volume, interfaces and their
//! `SSR-ROLE` tags and source/destination check, the instance profile's permission, the WAN
//! subnet's internet route. The onboarding user data is in [`super::onboarding`].

use serde_json::Value;
use ssr_core::config::ROLE_TAG_KEY;
use ssr_core::findings::FindingCode;
use ssr_core::rules::instance_type_below_guide;

use super::eval::{Ctx, Val};
use super::onboarding;
use super::{Row, TemplateCode};

/// The action the router's role needs (guide: "Interface Tagging").
const DESCRIBE_ENIS: &str = "ec2:DescribeNetworkInterfaces";
/// Root device names of the SSR AMIs (`/dev/sda1`; `/dev/xvda` on some).
const ROOT_DEVICES: [&str; 2] = ["/dev/sda1", "/dev/xvda"];
/// AWS managed policies that allow `ec2:DescribeNetworkInterfaces` on `*`.
const MANAGED_GRANTING: [&str; 4] = [
    "AmazonEC2ReadOnlyAccess",
    "AmazonEC2FullAccess",
    "ReadOnlyAccess",
    "AdministratorAccess",
];

/// The logical ids of the template's instances.
pub fn routers(ctx: &Ctx) -> Vec<String> {
    ctx.resources()
        .map(|r| {
            r.iter()
                .filter(|(_, v)| {
                    v.get("Type").and_then(Value::as_str) == Some("AWS::EC2::Instance")
                })
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn props<'a>(ctx: &Ctx<'a>, id: &str) -> Option<&'a Value> {
    ctx.resources()?.get(id)?.get("Properties")
}

/// A property's value, `None` when absent or `AWS::NoValue`.
fn prop(ctx: &Ctx, props: Option<&Value>, key: &str) -> Option<Val> {
    let raw = props?.get(key)?;
    match ctx.eval(raw) {
        Val::NoValue => None,
        v => Some(v),
    }
}

fn is_false(v: &Val) -> Option<bool> {
    match v {
        Val::Known(Value::Bool(b)) => Some(!b),
        Val::Known(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "false" => Some(true),
            "true" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Every check of one router.
pub fn check_router(ctx: &Ctx, id: &str, min_root_volume_gb: i32) -> Vec<Row> {
    let p = props(ctx, id);
    let mut rows = vec![
        instance_type(ctx, id, p),
        root_volume(ctx, id, p, min_root_volume_gb),
    ];
    let nics = interfaces(ctx, id, p);
    match &nics {
        Ok(nics) => {
            rows.extend(roles(ctx, id, nics));
            rows.extend(nics.iter().map(|n| source_dest(ctx, id, p, n, nics.len())));
        }
        Err(why) => rows.push(Row::unchecked("interfaces", id, why.clone())),
    }
    rows.push(instance_profile(ctx, id, p));
    rows.extend(onboarding::check(ctx, id, p));
    rows.push(internet_route(
        ctx,
        id,
        p,
        nics.as_deref().unwrap_or_default(),
    ));
    rows
}

fn instance_type(ctx: &Ctx, id: &str, p: Option<&Value>) -> Row {
    const CHECK: &str = "instance-type";
    let fix = "Set InstanceType to c5.xlarge or larger (the parameter's Default or AllowedValues).";
    match prop(ctx, p, "InstanceType") {
        None => Row::finding(
            CHECK,
            id,
            FindingCode::InstanceTypeTooSmall,
            "No InstanceType: EC2 launches its default, m1.small, below the guide's c5.xlarge.",
            fix,
        ),
        Some(v) => match v.as_text() {
            Some(t) => match instance_type_below_guide(&t) {
                Some(why) => Row::finding(
                    CHECK,
                    id,
                    FindingCode::InstanceTypeTooSmall,
                    format!("Instance type {why}; Juniper recommends c5.xlarge or larger."),
                    fix,
                ),
                None => Row::ok(CHECK, id, format!("{t} (c5.xlarge or larger)")),
            },
            None => Row::unchecked(CHECK, id, format!("InstanceType is {}", v.why_unknown())),
        },
    }
}

fn root_volume(ctx: &Ctx, id: &str, p: Option<&Value>, min: i32) -> Row {
    const CHECK: &str = "root-volume";
    let Some(mappings) = prop(ctx, p, "BlockDeviceMappings") else {
        return Row::unchecked(
            CHECK,
            id,
            "No BlockDeviceMappings: the root volume has the AMI's default size, which the template does not show (the guide: 128 GB).",
        );
    };
    let Val::Known(Value::Array(items)) = mappings else {
        return Row::unchecked(
            CHECK,
            id,
            format!("BlockDeviceMappings is {}", mappings.why_unknown()),
        );
    };
    let mut unknown_names = Vec::new();
    for item in &items {
        let Val::Known(m) = ctx.eval(item) else {
            continue;
        };
        let name = match m.get("DeviceName").map(|d| ctx.text(d)) {
            Some(n) => n,
            None => continue,
        };
        let Some(name) = name.as_text() else {
            unknown_names.push(name.why_unknown());
            continue;
        };
        if !ROOT_DEVICES.contains(&name.as_str()) {
            continue;
        }
        let ebs = m.get("Ebs").map(|e| ctx.eval(e));
        let size = match &ebs {
            Some(Val::Known(e)) => e.get("VolumeSize").map(|s| ctx.text(s)),
            Some(other) => {
                return Row::unchecked(
                    CHECK,
                    id,
                    format!("the Ebs of {name} is {}", other.why_unknown()),
                )
            }
            None => None,
        };
        let Some(size) = size else {
            return Row::unchecked(
                CHECK,
                id,
                format!("{name} has no VolumeSize: the AMI's snapshot size applies, which the template does not show"),
            );
        };
        return match size.as_text().map(|s| s.trim().parse::<i64>()) {
            Some(Ok(gb)) if gb < i64::from(min) => Row::finding(
                CHECK,
                id,
                FindingCode::RootVolumeTooSmall,
                format!("Root volume {name} is {gb} GB; the guide requires {min} GB for the SSR software and its upgrades."),
                format!("Set VolumeSize: {min} on the {name} block device mapping."),
            ),
            Some(Ok(gb)) => Row::ok(CHECK, id, format!("{name} {gb} GB (at least {min})")),
            Some(Err(_)) => Row::unchecked(CHECK, id, format!("VolumeSize of {name} is not a number")),
            None => Row::unchecked(CHECK, id, format!("VolumeSize of {name} is {}", size.why_unknown())),
        };
    }
    if !unknown_names.is_empty() {
        return Row::unchecked(
            CHECK,
            id,
            format!("DeviceName is {}", unknown_names.join("; ")),
        );
    }
    Row::finding(
        CHECK,
        id,
        FindingCode::RootVolumeTooSmall,
        format!("No block device mapping for the root device ({}): the root volume keeps the AMI's default size and is not sized to {min} GB.", ROOT_DEVICES.join(" or ")),
        format!("Add a BlockDeviceMappings entry for the AMI's root device (aws ec2 describe-images --query 'Images[0].RootDeviceName') with Ebs VolumeSize: {min}."),
    )
}

/// Where an interface comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum NicSource {
    /// An `AWS::EC2::NetworkInterface` of this template.
    Resource(String),
    /// Declared inline in the instance's `NetworkInterfaces` (or the instance's own subnet).
    Inline,
    /// An existing interface (an id or a parameter): not in the template.
    External(String),
}

/// One interface of the router as the template declares it.
#[derive(Clone, Debug)]
pub struct Nic {
    /// How a person finds it: the ENI's logical id, or `Router.NetworkInterfaces[1]`.
    pub label: String,
    pub device_index: Result<u32, String>,
    pub source: NicSource,
    /// The inline declaration or the ENI resource's properties.
    pub props: Option<Value>,
}

/// The router's interfaces: its `NetworkInterfaces`, `AWS::EC2::NetworkInterfaceAttachment`s
/// to it, or its single default interface.
fn interfaces(ctx: &Ctx, id: &str, p: Option<&Value>) -> Result<Vec<Nic>, String> {
    let mut out = Vec::new();
    if let Some(list) = prop(ctx, p, "NetworkInterfaces") {
        let Val::Known(Value::Array(items)) = list else {
            return Err(format!("NetworkInterfaces is {}", list.why_unknown()));
        };
        for (i, item) in items.iter().enumerate() {
            let spec = match ctx.eval(item) {
                Val::NoValue => continue,
                Val::Known(v @ Value::Object(_)) => v,
                other => return Err(format!("NetworkInterfaces[{i}] is {}", other.why_unknown())),
            };
            out.push(nic(ctx, format!("{id}.NetworkInterfaces[{i}]"), &spec));
        }
    }
    for (att_id, att) in ctx.resources().into_iter().flatten() {
        if att.get("Type").and_then(Value::as_str) != Some("AWS::EC2::NetworkInterfaceAttachment") {
            continue;
        }
        let Some(ap) = att.get("Properties") else {
            continue;
        };
        let to_router = ap.get("InstanceId").map(|v| ctx.eval(v));
        if !matches!(&to_router, Some(Val::Resource { id: r, attr: None }) if r == id) {
            continue;
        }
        out.push(nic(ctx, att_id.clone(), ap));
    }
    if out.is_empty() {
        out.push(Nic {
            label: format!("{id} (its only interface)"),
            device_index: Ok(0),
            source: NicSource::Inline,
            props: p.cloned(),
        });
    }
    Ok(out)
}

fn nic(ctx: &Ctx, label: String, spec: &Value) -> Nic {
    let device_index = match spec.get("DeviceIndex").map(|d| ctx.text(d)) {
        None => Err("no DeviceIndex".to_string()),
        Some(v) => match v.as_text() {
            Some(t) => t
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("DeviceIndex \"{t}\" is not a number")),
            None => Err(format!("DeviceIndex is {}", v.why_unknown())),
        },
    };
    let (label, source, props) = match spec.get("NetworkInterfaceId").map(|v| ctx.eval(v)) {
        None => (label, NicSource::Inline, Some(spec.clone())),
        Some(Val::Resource { id, attr: None })
            if ctx.resource_type(&id) == Some("AWS::EC2::NetworkInterface") =>
        {
            let props = ctx
                .resources()
                .and_then(|r| r.get(&id))
                .and_then(|r| r.get("Properties"))
                .cloned();
            (id.clone(), NicSource::Resource(id), props)
        }
        Some(v) => {
            let what = v.as_text().unwrap_or_else(|| v.why_unknown());
            (label, NicSource::External(what), None)
        }
    };
    Nic {
        label,
        device_index,
        source,
        props,
    }
}

/// The interface's `SSR-ROLE` tag: `Ok(Some(value))`, `Ok(None)` when it has none, `Err(why)`
/// when it is not known.
fn role_tag(ctx: &Ctx, n: &Nic) -> Result<Option<String>, String> {
    match &n.source {
        NicSource::External(what) => {
            return Err(format!(
                "an existing interface ({what}); its tags are not in the template"
            ))
        }
        NicSource::Inline => return Ok(None),
        NicSource::Resource(_) => {}
    }
    let Some(tags) = n.props.as_ref().and_then(|p| p.get("Tags")) else {
        return Ok(None);
    };
    let items = ctx
        .list(tags)
        .map_err(|v| format!("Tags is {}", v.why_unknown()))?;
    for t in items {
        let Val::Known(t) = ctx.eval(&t) else {
            continue;
        };
        let key = t.get("Key").map(|k| ctx.text(k));
        match key.as_ref().map(|k| (k.as_text(), k)) {
            Some((Some(k), _)) if k == ROLE_TAG_KEY => {
                let v = t.get("Value").map(|v| ctx.text(v));
                return match v {
                    Some(v) => match v.as_text() {
                        Some(text) => Ok(Some(text)),
                        None => Err(format!("its {ROLE_TAG_KEY} tag is {}", v.why_unknown())),
                    },
                    None => Ok(Some(String::new())),
                };
            }
            Some((None, k)) => return Err(format!("a tag key is {}", k.why_unknown())),
            _ => {}
        }
    }
    Ok(None)
}

/// The guide's layout: device 0 Public tagged WAN, device 1 Private tagged LAN; the guard's
/// interface rules, read from the template.
fn roles(ctx: &Ctx, id: &str, nics: &[Nic]) -> Vec<Row> {
    const CHECK: &str = "interfaces";
    let mut rows = Vec::new();
    let mut wans = Vec::new();
    let mut lans = 0;
    let mut unknown = Vec::new();
    for n in nics {
        let index = n.device_index.as_ref().ok().copied();
        let suggested = if index == Some(0) { "WAN" } else { "LAN" };
        match role_tag(ctx, n) {
            Ok(Some(v)) if v == "WAN" => wans.push((n, index)),
            Ok(Some(v)) if v == "LAN" => lans += 1,
            Ok(Some(v)) => rows.push(Row::finding(
                CHECK,
                &n.label,
                FindingCode::EniRoleTagInvalid,
                format!("{} has {ROLE_TAG_KEY}=\"{v}\"; only WAN or LAN (upper case) are valid.", n.label),
                format!("Set the tag {ROLE_TAG_KEY} to {suggested}."),
            )),
            Ok(None) => rows.push(Row::finding(
                CHECK,
                &n.label,
                FindingCode::EniRoleTagMissing,
                format!(
                    "{} (device {}) has no {ROLE_TAG_KEY} tag; the router cannot tell whether it is WAN or LAN.",
                    n.label,
                    index.map_or("?".into(), |d| d.to_string())
                ),
                match n.source {
                    NicSource::Inline => format!("Declare the interface as an AWS::EC2::NetworkInterface with Tags [{{Key: {ROLE_TAG_KEY}, Value: {suggested}}}] and attach it by NetworkInterfaceId (inline interfaces cannot be tagged)."),
                    _ => format!("Add Tags [{{Key: {ROLE_TAG_KEY}, Value: {suggested}}}] to the AWS::EC2::NetworkInterface (device 0 is the guide's Public/WAN, device 1 Private/LAN)."),
                },
            )),
            Err(why) => {
                unknown.push(n.label.clone());
                rows.push(Row::unchecked(CHECK, &n.label, why));
            }
        }
        if let Err(why) = &n.device_index {
            rows.push(Row::unchecked(
                CHECK,
                &n.label,
                format!("device index: {why}"),
            ));
        }
    }
    let undecided = !unknown.is_empty();
    match wans.as_slice() {
        [] if !undecided => rows.push(Row::finding(
            CHECK,
            id,
            FindingCode::NoWanInterface,
            format!("No interface of {id} is tagged {ROLE_TAG_KEY}=WAN; the router needs a WAN interface with a path to the Mist cloud to onboard."),
            format!("Tag the public-subnet interface (DeviceIndex 0) {ROLE_TAG_KEY}=WAN."),
        )),
        [] => {}
        [(wan, index)] if *index != Some(0) && wan.device_index.is_ok() => rows.push(Row::finding(
            CHECK,
            &wan.label,
            FindingCode::WanNotDevice0,
            format!(
                "The WAN interface {} is attached as device index {}, not 0; the guide attaches Public (ge-0-0) first.",
                wan.label,
                index.map_or("?".into(), |d| d.to_string())
            ),
            "Attach the public (WAN) interface with DeviceIndex 0 and the private (LAN) one with DeviceIndex 1.",
        )),
        [_] => {}
        many => rows.push(Row::finding(
            CHECK,
            id,
            FindingCode::MultipleWanInterfaces,
            format!(
                "{} interfaces are tagged {ROLE_TAG_KEY}=WAN ({}); the guide's layout has exactly one.",
                many.len(),
                many.iter().map(|(n, _)| n.label.as_str()).collect::<Vec<_>>().join(", ")
            ),
            format!("Keep {ROLE_TAG_KEY}=WAN on the public-subnet interface only and tag the others LAN."),
        )),
    }
    if lans == 0 && !undecided {
        rows.push(Row::finding(
            CHECK,
            id,
            FindingCode::NoLanInterface,
            format!("No interface of {id} is tagged {ROLE_TAG_KEY}=LAN; the guide's router has a private-subnet interface (ge-0-1)."),
            format!("Attach an interface in the private subnet with DeviceIndex 1, tagged {ROLE_TAG_KEY}=LAN."),
        ));
    }
    if rows.is_empty() {
        let lan_at_1 = nics.iter().any(|n| {
            n.device_index.as_ref().ok() == Some(&1)
                && matches!(role_tag(ctx, n), Ok(Some(v)) if v == "LAN")
        });
        rows.push(Row::ok(
            CHECK,
            id,
            if lan_at_1 {
                format!("device 0 {ROLE_TAG_KEY}=WAN, device 1 {ROLE_TAG_KEY}=LAN")
            } else {
                format!("device 0 {ROLE_TAG_KEY}=WAN, {lans} {ROLE_TAG_KEY}=LAN")
            },
        ));
    }
    rows
}

fn source_dest(ctx: &Ctx, id: &str, p: Option<&Value>, n: &Nic, count: usize) -> Row {
    const CHECK: &str = "source-dest-check";
    let fix = "Set SourceDestCheck: false on the AWS::EC2::NetworkInterface (the SSR forwards traffic that is neither from nor to its own addresses).";
    let finding = |why: &str| {
        Row::finding(
            CHECK,
            &n.label,
            FindingCode::SrcDstCheckEnabled,
            format!(
                "{}: {why}; the router would drop the traffic it forwards.",
                n.label
            ),
            fix,
        )
    };
    match &n.source {
        NicSource::External(what) => Row::unchecked(
            CHECK,
            &n.label,
            format!("an existing interface ({what}); its setting is not in the template"),
        ),
        NicSource::Resource(_) => match n.props.as_ref().and_then(|p| p.get("SourceDestCheck")).map(|v| ctx.eval(v)) {
            None | Some(Val::NoValue) => finding("SourceDestCheck is not set, and EC2 turns it on by default"),
            Some(v) => match is_false(&v) {
                Some(true) => Row::ok(CHECK, &n.label, "SourceDestCheck: false"),
                Some(false) => finding("SourceDestCheck is true"),
                None => Row::unchecked(CHECK, &n.label, format!("SourceDestCheck is {}", v.why_unknown())),
            },
        },
        NicSource::Inline => match prop(ctx, p, "SourceDestCheck") {
            None => finding(&format!(
                "declared inline, and {id} does not set SourceDestCheck, which EC2 turns on by default"
            )),
            Some(v) => match is_false(&v) {
                Some(true) if count == 1 => Row::ok(CHECK, &n.label, format!("{id} SourceDestCheck: false")),
                Some(true) => Row::unchecked(
                    CHECK,
                    &n.label,
                    format!("declared inline; {id} sets SourceDestCheck: false for the instance, not per interface: check each interface after launch (ssr-onboard audit)"),
                ),
                Some(false) => finding(&format!("{id} sets SourceDestCheck true")),
                None => Row::unchecked(CHECK, &n.label, format!("SourceDestCheck is {}", v.why_unknown())),
            },
        },
    }
}

fn instance_profile(ctx: &Ctx, id: &str, p: Option<&Value>) -> Row {
    const CHECK: &str = "instance-profile";
    let Some(profile) = prop(ctx, p, "IamInstanceProfile") else {
        return Row::finding(
            CHECK,
            id,
            FindingCode::NoInstanceProfile,
            format!("{id} has no IamInstanceProfile; the router cannot call {DESCRIBE_ENIS} to read its {ROLE_TAG_KEY} interface tags."),
            format!("Add an AWS::IAM::InstanceProfile whose role allows {DESCRIBE_ENIS} on Resource \"*\", and set IamInstanceProfile: !Ref it."),
        );
    };
    let profile_id = match &profile {
        Val::Resource { id: pid, .. }
            if ctx.resource_type(pid) == Some("AWS::IAM::InstanceProfile") =>
        {
            pid.clone()
        }
        other => {
            let what = other
                .as_text()
                .map(|t| format!("\"{t}\""))
                .unwrap_or_else(|| other.why_unknown());
            return Row::unchecked(
                CHECK,
                id,
                format!("IamInstanceProfile is an existing profile ({what}); its role's policies are not in the template"),
            );
        }
    };
    let roles = props(ctx, &profile_id)
        .and_then(|pp| pp.get("Roles"))
        .map(|r| ctx.list(r));
    let roles = match roles {
        Some(Ok(r)) => r,
        Some(Err(v)) => {
            return Row::unchecked(CHECK, &profile_id, format!("Roles is {}", v.why_unknown()))
        }
        None => Vec::new(),
    };
    let mut unknown = Vec::new();
    for r in &roles {
        match ctx.eval(r) {
            Val::Resource { id: role, .. }
                if ctx.resource_type(&role) == Some("AWS::IAM::Role") =>
            {
                match role_allows(ctx, &role) {
                    Grant::Allowed(how) => {
                        return Row::ok(CHECK, id, format!("{profile_id} → {role} allows {DESCRIBE_ENIS} ({how})"))
                    }
                    Grant::Denied(how) => {
                        return Row::finding(
                            CHECK,
                            &role,
                            TemplateCode::ProfileCannotDescribeEnis,
                            format!("{role} denies {DESCRIBE_ENIS} ({how}); the router cannot read its {ROLE_TAG_KEY} interface tags."),
                            format!("Remove the Deny of {DESCRIBE_ENIS} from {role}."),
                        )
                    }
                    Grant::Unknown(why) => unknown.push(format!("{role}: {why}")),
                    Grant::No => {}
                }
            }
            other => {
                let what = other
                    .as_text()
                    .map(|t| format!("\"{t}\""))
                    .unwrap_or_else(|| other.why_unknown());
                unknown.push(format!(
                    "an existing role ({what}) whose policies are not in the template"
                ));
            }
        }
    }
    if !unknown.is_empty() {
        return Row::unchecked(CHECK, &profile_id, unknown.join("; "));
    }
    Row::finding(
        CHECK,
        &profile_id,
        TemplateCode::ProfileCannotDescribeEnis,
        format!("The role of {profile_id} does not allow {DESCRIBE_ENIS}; the router cannot read its {ROLE_TAG_KEY} interface tags."),
        format!("Add a policy statement {{Effect: Allow, Action: {DESCRIBE_ENIS}, Resource: \"*\"}} to the role (the action has no resource-level permissions)."),
    )
}

enum Grant {
    Allowed(String),
    Denied(String),
    Unknown(String),
    No,
}

/// Does the role (inline policies, `AWS::IAM::Policy`/`ManagedPolicy` resources attached to it,
/// well-known AWS managed policies) allow `ec2:DescribeNetworkInterfaces` on `*`?
fn role_allows(ctx: &Ctx, role: &str) -> Grant {
    let mut docs: Vec<(String, Value)> = Vec::new();
    let mut unknown = Vec::new();
    let rp = props(ctx, role);
    if let Some(policies) = rp.and_then(|p| p.get("Policies")) {
        match ctx.list(policies) {
            Ok(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Val::Known(pol) = ctx.eval(item) {
                        let name = pol
                            .get("PolicyName")
                            .and_then(|n| ctx.text(n).as_text())
                            .unwrap_or_else(|| format!("Policies[{i}]"));
                        if let Some(doc) = pol.get("PolicyDocument") {
                            docs.push((format!("{role} policy {name}"), doc.clone()));
                        }
                    }
                }
            }
            Err(v) => unknown.push(format!("Policies is {}", v.why_unknown())),
        }
    }
    for (pid, res) in ctx.resources().into_iter().flatten() {
        let ty = res.get("Type").and_then(Value::as_str);
        if !matches!(
            ty,
            Some("AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "AWS::IAM::RolePolicy")
        ) {
            continue;
        }
        let Some(pp) = res.get("Properties") else {
            continue;
        };
        let attached = match (ty, pp.get("Roles"), pp.get("RoleName")) {
            (Some("AWS::IAM::RolePolicy"), _, Some(r)) => {
                matches!(ctx.eval(r), Val::Resource { id, .. } if id == role)
            }
            (_, Some(rs), _) => ctx
                .list(rs)
                .map(|items| {
                    items
                        .iter()
                        .any(|r| matches!(ctx.eval(r), Val::Resource { id, .. } if id == role))
                })
                .unwrap_or(false),
            _ => false,
        };
        if attached {
            if let Some(doc) = pp.get("PolicyDocument") {
                docs.push((pid.clone(), doc.clone()));
            }
        }
        if ty == Some("AWS::IAM::ManagedPolicy") {
            // Also attached through the role's ManagedPolicyArns (below).
            let by_arn = rp
                .and_then(|p| p.get("ManagedPolicyArns"))
                .and_then(|a| ctx.list(a).ok())
                .is_some_and(|items| {
                    items
                        .iter()
                        .any(|a| matches!(ctx.eval(a), Val::Resource { id, .. } if &id == pid))
                });
            if by_arn && !attached {
                if let Some(doc) = pp.get("PolicyDocument") {
                    docs.push((pid.clone(), doc.clone()));
                }
            }
        }
    }
    let mut allowed = None;
    for (name, doc) in &docs {
        match statements_allow(ctx, doc) {
            Grant::Denied(how) => return Grant::Denied(format!("{name}: {how}")),
            Grant::Allowed(how) => allowed = allowed.or(Some(format!("{name}: {how}"))),
            Grant::Unknown(why) => unknown.push(format!("{name}: {why}")),
            Grant::No => {}
        }
    }
    if let Some(arns) = rp.and_then(|p| p.get("ManagedPolicyArns")) {
        match ctx.list(arns) {
            Ok(items) => {
                for a in items {
                    match ctx.eval(&a) {
                        Val::Resource { .. } => {} // a template ManagedPolicy, read above
                        v => {
                            let text = v.display();
                            match MANAGED_GRANTING
                                .iter()
                                .find(|m| text.ends_with(&format!(":iam::aws:policy/{m}")))
                            {
                                Some(m) => {
                                    allowed = allowed.or(Some(format!("AWS managed policy {m}")))
                                }
                                None => unknown.push(format!("managed policy {text} is not read")),
                            }
                        }
                    }
                }
            }
            Err(v) => unknown.push(format!("ManagedPolicyArns is {}", v.why_unknown())),
        }
    }
    match (allowed, unknown.is_empty()) {
        (Some(how), _) => Grant::Allowed(how),
        (None, false) => Grant::Unknown(unknown.join("; ")),
        (None, true) => Grant::No,
    }
}

fn statements_allow(ctx: &Ctx, doc: &Value) -> Grant {
    let doc = match ctx.eval(doc) {
        Val::Known(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(v) => v,
            Err(_) => return Grant::Unknown("the policy document is not JSON".to_string()),
        },
        Val::Known(v) => v,
        other => return Grant::Unknown(format!("the policy document is {}", other.why_unknown())),
    };
    let statements = match doc.get("Statement").map(|s| ctx.eval(s)) {
        Some(Val::Known(Value::Array(items))) => items,
        Some(Val::Known(one @ Value::Object(_))) => vec![one],
        Some(other) => return Grant::Unknown(format!("Statement is {}", other.why_unknown())),
        None => Vec::new(),
    };
    let mut result = Grant::No;
    for st in statements {
        let Val::Known(st) = ctx.eval(&st) else {
            result = Grant::Unknown("a statement is not known".to_string());
            continue;
        };
        let effect = st.get("Effect").and_then(|e| ctx.text(e).as_text());
        let actions = match st.get("Action").map(|a| strings(ctx, a)) {
            Some(Ok(a)) => a,
            Some(Err(why)) => {
                result = Grant::Unknown(format!("Action is {why}"));
                continue;
            }
            None => continue,
        };
        let Some(action) = actions.iter().find(|a| glob_match(a, DESCRIBE_ENIS)) else {
            continue;
        };
        let resources = match st.get("Resource").map(|r| strings(ctx, r)) {
            Some(Ok(r)) => r,
            Some(Err(why)) => {
                result = Grant::Unknown(format!("Resource is {why}"));
                continue;
            }
            None => Vec::new(),
        };
        let all = resources.iter().any(|r| r == "*");
        match effect.as_deref() {
            Some("Deny") if all => return Grant::Denied(format!("Deny {action}")),
            Some("Allow")
                if all && st.get("Condition").is_some() && !matches!(result, Grant::Allowed(_)) =>
            {
                result = Grant::Unknown(format!("Allow {action} has a Condition"));
            }
            Some("Allow") if all && st.get("Condition").is_some() => {}
            Some("Allow") if all => result = Grant::Allowed(format!("Allow {action} on *")),
            _ => {}
        }
    }
    result
}

fn strings(ctx: &Ctx, v: &Value) -> Result<Vec<String>, String> {
    match ctx.eval(v) {
        Val::Known(Value::Array(items)) => items
            .iter()
            .map(|i| {
                let t = ctx.text(i);
                t.as_text().ok_or_else(|| t.why_unknown())
            })
            .collect(),
        other => {
            let t = match other {
                Val::Known(_) => ctx.text(v),
                o => o,
            };
            t.as_text().map(|s| vec![s]).ok_or_else(|| t.why_unknown())
        }
    }
}

/// IAM's action match: case-insensitive, `*` any run, `?` one character.
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The WAN interface's subnet has `0.0.0.0/0` to an internet gateway, where the template
/// defines routes.
fn internet_route(ctx: &Ctx, id: &str, p: Option<&Value>, nics: &[Nic]) -> Row {
    const CHECK: &str = "internet-route";
    let resources = ctx.resources().into_iter().flatten();
    let routes: Vec<(&String, &Value)> = resources
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::EC2::Route"))
        .collect();
    if routes.is_empty() {
        return Row::skipped(
            CHECK,
            id,
            "the template defines no routes (the guard checks the WAN subnet's route after launch)",
        );
    }
    let wan = nics
        .iter()
        .find(|n| matches!(role_tag(ctx, n), Ok(Some(v)) if v == "WAN"))
        .or_else(|| {
            nics.iter()
                .find(|n| n.device_index.as_ref().ok() == Some(&0))
        });
    let Some(wan) = wan else {
        return Row::unchecked(CHECK, id, "no WAN interface to follow to its subnet");
    };
    let subnet = match &wan.source {
        NicSource::External(what) => {
            return Row::unchecked(
                CHECK,
                &wan.label,
                format!("an existing interface ({what}); its subnet is not in the template"),
            )
        }
        _ => wan
            .props
            .as_ref()
            .and_then(|pp| pp.get("SubnetId"))
            .or_else(|| p.and_then(|pp| pp.get("SubnetId")))
            .map(|s| ctx.eval(s)),
    };
    let subnet_id = match subnet {
        Some(Val::Resource { id: s, attr: None })
            if ctx.resource_type(&s) == Some("AWS::EC2::Subnet") =>
        {
            s
        }
        Some(other) => {
            let what = other
                .as_text()
                .map(|t| format!("\"{t}\""))
                .unwrap_or_else(|| other.why_unknown());
            return Row::unchecked(
                CHECK,
                &wan.label,
                format!("the WAN subnet is an existing one ({what}); its route table is not in the template"),
            );
        }
        None => return Row::unchecked(CHECK, &wan.label, "the WAN interface has no SubnetId"),
    };
    let is_ref_to = |v: Option<&Value>, target: &str| {
        v.map(|v| ctx.eval(v))
            .is_some_and(|v| matches!(v, Val::Resource { id, attr: None } if id == target))
    };
    let tables: Vec<String> = ctx
        .resources()
        .into_iter()
        .flatten()
        .filter(|(_, r)| {
            r.get("Type").and_then(Value::as_str) == Some("AWS::EC2::SubnetRouteTableAssociation")
        })
        .filter_map(|(_, r)| r.get("Properties"))
        .filter(|ap| is_ref_to(ap.get("SubnetId"), &subnet_id))
        .filter_map(|ap| match ap.get("RouteTableId").map(|t| ctx.eval(t)) {
            Some(Val::Resource { id, attr: None }) => Some(id),
            _ => None,
        })
        .collect();
    let fix = format!(
        "Add an AWS::EC2::Route with DestinationCidrBlock 0.0.0.0/0 and GatewayId !Ref the InternetGateway to the route table associated with {subnet_id} (AWS::EC2::SubnetRouteTableAssociation)."
    );
    let Some(table) = tables.first() else {
        let vpc = props(ctx, &subnet_id)
            .and_then(|sp| sp.get("VpcId"))
            .map(|v| ctx.eval(v));
        if !matches!(&vpc, Some(Val::Resource { id: v, attr: None }) if ctx.resource_type(v) == Some("AWS::EC2::VPC"))
        {
            return Row::unchecked(
                CHECK,
                &subnet_id,
                format!("the WAN subnet {subnet_id} has no route table association in the template, so it uses the main route table of an existing VPC, which the template does not show"),
            );
        }
        return Row::finding(
            CHECK,
            &subnet_id,
            FindingCode::WanNoInternetRoute,
            format!("The WAN subnet {subnet_id} has no route table association in the template: it uses the VPC's main route table, which has no route to an internet gateway; the router cannot reach the Mist cloud."),
            fix,
        );
    };
    let mut unknown = Vec::new();
    for (rid, r) in &routes {
        let Some(rp) = r.get("Properties") else {
            continue;
        };
        if !is_ref_to(rp.get("RouteTableId"), table) {
            continue;
        }
        let dest = rp.get("DestinationCidrBlock").map(|d| ctx.text(d));
        match dest.as_ref().map(|d| d.as_text()) {
            Some(Some(d)) if d == "0.0.0.0/0" => {}
            Some(None) => {
                unknown.push(format!(
                    "{rid}'s destination is {}",
                    dest.map(|d| d.why_unknown()).unwrap_or_default()
                ));
                continue;
            }
            _ => continue,
        }
        match rp.get("GatewayId").map(|g| ctx.eval(g)) {
            Some(Val::Resource { id: g, attr: None })
                if ctx.resource_type(&g) == Some("AWS::EC2::InternetGateway") =>
            {
                return Row::ok(
                    CHECK,
                    &subnet_id,
                    format!("{table} routes 0.0.0.0/0 to {g} ({rid})"),
                )
            }
            Some(v) if v.as_text().is_some_and(|t| t.starts_with("igw-")) => {
                return Row::ok(
                    CHECK,
                    &subnet_id,
                    format!("{table} routes 0.0.0.0/0 to an internet gateway ({rid})"),
                )
            }
            Some(v @ (Val::Unknown(_) | Val::Text(_))) => {
                unknown.push(format!("{rid}'s GatewayId is {}", v.why_unknown()))
            }
            _ => {}
        }
    }
    if !unknown.is_empty() {
        return Row::unchecked(CHECK, &subnet_id, unknown.join("; "));
    }
    Row::finding(
        CHECK,
        &subnet_id,
        FindingCode::WanNoInternetRoute,
        format!("{table}, the route table of the WAN subnet {subnet_id}, has no 0.0.0.0/0 route to an internet gateway; the router cannot reach the Mist cloud."),
        fix,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_iam_actions_use_wildcards_then_they_match_case_insensitively() {
        for (p, m) in [
            ("ec2:DescribeNetworkInterfaces", true),
            ("EC2:describenetworkinterfaces", true),
            ("ec2:Describe*", true),
            ("ec2:*", true),
            ("*", true),
            ("ec2:DescribeNetworkInterface?", true),
            ("ec2:DescribeInstances", false),
            ("ec2:DescribeNetworkInterfaceAttribute", false),
            ("s3:*", false),
        ] {
            assert_eq!(glob_match(p, DESCRIBE_ENIS), m, "{p}");
        }
    }
}
