"""instance-guard written the way a Python team would write it: one boto3 Lambda handler.

The yardstick for the Rust function, not a strawman: module-level clients (built once per cold
start), standard retries, and the same checks and fixes as ssr_core's guard on an EC2 state-change
event (functions/domain/src/rules/, functions/core/src/aws/ec2/):

  DescribeInstances, DescribeNetworkInterfaces (attachment.instance-id) -> select the router ->
  DescribeInstanceAttribute enaSupport (when DescribeInstances did not say true),
  DescribeVolumes (root), DescribeInstanceAttribute userData, DescribeRouteTables (explicit
  association, else the VPC's main table) -> rules -> ModifyNetworkInterfaceAttribute
  SourceDestCheck=false per ENI -> one DescribeNetworkInterfaces read-back (polled with backoff)
  -> for remaining findings: GetItem (consistent) + conditional PutItem claim in the state table,
  then one SNS Publish; the claim is released if the publish fails.

The calls are made one after another, as idiomatic boto3 code does (boto3 clients are
synchronous).
"""

import base64
import binascii
import fnmatch
import hashlib
import json
import logging
import os
import re
import time
from datetime import datetime, timedelta, timezone

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

logger = logging.getLogger()
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

_cfg = Config(retries={"max_attempts": 3, "mode": "standard"})
ec2 = boto3.client("ec2", config=_cfg)
sns = boto3.client("sns", config=_cfg)
dynamodb = boto3.client("dynamodb", config=_cfg)

ROUTER_TAG_KEY = os.environ.get("ROUTER_TAG_KEY") or "SSR-ROUTER"
ROUTER_STACKS = [g.strip() for g in (os.environ.get("ROUTER_STACKS") or "").split(",") if g.strip()]
ENA_FIX_WHEN_STOPPED = (os.environ.get("ENA_FIX_WHEN_STOPPED") or "false").lower() in ("true", "1", "yes", "on")
DRY_RUN = (os.environ.get("DRY_RUN") or "false").lower() in ("true", "1", "yes", "on")
ALERT_TOPIC_ARN = os.environ.get("ALERT_TOPIC_ARN") or None
STATE_TABLE = os.environ.get("STATE_TABLE") or None
ALERT_DEDUP_HOURS = int(os.environ.get("ALERT_DEDUP_HOURS") or 24)
MIN_ROOT_VOLUME_GB = int(os.environ.get("MIN_ROOT_VOLUME_GB") or 128)
DESCRIBE_RETRY_ATTEMPTS = int(os.environ.get("DESCRIBE_RETRY_ATTEMPTS") or 4)
DESCRIBE_RETRY_BASE_MS = int(os.environ.get("DESCRIBE_RETRY_BASE_MS") or 500)
READBACK_BACKOFF_MS = [int(x) for x in (os.environ.get("READBACK_BACKOFF_MS") or "500,1000,2000,4000").split(",") if x.strip()]
PUBLIC_IP_GRACE_MINUTES = int(os.environ.get("PUBLIC_IP_GRACE_MINUTES") or 10)

ROLE_TAG = "SSR-ROLE"
STACK_NAME_TAG = "aws:cloudformation:stack-name"
ONBOARDING_PATH = "/etc/128T-hardware-bootstrapper/onboarding-config.json"
MAX_USER_DATA_BYTES = 16384
INSTANCE_ID = re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$")
SEVERITY = {"info": 0, "warning": 1, "error": 2}
SMALL_SIZES = ("nano", "micro", "small", "medium", "large")


class MalformedEvent(Exception):
    pass


class FixesFailed(Exception):
    pass


def _tags(items):
    return {t["Key"]: t.get("Value", "") for t in items or []}


def _code(e):
    return e.response.get("Error", {}).get("Code", "")


def finding(code, severity, resource, message, remediation, fix=None):
    return {"code": code, "severity": severity, "resource": resource, "message": message,
            "remediation": remediation, "fix": fix, "fixed": False}


# ---------------------------------------------------------------- reads


def describe_instance(instance_id, retry):
    attempt = 1
    while True:
        try:
            res = ec2.describe_instances(InstanceIds=[instance_id])
            for r in res["Reservations"]:
                for i in r["Instances"]:
                    if i["InstanceId"] == instance_id:
                        return i
            found = None
        except ClientError as e:
            if _code(e) != "InvalidInstanceID.NotFound":
                raise
            found = None
        if found is None and retry and attempt < DESCRIBE_RETRY_ATTEMPTS:
            time.sleep(DESCRIBE_RETRY_BASE_MS * 2 ** (attempt - 1) / 1000)
            attempt += 1
            continue
        return None


def interfaces_of(instance_id):
    enis = []
    paginator = ec2.get_paginator("describe_network_interfaces")
    for page in paginator.paginate(Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}],
                                   PaginationConfig={"PageSize": 1000}):
        enis.extend(page["NetworkInterfaces"])
    out = [{
        "eni_id": n["NetworkInterfaceId"],
        "device_index": n.get("Attachment", {}).get("DeviceIndex"),
        "subnet_id": n.get("SubnetId"),
        "private_ip": n.get("PrivateIpAddress"),
        "public_ip": n.get("Association", {}).get("PublicIp"),
        "source_dest_check": n.get("SourceDestCheck"),
        "tags": _tags(n.get("TagSet")),
    } for n in enis]
    out.sort(key=lambda i: (i["device_index"] if i["device_index"] is not None else 2 ** 31, i["eni_id"]))
    return out


def select(instance_tags, interfaces):
    if ROUTER_TAG_KEY in instance_tags:
        return True, f"instance has the {ROUTER_TAG_KEY} tag"
    for i in interfaces:
        if ROLE_TAG in i["tags"]:
            return True, f"interface {i['eni_id']} has the {ROLE_TAG} tag"
    stack = instance_tags.get(STACK_NAME_TAG)
    if stack:
        for g in ROUTER_STACKS:
            if fnmatch.fnmatchcase(stack, g):
                return True, f"stack {stack} matches ROUTER_STACKS pattern `{g}`"
    return False, "not a managed router"


def wan_of(interfaces):
    wans = [i for i in interfaces if i["tags"].get(ROLE_TAG) == "WAN"]
    return wans[0] if wans else None


def ena_status(instance):
    if instance.get("EnaSupport") is True:
        return "enabled", None
    try:
        res = ec2.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="enaSupport")
        v = res.get("EnaSupport", {}).get("Value")
    except ClientError as e:
        if _code(e) == "UnauthorizedOperation":
            return "not_checked", ("DescribeInstanceAttribute", instance["InstanceId"],
                                   "ENA (enhanced networking, attribute enaSupport)")
        if _code(e) not in ("InvalidParameterValue", "InvalidParameterCombination", "Unknown", ""):
            raise
        v = None
    if v is True:
        return "enabled", None
    if v is False or instance.get("EnaSupport") is False:
        return "disabled", None
    return "unknown", None


def root_volume_size(instance):
    root = instance.get("RootDeviceName")
    vol = next((m["Ebs"]["VolumeId"] for m in instance.get("BlockDeviceMappings", [])
                if m.get("DeviceName") == root and "Ebs" in m), None)
    if not vol:
        return None, None, None
    try:
        res = ec2.describe_volumes(VolumeIds=[vol])
    except ClientError as e:
        if _code(e) == "UnauthorizedOperation":
            return vol, None, ("DescribeVolumes", vol, "the root volume size")
        raise
    vols = res.get("Volumes", [])
    return vol, (vols[0].get("Size") if vols else None), None


def onboarding_status(instance_id):
    """(status, detail): parsed / missing / unreadable / not_checked, like onboarding_config.rs."""
    try:
        res = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    except ClientError as e:
        if _code(e) == "UnauthorizedOperation":
            return "not_checked", "IAM denied ec2:DescribeInstanceAttribute"
        raise
    b64 = (res.get("UserData") or {}).get("Value")
    if not b64:
        return "missing", "the instance has no user data"
    try:
        raw = base64.b64decode(b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        return "unreadable", "user data is not valid base64"
    if len(raw) > MAX_USER_DATA_BYTES:
        return "unreadable", f"user data is {len(raw)} bytes, over EC2's limit of {MAX_USER_DATA_BYTES} bytes"
    if raw[:2] == b"\x1f\x8b":
        return "unreadable", "user data is gzip-compressed"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "unreadable", "user data is not UTF-8 text"
    if not text.strip():
        return "missing", "the instance has no user data"
    if text.splitlines()[0].strip() != "#cloud-config":
        return "unreadable", "user data is not #cloud-config"
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return "unreadable", "cloud-config is not valid YAML"
    files = (doc or {}).get("write_files") if isinstance(doc, dict) else None
    entry = next((f for f in files or [] if isinstance(f, dict) and str(f.get("path", "")).strip() == ONBOARDING_PATH), None)
    if entry is None:
        return "missing", f"cloud-config has no write_files entry for {ONBOARDING_PATH}"
    content = entry.get("content")
    if not isinstance(content, str):
        return "unreadable", f"the write_files entry for {ONBOARDING_PATH} has no text content"
    if str(entry.get("encoding", "")).lower() in ("b64", "base64"):
        try:
            content = base64.b64decode("".join(content.split())).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return "unreadable", "the onboarding file content is not valid base64 text"
    try:
        cfg = json.loads(content)
    except ValueError:
        return "unreadable", f"{ONBOARDING_PATH} is not valid JSON"
    if not isinstance(cfg, dict):
        return "unreadable", f"{ONBOARDING_PATH} is not a JSON object"
    text_of = lambda k: (cfg.get(k).strip() or None) if isinstance(cfg.get(k), str) else None
    problems = [f'"{k}" is missing or empty' for k in ("name", "registration-code", "ssr-version") if not text_of(k)]
    if text_of("mode") != "mist-managed":
        problems.append('"mode" is not "mist-managed"')
    if text_of("cloud-provider") != "aws":
        problems.append('"cloud-provider" is not "aws"')
    return ("parsed", problems)


def route_facts(vpc_id, subnet_id):
    try:
        tables = ec2.describe_route_tables(
            Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])["RouteTables"]
        if not tables and vpc_id:
            tables = ec2.describe_route_tables(Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    except ClientError as e:
        if _code(e) == "UnauthorizedOperation":
            return None, ("DescribeRouteTables", subnet_id, "the WAN subnet's default route to an internet gateway")
        raise
    table = tables[0] if tables else None
    target = None
    for r in (table or {}).get("Routes", []):
        if r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("State") != "blackhole":
            target = (r.get("GatewayId") or r.get("NatGatewayId") or r.get("NetworkInterfaceId")
                      or r.get("TransitGatewayId") or r.get("InstanceId"))
            if target:
                break
    return {"subnet_id": subnet_id, "route_table_id": table and table.get("RouteTableId"),
            "default_route_target": target}, None


# ---------------------------------------------------------------- rules


def evaluate(inst, interfaces, ena, root, onboarding, route, not_checked, state):
    iid = inst["InstanceId"]
    stopped = state == "stopped"
    fix_sdc = state in ("pending", "running")
    out = []
    for i in interfaces:
        if i["source_dest_check"] is not False:
            out.append(finding("SRC_DST_CHECK_ENABLED", "error", i["eni_id"],
                               f"Source/destination check is on for {i['eni_id']} (device {i['device_index']})",
                               f"aws ec2 modify-network-interface-attribute --network-interface-id {i['eni_id']} --no-source-dest-check",
                               ("DisableSourceDestCheck", i["eni_id"]) if fix_sdc else None))
    if ena == "unknown":
        out.append(finding("ENA_UNKNOWN", "info", iid, "EC2 did not report whether ENA is enabled.",
                           f"aws ec2 describe-instances --instance-ids {iid}"))
    elif ena == "disabled":
        out.append(finding("ENA_DISABLED", "warning", iid, "ENA enhanced networking is off.",
                           f"aws ec2 modify-instance-attribute --instance-id {iid} --ena-support",
                           ("EnableEna", iid) if stopped and ENA_FIX_WHEN_STOPPED else None))
    for i in interfaces:
        role = i["tags"].get(ROLE_TAG)
        if role is None:
            out.append(finding("ENI_ROLE_TAG_MISSING", "error", i["eni_id"], f"{i['eni_id']} has no SSR-ROLE tag",
                               f"aws ec2 create-tags --resources {i['eni_id']} --tags Key=SSR-ROLE,Value=LAN"))
        elif role not in ("WAN", "LAN"):
            out.append(finding("ENI_ROLE_TAG_INVALID", "error", i["eni_id"], f"SSR-ROLE={role!r}", "fix the tag"))
    wans = [i for i in interfaces if i["tags"].get(ROLE_TAG) == "WAN"]
    if not wans:
        out.append(finding("NO_WAN_INTERFACE", "error", iid, "No interface is tagged SSR-ROLE=WAN.", "tag device 0 WAN"))
    elif len(wans) == 1 and wans[0]["device_index"] != 0:
        out.append(finding("WAN_NOT_DEVICE_0", "warning", wans[0]["eni_id"], "WAN is not device 0.", "attach Public as device 0"))
    elif len(wans) > 1:
        out.append(finding("MULTIPLE_WAN_INTERFACES", "error", iid, "More than one WAN interface.", "keep one WAN"))
    if not any(i["tags"].get(ROLE_TAG) == "LAN" for i in interfaces):
        out.append(finding("NO_LAN_INTERFACE", "error", iid, "No interface is tagged SSR-ROLE=LAN.", "attach a LAN interface"))
    if not (inst.get("IamInstanceProfile") or {}).get("Arn"):
        out.append(finding("NO_INSTANCE_PROFILE", "error", iid, "No IAM instance profile is attached.",
                           f"aws ec2 associate-iam-instance-profile --instance-id {iid} --iam-instance-profile Name=<profile>"))
    itype = inst.get("InstanceType") or ""
    family, _, size = itype.partition(".")
    if size in SMALL_SIZES or (len(family) > 1 and family[0] == "t" and family[1].isdigit()):
        out.append(finding("INSTANCE_TYPE_TOO_SMALL", "warning", iid, f"{itype} is below c5.xlarge", "resize"))
    vol, size_gb = root
    if size_gb is not None and size_gb < MIN_ROOT_VOLUME_GB:
        out.append(finding("ROOT_VOLUME_TOO_SMALL", "warning", vol, f"Root volume {vol} is {size_gb} GB",
                           f"aws ec2 modify-volume --volume-id {vol} --size {MIN_ROOT_VOLUME_GB}"))
    status, detail = onboarding
    if status == "missing":
        out.append(finding("ONBOARDING_CONFIG_MISSING", "error", iid, detail, "supply the guide's user data"))
    elif status == "unreadable" or (status == "parsed" and detail):
        out.append(finding("ONBOARDING_CONFIG_INVALID", "error", iid,
                           detail if status == "unreadable" else "; ".join(detail), "fix the user data"))
    elif status == "not_checked":
        out.append(finding("ONBOARDING_CONFIG_UNCHECKED", "warning", iid, detail, "tag the instance SSR-ROUTER=true"))
    wan = wan_of(interfaces)
    if wan is not None:
        if route is not None and not (route["default_route_target"] or "").startswith("igw-"):
            out.append(finding("WAN_NO_INTERNET_ROUTE", "error", route["subnet_id"],
                               f"WAN subnet {route['subnet_id']} has no 0.0.0.0/0 route to an internet gateway",
                               "aws ec2 create-route --destination-cidr-block 0.0.0.0/0 --gateway-id <igw-id>"))
        launched = inst.get("LaunchTime")
        in_grace = launched is not None and datetime.now(timezone.utc) < launched + timedelta(minutes=PUBLIC_IP_GRACE_MINUTES)
        if wan["public_ip"] is None and not stopped and not in_grace:
            out.append(finding("WAN_NO_PUBLIC_IP", "error", wan["eni_id"], "WAN interface has no public IP",
                               "allocate and associate an Elastic IP"))
    for action, resource, what in not_checked:
        out.append(finding("NOT_CHECKED", "warning", resource, f"IAM denied ec2:{action}: {what} was not checked",
                           f"Grant ec2:{action}"))
    return out


# ---------------------------------------------------------------- writes


def apply_fixes(findings):
    actions = [f["fix"] for f in findings if f["fix"]]
    results = {}
    for kind, resource in actions:
        if DRY_RUN:
            results[resource] = "planned"
            continue
        try:
            if kind == "DisableSourceDestCheck":
                ec2.modify_network_interface_attribute(NetworkInterfaceId=resource, SourceDestCheck={"Value": False})
            else:
                ec2.modify_instance_attribute(InstanceId=resource, EnaSupport={"Value": True})
            results[resource] = "applied"
        except ClientError as e:
            logger.warning("fix failed on %s: %s", resource, _code(e))
            results[resource] = "failed"
    pending = [(k, r) for k, r in actions if results.get(r) == "applied"]
    waits = iter(READBACK_BACKOFF_MS)
    while pending:
        enis = [r for k, r in pending if k == "DisableSourceDestCheck"]
        shown = set()
        if enis:
            try:
                res = ec2.describe_network_interfaces(NetworkInterfaceIds=enis)
                shown |= {n["NetworkInterfaceId"] for n in res["NetworkInterfaces"] if n.get("SourceDestCheck") is False}
            except ClientError as e:
                logger.warning("read-back failed: %s", _code(e))
        for k, r in pending:
            if k == "EnableEna":
                v = ec2.describe_instance_attribute(InstanceId=r, Attribute="enaSupport").get("EnaSupport", {}).get("Value")
                if v is True:
                    shown.add(r)
        for k, r in pending:
            if r in shown:
                results[r] = "verified"
        pending = [(k, r) for k, r in pending if r not in shown]
        if not pending:
            break
        wait = next(waits, None)
        if wait is None:
            break
        time.sleep(wait / 1000)
    for k, r in pending:
        results[r] = "unverified"
    for f in findings:
        if f["fix"] and results.get(f["fix"][1]) == "verified":
            f["fixed"] = True
    return [{"action": k, "resource": r, "status": results[r]} for k, r in actions]


def send_alert(instance_id, findings, actions, trigger):
    remaining = [f for f in findings if not f["fixed"] and SEVERITY[f["severity"]] > 0]
    if not remaining:
        return {"sent": False, "reason": "no findings remain"}
    subject = f"SSR router {instance_id}: {len(remaining)} finding(s)"[:99]
    if not ALERT_TOPIC_ARN:
        return {"sent": False, "subject": subject, "reason": "ALERT_TOPIC_ARN is not set"}
    failed = any(a["status"] in ("failed", "unverified") for a in actions)
    keys = sorted(f"{f['code']}|{f['resource']}" for f in remaining) + (["fix-failed"] if failed else [])
    pk = f"alert#{instance_id}#{hashlib.sha256(chr(10).join(keys).encode()).hexdigest()[:16]}"
    now = int(time.time())
    if STATE_TABLE:
        item = dynamodb.get_item(TableName=STATE_TABLE, Key={"pk": {"S": pk}}, ConsistentRead=True,
                                 ProjectionExpression="expires_at").get("Item")
        if item and int(item["expires_at"]["N"]) >= now:
            return {"sent": False, "already_sent": True, "reason": "identical findings already alerted"}
        try:
            dynamodb.put_item(
                TableName=STATE_TABLE,
                Item={"pk": {"S": pk}, "kind": {"S": "guard-alert"}, "instance_id": {"S": instance_id},
                      "expires_at": {"N": str(now + ALERT_DEDUP_HOURS * 3600)},
                      "created_at": {"S": datetime.now(timezone.utc).isoformat()}},
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as e:
            if _code(e) == "ConditionalCheckFailedException":
                return {"sent": False, "already_sent": True, "reason": "identical findings already alerted"}
            raise
    body = "\n\n".join(f"[{f['severity'].upper()}] {f['code']} on {f['resource']}\n{f['message']}\nFix: {f['remediation']}"
                       for f in remaining)
    severity = max((f["severity"] for f in remaining), key=SEVERITY.get)
    try:
        res = sns.publish(
            TopicArn=ALERT_TOPIC_ARN, Subject=subject, Message=f"{trigger}\n\n{body}",
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": "guard-findings"},
                "severity": {"DataType": "String", "StringValue": severity},
                "instance_id": {"DataType": "String", "StringValue": instance_id},
                "finding_codes": {"DataType": "String.Array",
                                  "StringValue": json.dumps(sorted({f["code"] for f in remaining}))},
            })
    except ClientError:
        if STATE_TABLE:
            dynamodb.delete_item(TableName=STATE_TABLE, Key={"pk": {"S": pk}})
        raise
    return {"sent": True, "message_id": res.get("MessageId"), "subject": subject}


# ---------------------------------------------------------------- handler


def lambda_handler(event, context):
    if event.get("source") != "aws.ec2" or event.get("detail-type") != "EC2 Instance State-change Notification":
        raise MalformedEvent("expected an EventBridge \"EC2 Instance State-change Notification\"")
    detail = event.get("detail") or {}
    instance_id, event_state = detail.get("instance-id", ""), detail.get("state")
    if not INSTANCE_ID.match(instance_id):
        raise MalformedEvent("detail.instance-id is not an EC2 instance id")
    out = {"instance_id": instance_id, "selected": False, "findings": [], "actions": [], "alert": None}
    if event_state in ("shutting-down", "terminated", "stopping"):
        return {**out, "reason": f"instance is {event_state}: nothing to do"}
    inst = describe_instance(instance_id, retry=event_state in ("pending", "running"))
    if inst is None:
        return {**out, "reason": "instance does not exist"}
    interfaces = interfaces_of(instance_id)
    selected, reason = select(_tags(inst.get("Tags")), interfaces)
    state = inst["State"]["Name"]
    out.update(selected=selected, reason=reason, state=state)
    if not selected or state not in ("pending", "running", "stopped"):
        return out
    not_checked = []
    ena, nc = ena_status(inst)
    not_checked += [nc] if nc else []
    vol, size_gb, nc = root_volume_size(inst)
    not_checked += [nc] if nc else []
    onboarding = onboarding_status(instance_id)
    wan = wan_of(interfaces)
    route = None
    if wan is not None and wan["subnet_id"]:
        route, nc = route_facts(inst.get("VpcId"), wan["subnet_id"])
        not_checked += [nc] if nc else []
    findings = evaluate(inst, interfaces, ena, (vol, size_gb), onboarding, route, not_checked, state)
    actions = apply_fixes(findings)
    alert = send_alert(instance_id, findings, actions, f"EC2 state change: {event_state}")
    for f in findings:
        f["fix"] = None if f["fix"] is None else {"action": f["fix"][0], "resource": f["fix"][1]}
    out.update(findings=findings, actions=actions, alert=alert)
    logger.info(json.dumps({"instance_id": instance_id, "decision": "checked",
                            "finding_codes": [f["code"] for f in findings if not f["fixed"]],
                            "actions": len(actions), "alert_sent": alert.get("sent")}))
    failed = [a for a in actions if a["status"] in ("failed", "unverified")]
    if failed:
        raise FixesFailed(f"{len(failed)} of {len(actions)} fixes failed on {instance_id}")
    return out
