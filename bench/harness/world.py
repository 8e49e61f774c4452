"""One moto server and the guide's AWS world in it, built with boto3 straight against moto (never
through the counting proxy), mirroring functions/sandbox/src/world/: the guide's VPC (public
and private subnet, internet gateway, public route table), routers with two interfaces tagged
SSR-ROLE=WAN/LAN, the guide's cloud-init user data, a 128 GB root volume, an instance profile and
an Elastic IP on the WAN interface.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import boto3
from botocore.config import Config as BotoConfig

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
ROUTER_AMI = "ami-bb9a6bc2"
ROUTER_ROOT_DEVICE = "/dev/sda1"
ROUTER_INSTANCE_PROFILE = "ssr-router-profile"
GUIDE_SSR_VERSION = "6.3.0"
FAKE_REG_CODE = "SSRTEST-REGCODE-7f3c9e2a4b1d-DO-NOT-LEAK"
ONBOARDING_PATH = "/etc/128T-hardware-bootstrapper/onboarding-config.json"
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """`python -m moto.server -p PORT` on a free port, stopped by `stop()` (by its pid)."""

    def __init__(self, python, log_path):
        self.port = free_port()
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [python, "-m", "moto.server", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MOTO_CALL_RESET_API": "false"},
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).read()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not start (see {log_path})")
                time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def guide_user_data(name, ssr_version=GUIDE_SSR_VERSION, registration_code=FAKE_REG_CODE):
    """Byte for byte what ssr_core::onboarding_config::guide_user_data writes."""
    doc = json.dumps(
        {
            "cloud-provider": "aws",
            "mode": "mist-managed",
            "name": name,
            "registration-code": registration_code,
            "ssr-version": ssr_version,
        },
        separators=(",", ":"),
    )
    return f"#cloud-config\nwrite_files:\n  - path: {ONBOARDING_PATH}\n    content: |\n      {doc}\n"


def ec2_state_change_event(instance_id, state, n):
    """The EC2 user guide's sample (tests/fixtures/ec2-state-change-running.json), as world/events.rs."""
    with open(os.path.join(FIXTURES, "ec2-state-change-running.json")) as f:
        ev = json.load(f)
    ev["id"] = "2f5c8a1e-4b3d-4c61-9e7a-%012x" % ((os.getpid() << 24) | n)
    ev["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ev["resources"] = [f"arn:aws:ec2:{ev['region']}:{ev['account']}:instance/{instance_id}"]
    ev["detail"]["instance-id"] = instance_id
    ev["detail"]["state"] = state
    return ev


def scheduled_event(n):
    """tests/fixtures/scheduled-event.json firing now."""
    with open(os.path.join(FIXTURES, "scheduled-event.json")) as f:
        ev = json.load(f)
    ev["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ev["id"] = "53dc4d37-cffa-4f76-80c9-%012x" % n
    return ev


class World:
    def __init__(self, endpoint):
        cfg = BotoConfig(retries={"max_attempts": 2, "mode": "standard"})
        kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                  aws_secret_access_key="testing", config=cfg)
        self.ec2 = boto3.client("ec2", **kw)
        self.iam = boto3.client("iam", **kw)
        self.sns = boto3.client("sns", **kw)
        self.ddb = boto3.client("dynamodb", **kw)
        self._profile = None
        self.vpc = None

    def state_table(self, name):
        # As infra/template.yaml: the one index (`lists`) the alert outbox is read through.
        self.ddb.create_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "list", "AttributeType": "S"},
                {"AttributeName": "list_at", "AttributeType": "N"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "lists",
                    "KeySchema": [
                        {"AttributeName": "list", "KeyType": "HASH"},
                        {"AttributeName": "list_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        return name

    def topic(self, name):
        return self.sns.create_topic(Name=name)["TopicArn"]

    def guide_vpc(self):
        ec2 = self.ec2
        name = lambda rt, n: [{"ResourceType": rt, "Tags": [{"Key": "Name", "Value": n}]}]
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=name("vpc", "ssr-vpc"))["Vpc"]["VpcId"]
        az = REGION + "a"
        pub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=az,
                                TagSpecifications=name("subnet", "ssr-public"))["Subnet"]["SubnetId"]
        priv = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone=az,
                                 TagSpecifications=name("subnet", "ssr-private"))["Subnet"]["SubnetId"]
        igw = ec2.create_internet_gateway(TagSpecifications=name("internet-gateway", "ssr-igw"))[
            "InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        rtb = ec2.create_route_table(VpcId=vpc, TagSpecifications=name("route-table", "ssr-public"))[
            "RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        ec2.associate_route_table(RouteTableId=rtb, SubnetId=pub)
        sg = ec2.create_security_group(GroupName="ssr-router-%d" % time.time_ns(),
                                       Description="SSR router interfaces", VpcId=vpc)["GroupId"]
        self.vpc = dict(vpc_id=vpc, public_subnet_id=pub, private_subnet_id=priv, igw_id=igw,
                        public_route_table_id=rtb, security_group_id=sg)
        return self.vpc

    def _instance_profile(self):
        if self._profile is None:
            trust = json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
            self.iam.create_role(RoleName="ssr-router-role", AssumeRolePolicyDocument=trust)
            self.iam.create_instance_profile(InstanceProfileName=ROUTER_INSTANCE_PROFILE)
            self.iam.add_role_to_instance_profile(InstanceProfileName=ROUTER_INSTANCE_PROFILE,
                                                  RoleName="ssr-router-role")
            self._profile = ROUTER_INSTANCE_PROFILE
        return self._profile

    def launch_router(self, name, source_dest_check=True, root_volume_gb=128):
        """RouterSpec::guide(name) of world/routers.rs, launched as Sandbox::launch_router does."""
        v = self.vpc
        ec2 = self.ec2
        out = ec2.run_instances(
            ImageId=ROUTER_AMI, InstanceType="c5.xlarge", MinCount=1, MaxCount=1,
            NetworkInterfaces=[
                {"DeviceIndex": 0, "SubnetId": v["public_subnet_id"], "Groups": [v["security_group_id"]],
                 "DeleteOnTermination": True, "Description": f"{name} ge-0-0 (public)"},
                {"DeviceIndex": 1, "SubnetId": v["private_subnet_id"], "Groups": [v["security_group_id"]],
                 "DeleteOnTermination": True, "Description": f"{name} ge-0-1 (private)"},
            ],
            BlockDeviceMappings=[{"DeviceName": ROUTER_ROOT_DEVICE, "Ebs": {
                "VolumeSize": root_volume_gb, "VolumeType": "gp3", "DeleteOnTermination": True}}],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": "Name", "Value": name}, {"Key": "SSR-ROUTER", "Value": "true"}]}],
            UserData=guide_user_data(name),  # botocore base64-encodes RunInstances UserData itself
            IamInstanceProfile={"Name": self._instance_profile()},
        )
        inst = out["Instances"][0]
        by_index = {n["Attachment"]["DeviceIndex"]: n["NetworkInterfaceId"] for n in inst["NetworkInterfaces"]}
        wan, lan = by_index[0], by_index[1]
        ec2.create_tags(Resources=[wan], Tags=[{"Key": "SSR-ROLE", "Value": "WAN"}])
        ec2.create_tags(Resources=[lan], Tags=[{"Key": "SSR-ROLE", "Value": "LAN"}])
        self.set_source_dest_check([wan, lan], source_dest_check)
        alloc = ec2.allocate_address(Domain="vpc")
        ec2.associate_address(AllocationId=alloc["AllocationId"], NetworkInterfaceId=wan)
        return dict(instance_id=inst["InstanceId"], wan_eni_id=wan, lan_eni_id=lan, name=name)

    def set_source_dest_check(self, enis, value):
        for eni in enis:
            self.ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, SourceDestCheck={"Value": value})

    def fleet(self, count, name="fleet"):
        """`count` routers in batches of 250 (one interface each, tagged SSR-ROUTER, the guide's
        user data), in a /20 of the guide's VPC: the watchdog test's fleet."""
        subnet = self.ec2.create_subnet(VpcId=self.vpc["vpc_id"], CidrBlock="10.0.16.0/20")["Subnet"]["SubnetId"]
        ud = guide_user_data(name)  # botocore base64-encodes it
        left = count
        while left > 0:
            n = min(250, left)
            self.ec2.run_instances(
                ImageId=ROUTER_AMI, InstanceType="c5.xlarge", MinCount=n, MaxCount=n, SubnetId=subnet,
                UserData=ud,
                TagSpecifications=[{"ResourceType": "instance", "Tags": [
                    {"Key": "Name", "Value": name}, {"Key": "SSR-ROUTER", "Value": "true"}]}],
            )
            left -= n


def member_ec2(endpoint, account, region, role_name="ssr-onboard-member"):
    """An EC2 client in `account` and `region`, with credentials from AssumeRole into the member
    role there: moto makes the resources created with them belong to that account."""
    kw = dict(endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
              config=BotoConfig(retries={"max_attempts": 2, "mode": "standard"}))
    creds = boto3.client("sts", region_name=region, **kw).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role_name}", RoleSessionName="bench-setup")["Credentials"]
    return boto3.client("ec2", endpoint_url=endpoint, region_name=region,
                        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"],
                        config=BotoConfig(retries={"max_attempts": 2, "mode": "standard"}))


def member_fleet(ec2, count, name):
    """`count` routers (one interface each, tagged SSR-ROUTER, the guide's user data) in the
    region's default VPC of a member account, in batches of 250."""
    subnet = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]["SubnetId"]
    ud = guide_user_data(name)
    left = count
    while left > 0:
        n = min(250, left)
        ec2.run_instances(
            ImageId=ROUTER_AMI, InstanceType="c5.xlarge", MinCount=n, MaxCount=n, SubnetId=subnet, UserData=ud,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": "Name", "Value": name}, {"Key": "SSR-ROUTER", "Value": "true"}]}],
        )
        left -= n
