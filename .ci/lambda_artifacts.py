#!/usr/bin/env python3
"""Lambda artifacts for CI and releases: which binaries to build, zip them, check them against
the templates, write the packaged template.

    lambda_artifacts.py packages              -> cargo -p arguments, one package a line
    lambda_artifacts.py check LAMBDA_DIR ZIP_DIR TEMPLATE...
    lambda_artifacts.py check-sam SAM_BUILD_DIR ZIP_DIR TEMPLATE
    lambda_artifacts.py package-template TEMPLATE ZIP_DIR OUT_TEMPLATE [SOURCE_CODE_URL]

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

`check-sam` does the same for what `sam build --build-dir SAM_BUILD_DIR` wrote: each function's
SAM_BUILD_DIR/<LogicalId>/bootstrap is zipped into ZIP_DIR/<binary>.zip; it fails when a function
has no bootstrap, a zip is over budget, or a Lambda package's binary (`packages`) runs in no
function of TEMPLATE.

`package-template` writes the packaged template of a release: TEMPLATE with each function's
CodeUri pointing at its zip (ZIP_DIR/<binary>.zip, relative to OUT_TEMPLATE's directory), the
rust-cargolambda build metadata dropped (nothing is built from it), and the Serverless
Application Repository metadata's LicenseUrl/ReadmeUrl pointing at LICENSE/README.md beside it
(plus SourceCodeUrl and HomePageUrl when SOURCE_CODE_URL is given). The edit is textual, so the
template's short-form intrinsics (!Ref, !Sub, ...) and comments stay as written; the result is
parsed back and checked (every function's zip exists, no path leaves the release directory).
Needs PyYAML (run it with the cfn-lint virtualenv's python).
"""

import json
import os
import re
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


def zip_report(name, raw, size, problems):
    flag = ""
    if size > BUDGET_BYTES:
        flag = "  OVER BUDGET"
        problems.append(
            f"{name}.zip is {size:,} bytes, over the 5 MiB budget ({BUDGET_BYTES:,} bytes) "
            f"by {size - BUDGET_BYTES:,}"
        )
    print(f"{name:<24} {raw:>12,} {size:>12,}  {size / 1024 / 1024:>6.2f}  {size / 1e6:>6.2f}{flag}")


def logical_ids(template):
    """(logical id, binary) of every AWS::Serverless::Function in `template`."""
    return [
        (where.split(":", 1)[1], binary)
        for where, binary in sorted(template_functions(template).items())
    ]


def check_sam(build_dir, zip_dir, template):
    os.makedirs(zip_dir, exist_ok=True)
    functions = logical_ids(template)
    problems = []
    print(f"budget per zip: 5 MiB = {BUDGET_BYTES:,} bytes")
    print(f"{'artifact':<24} {'bootstrap':>12} {'zip':>12}  {'MiB':>6}  {'MB':>6}")
    built = set()
    for logical_id, binary in functions:
        bootstrap = os.path.join(build_dir, logical_id, "bootstrap")
        if not os.path.isfile(bootstrap):
            problems.append(f"{template}:{logical_id} runs {binary}, but sam build wrote no {bootstrap}")
            continue
        if binary in built:
            continue
        built.add(binary)
        raw, size = write_zip(bootstrap, os.path.join(zip_dir, f"{binary}.zip"))
        zip_report(binary, raw, size, problems)
    for package, bins in lambda_packages():
        for b in bins:
            status = "ok" if b in built else "NO FUNCTION"
            print(f"package {package} bin {b}: {status}")
            if b not in built:
                problems.append(
                    f"Lambda package {package}'s binary {b} runs in no AWS::Serverless::Function of {template}"
                )
    if problems:
        print()
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        return 1
    print(f"{len(built)} artifact(s) built by sam build, each a function's and within budget")
    return 0


# The build metadata of a function (rust-cargolambda): dropped from the packaged template.
_BUILD_METADATA = re.compile(
    r"^      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: (?P<bin>[a-z0-9-]+)\n",
    re.M,
)
_CODE_URI = re.compile(r"^      CodeUri: (?P<uri>\S+)\n", re.M)


def package_template(template, zip_dir, out_template, source_code_url=None):
    with open(template, encoding="utf-8") as f:
        text = f.read()
    out_dir = os.path.dirname(os.path.abspath(out_template))
    rel_zips = os.path.relpath(os.path.abspath(zip_dir), out_dir).replace(os.sep, "/")
    functions = logical_ids(template)
    problems = []
    for logical_id, binary in functions:
        start = re.search(rf"^  {re.escape(logical_id)}:\n", text, re.M)
        if not start:
            problems.append(f"{logical_id}: not found as a resource line")
            continue
        nxt = re.compile(r"^  \S", re.M).search(text, start.end())
        end = nxt.start() if nxt else len(text)
        block = text[start.end():end]
        block, n_meta = _BUILD_METADATA.subn("", block)
        block, n_uri = _CODE_URI.subn(f"      CodeUri: {rel_zips}/{binary}.zip\n", block)
        if n_uri != 1:
            problems.append(f"{logical_id}: expected one CodeUri in its Properties, found {n_uri}")
        if n_meta != 1:
            problems.append(f"{logical_id}: expected its rust-cargolambda build metadata, found {n_meta}")
        text = text[: start.end()] + block + text[end:]
    sar = {"LicenseUrl": "LICENSE", "ReadmeUrl": "README.md"}
    for key, value in sar.items():
        text, n = re.subn(rf"^(    {key}: )\S+$", rf"\g<1>{value}", text, count=1, flags=re.M)
        if n != 1:
            problems.append(f"AWS::ServerlessRepo::Application has no {key}")
    if source_code_url:
        if not re.fullmatch(r"https://[^\s]+", source_code_url):
            problems.append(f"source code URL {source_code_url!r} is not an https URL")
        else:
            text, n = re.subn(
                r"^(    SemanticVersion: \S+\n)",
                rf"\g<1>    SourceCodeUrl: {source_code_url}\n    HomePageUrl: {source_code_url}\n",
                text,
                count=1,
                flags=re.M,
            )
            if n != 1:
                problems.append("AWS::ServerlessRepo::Application has no SemanticVersion")
    if problems:
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        return 1
    with open(out_template, "w", encoding="utf-8") as f:
        f.write(text)
    return verify_packaged(out_template, functions)


def verify_packaged(out_template, functions):
    """The packaged template parses, each function runs its own zip, every file it names exists
    beside it, and nothing points outside the release directory."""
    out_dir = os.path.dirname(os.path.abspath(out_template))
    with open(out_template, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=_CfnLoader) or {}
    problems = []
    resources = doc.get("Resources") or {}
    for logical_id, binary in functions:
        res = resources.get(logical_id) or {}
        uri = (res.get("Properties") or {}).get("CodeUri")
        if not isinstance(uri, str) or not uri.endswith(f"/{binary}.zip"):
            problems.append(f"{logical_id}: CodeUri {uri!r} is not its zip {binary}.zip")
            continue
        if "BuildMethod" in (res.get("Metadata") or {}):
            problems.append(f"{logical_id}: still has build metadata")
        if not os.path.isfile(os.path.join(out_dir, uri)):
            problems.append(f"{logical_id}: {uri} does not exist beside the template")
    if "CodeUri" in ((doc.get("Globals") or {}).get("Function") or {}):
        problems.append("Globals.Function.CodeUri would apply to a function without its own")
    sar = (doc.get("Metadata") or {}).get("AWS::ServerlessRepo::Application") or {}
    for key in ("LicenseUrl", "ReadmeUrl"):
        if not os.path.isfile(os.path.join(out_dir, str(sar.get(key)))):
            problems.append(f"{key} {sar.get(key)!r} does not exist beside the template")
    for path in re.findall(r"(?:CodeUri|LicenseUrl|ReadmeUrl): (\S+)", open(out_template, encoding="utf-8").read()):
        if path.startswith("/") or ".." in path.split("/"):
            problems.append(f"{path} points outside the release directory")
    if problems:
        for p in problems:
            print(f"error: {out_template}: {p}", file=sys.stderr)
        return 1
    print(f"{out_template}: {len(functions)} function(s), each CodeUri its zip; LICENSE and README beside it")
    return 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "packages":
        for name, _bins in lambda_packages():
            print(name)
        return 0
    if len(argv) >= 5 and argv[1] == "check":
        return check(argv[2], argv[3], argv[4:])
    if len(argv) == 5 and argv[1] == "check-sam":
        return check_sam(argv[2], argv[3], argv[4])
    if len(argv) in (5, 6) and argv[1] == "package-template":
        return package_template(argv[2], argv[3], argv[4], argv[5] if len(argv) == 6 else None)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
