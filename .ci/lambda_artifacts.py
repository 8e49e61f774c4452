#!/usr/bin/env python3
"""Lambda artifacts for CI: which binaries to build, zip them, check them against the templates.

    lambda_artifacts.py packages              -> cargo -p arguments, one package a line
    lambda_artifacts.py check LAMBDA_DIR ZIP_DIR TEMPLATE...

A Lambda package is a workspace member with a bin target that depends on `lambda_runtime`
directly or on `ssr-onboard-core` with its `lambda` feature (the Lambda boundary every function's
main uses; the CLI and the test harness have neither), so a new function crate such as mist-webhook is
picked up without editing this file. `check` zips every LAMBDA_DIR/<binary>/bootstrap (what
`cargo lambda build` writes) into ZIP_DIR/<binary>.zip (deflate level 9, the single entry
`bootstrap`, mode 0755, fixed timestamp), prints the sizes, and fails when
  - an AWS::Serverless::Function in a template has no artifact,
  - an artifact has no function in any template,
  - a zip is larger than the budget, 5 MiB = 5 * 1024 * 1024 = 5,242,880 bytes.
A function's binary is Metadata.BuildProperties.Binary (SAM's rust-cargolambda build method),
else the last path component of a CodeUri of the form .../lambda/<binary>[/bootstrap|.zip].
Needs PyYAML (run it with the cfn-lint virtualenv's python).
"""

import json
import os
import subprocess
import sys
import zipfile

import yaml

BUDGET_BYTES = 5 * 1024 * 1024  # 5 MiB
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def lambda_packages():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--no-deps", "--format-version", "1"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    members = set(meta["workspace_members"])
    out = []
    for pkg in meta["packages"]:
        if pkg["id"] not in members:
            continue
        normal = [d for d in pkg["dependencies"] if d.get("kind") in (None, "normal")]
        is_lambda = any(
            d["name"] == "lambda_runtime"
            or (d["name"] == "ssr-onboard-core" and "lambda" in d.get("features", []))
            for d in normal
        )
        bins = [t["name"] for t in pkg["targets"] if "bin" in t["kind"]]
        if is_lambda and bins:
            out.append((pkg["name"], bins))
    return sorted(out)


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML: short-form intrinsics (!Ref, !Sub, ...) become plain values."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_CfnLoader.add_multi_constructor("!", _any_tag)


def binary_of(logical_id, resource, globals_code_uri):
    props = resource.get("Properties") or {}
    build = (resource.get("Metadata") or {}).get("BuildProperties") or {}
    if isinstance(build.get("Binary"), str):
        return build["Binary"]
    code_uri = props.get("CodeUri", globals_code_uri)
    if isinstance(code_uri, str):
        parts = [p for p in code_uri.replace("\\", "/").split("/") if p]
        if parts and parts[-1] == "bootstrap":
            parts = parts[:-1]
        if parts and parts[-1].endswith(".zip"):
            parts[-1] = parts[-1][: -len(".zip")]
        if len(parts) >= 2 and parts[-2] == "lambda":
            return parts[-1]
    raise SystemExit(
        f"{logical_id}: cannot tell which binary it runs (no Metadata.BuildProperties.Binary and "
        f"CodeUri {code_uri!r} is not .../lambda/<binary>)"
    )


def template_functions(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=_CfnLoader) or {}
    globals_code_uri = ((doc.get("Globals") or {}).get("Function") or {}).get("CodeUri")
    out = {}
    for logical_id, res in (doc.get("Resources") or {}).items():
        if isinstance(res, dict) and res.get("Type") == "AWS::Serverless::Function":
            out[f"{path}:{logical_id}"] = binary_of(logical_id, res, globals_code_uri)
    return out


def write_zip(bootstrap, dest):
    info = zipfile.ZipInfo("bootstrap", date_time=ZIP_TIME)
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(bootstrap, "rb") as f:
        data = f.read()
    with zipfile.ZipFile(dest, "w") as z:
        z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return len(data), os.path.getsize(dest)


def check(lambda_dir, zip_dir, templates):
    os.makedirs(zip_dir, exist_ok=True)
    artifacts = sorted(
        d
        for d in os.listdir(lambda_dir)
        if os.path.isfile(os.path.join(lambda_dir, d, "bootstrap"))
    ) if os.path.isdir(lambda_dir) else []
    functions = {}
    for t in templates:
        functions.update(template_functions(t))
    used = set(functions.values())
    problems = []

    print(f"budget per zip: 5 MiB = {BUDGET_BYTES:,} bytes")
    print(f"{'artifact':<24} {'bootstrap':>12} {'zip':>12}  {'MiB':>6}  {'MB':>6}")
    for name in artifacts:
        raw, size = write_zip(
            os.path.join(lambda_dir, name, "bootstrap"), os.path.join(zip_dir, f"{name}.zip")
        )
        flag = ""
        if size > BUDGET_BYTES:
            flag = "  OVER BUDGET"
            problems.append(
                f"{name}.zip is {size:,} bytes, over the 5 MiB budget ({BUDGET_BYTES:,} bytes) "
                f"by {size - BUDGET_BYTES:,}"
            )
        print(
            f"{name:<24} {raw:>12,} {size:>12,}  {size / 1024 / 1024:>6.2f}  {size / 1e6:>6.2f}{flag}"
        )
        if name not in used:
            problems.append(
                f"artifact {name} (from {lambda_dir}/{name}/bootstrap) has no "
                f"AWS::Serverless::Function in {', '.join(templates)}"
            )
    for where, binary in sorted(functions.items()):
        status = "ok" if binary in artifacts else "NO ARTIFACT"
        print(f"function {where} -> {binary}: {status}")
        if binary not in artifacts:
            problems.append(f"{where} runs binary {binary}, but {lambda_dir}/{binary}/bootstrap was not built")
    if problems:
        print()
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        return 1
    print(f"{len(artifacts)} artifact(s), each matched to a function and within budget")
    return 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "packages":
        for name, _bins in lambda_packages():
            print(name)
        return 0
    if len(argv) >= 5 and argv[1] == "check":
        return check(argv[2], argv[3], argv[4:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
