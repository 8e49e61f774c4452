#!/usr/bin/env python3
"""ssr-onboard benchmark: the real Lambda binaries and an idiomatic boto3 peer, side by side.

    python3 bench/run.py                 # full run: release build of the four Lambda packages, N=1,000
    python3 bench/run.py --smoke --bin-dir target/debug   # CI: small N, already-built binaries

Both implementations run as Lambda runs them: a process started with a real Lambda environment
against a local Runtime API stub (bench/harness/runtime_api.py), talking to one moto server
through a proxy that counts every AWS call and can add a fixed delay per call
(bench/harness/aws_proxy.py). Prints one table and writes JSON (bench/results/latest.json).

Smoke numbers (debug binaries, small N, few repetitions) check that the suite works; they are
not the benchmark.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LAMBDA_PACKAGES = ["instance-guard", "mist-webhook", "onboarding-watchdog", "stack-watch"]


def venv_python():
    venv = os.environ.get("SSR_ONBOARD_MOTO_VENV") or os.path.join(ROOT, "target", "moto-venv")
    return os.path.join(venv, "bin", "python")


def ensure_boto3():
    """Re-executes under the moto virtualenv (which has moto and boto3) when boto3 is missing."""
    try:
        import boto3  # noqa: F401
        import moto  # noqa: F401
    except ImportError:
        py = venv_python()
        if not os.path.exists(py) or os.path.realpath(sys.executable) == os.path.realpath(py):
            sys.exit(f"bench: needs moto and boto3; set SSR_ONBOARD_MOTO_VENV (tried {py}); "
                     "`cargo test --workspace` or `bash .ci/run` creates it")
        os.execv(py, [py, os.path.abspath(__file__)] + sys.argv[1:])


ensure_boto3()
sys.path.insert(0, HERE)

from harness.aws_proxy import AwsProxy  # noqa: E402
from harness.runtime_api import RuntimeApi  # noqa: E402
from harness.world import (ACCOUNT_ID, REGION, Moto, World, ec2_state_change_event,  # noqa: E402
                           member_ec2, member_fleet, scheduled_event)

CLK_TCK = os.sysconf("SC_CLK_TCK")
_n = 0


def seq():
    global _n
    _n += 1
    return _n


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ processes


def lambda_env(function_name, runtime_api, endpoint, extra, memory=128):
    env = {
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/02/[$LATEST]0123456789abcdef",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ENDPOINT_URL": endpoint,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "RUST_LOG": "info",
    }
    env.update(extra)
    return env


class Fn:
    """One implementation of one function: how to start it."""

    def __init__(self, label, argv, function_name, extra_env, cwd=None):
        self.label, self.argv, self.function_name, self.extra_env, self.cwd = label, argv, function_name, extra_env, cwd

    def start(self, stub, endpoint, logdir):
        env = lambda_env(self.function_name, stub.address, endpoint, self.extra_env)
        out = open(os.path.join(logdir, f"{self.label}-{seq()}.log"), "wb")
        p = subprocess.Popen(self.argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=self.cwd)
        p._bench_log = out
        return p


def stop(p):
    if p.poll() is None:
        p.kill()
        p.wait()
    p._bench_log.close()


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# ------------------------------------------------------------------ measurements


def cold_starts(fn, event_of, proxy, n, logdir):
    """n fresh processes, each answering one queued event: process start → response posted."""
    total, init, rss = [], [], []
    for _ in range(n):
        stub = RuntimeApi(fn.function_name)
        inv = stub.submit(event_of())
        t0 = time.monotonic()
        p = fn.start(stub, proxy.url, logdir)
        try:
            inv.wait(120)
            if not inv.ok:
                raise RuntimeError(f"{fn.label}: first invocation failed: {inv.body[:500]!r}")
            total.append((inv.answered - t0) * 1000)
            init.append((inv.handed_out - t0) * 1000)
            rss.append(vm_hwm_kb(p.pid) / 1024)
        finally:
            stop(p)
            stub.close()
    return {"first_response_ms": med(total), "init_ms": med(init), "peak_rss_mb": med(rss),
            "samples_ms": [round(x, 1) for x in total], "n": n}


def med(xs):
    return round(statistics.median(xs), 2) if xs else None


def warm(fn_stub, proxy, event_of, reps, delays, prepare=None):
    """Per delay: median wall time of `reps` invocations, round trips (wall / delay), calls."""
    out = {}
    for d in delays:
        proxy.delay_s = d / 1000
        walls, calls = [], None
        for _ in range(reps):
            if prepare:
                prepare()
            proxy.reset()
            inv = fn_stub.invoke(event_of(), timeout_s=120)
            if not inv.ok:
                raise RuntimeError(f"invocation failed: {inv.body[:800]!r}")
            walls.append((inv.answered - inv.submitted) * 1000)
            calls = proxy.counts()
            result = inv.result()
        entry = {"wall_ms": med(walls), "samples_ms": [round(w, 1) for w in walls],
                 "calls": sum(calls.values()), "calls_by_operation": calls,
                 "writes": sum(v for k, v in calls.items() if is_write(k)),
                 "max_concurrent_calls": proxy.max_in_flight}
        if d:
            entry["wall_over_delay"] = round(statistics.median(walls) / d, 2)
            if "0" in out:
                # The added delay on the critical path, in round trips: what concurrency saves.
                entry["round_trips"] = round((statistics.median(walls) - out["0"]["wall_ms"]) / d, 2)
        out[str(d)] = entry
        out["result_summary"] = summarize(result)
    proxy.delay_s = 0
    return out


def is_write(op):
    return op.split(":", 1)[1].startswith(("Modify", "Put", "Publish", "Delete", "Create"))


def summarize(result):
    if not isinstance(result, dict):
        return result
    fs = result.get("findings") or []
    return {"findings": sorted({f.get("code") for f in fs}),
            "fixed": sorted({f.get("code") for f in fs if f.get("fixed")}),
            "actions": [a.get("status") for a in result.get("actions") or []],
            "alert_sent": (result.get("alert") or {}).get("sent")}


class Warm:
    """A warm execution environment: one process and its stub."""

    def __init__(self, fn, proxy, logdir):
        self.fn = fn
        self.stub = RuntimeApi(fn.function_name)
        self.p = fn.start(self.stub, proxy.url, logdir)

    def invoke(self, event, timeout_s=60):
        return self.stub.invoke(event, timeout_s)

    def close(self):
        stop(self.p)
        self.stub.close()


def burst(env, proxy, event_of, n, throttle_every=0):
    proxy.delay_s = 0
    proxy.reset()
    proxy.throttle_every = throttle_every
    cpu0 = cpu_s(env.p.pid)
    t0 = time.monotonic()
    invs = [env.stub.submit(event_of(), timeout_s=300) for _ in range(n)]
    for inv in invs:
        inv.wait(600)
    wall = time.monotonic() - t0
    cpu = cpu_s(env.p.pid) - cpu0
    proxy.throttle_every = 0
    failures = sum(1 for i in invs if not i.ok)
    return {"events": n, "throttled_calls": proxy.throttled(), "throttle_every_nth_ec2_call": throttle_every, "wall_s": round(wall, 3), "events_per_s": round(n / wall, 1),
            "failures": failures, "cpu_ms_per_event": round(cpu * 1000 / n, 2),
            "calls": proxy.total(), "calls_per_event": round(proxy.total() / n, 2),
            "peak_rss_mb": round(vm_hwm_kb(env.p.pid) / 1024, 2)}


def steady_sweeps(env, proxy, delays, reps, timeout_s):
    """Sweeps of a converged watchdog (no new episode) at each per-call delay: median wall time,
    calls (by operation), the most calls in flight, and round trips on the critical path."""
    steady = {}
    for d in delays:
        proxy.delay_s = d / 1000
        walls = []
        for _ in range(reps):
            proxy.reset()
            inv = env.invoke(scheduled_event(seq()), timeout_s=timeout_s)
            if not inv.ok:
                raise RuntimeError(f"sweep failed: {inv.body[:800]!r}")
            walls.append((inv.answered - inv.submitted) * 1000)
        steady[str(d)] = {"wall_ms": med(walls), "calls": proxy.total(), "calls_by_operation": proxy.counts(),
                          "max_concurrent_calls": proxy.max_in_flight,
                          "routers": inv.result().get("routers")}
        if d and "0" in steady:
            steady[str(d)]["round_trips"] = round((statistics.median(walls) - steady["0"]["wall_ms"]) / d, 2)
    proxy.delay_s = 0
    return steady


def sweep_bench(fn, world, proxy, n_routers, delays, logdir, reps):
    log(f"watchdog: launching {n_routers} routers in moto")
    t = time.monotonic()
    world.fleet(n_routers)
    log(f"watchdog: fleet launched in {time.monotonic() - t:.1f}s")
    env = Warm(fn, proxy, logdir)
    try:
        sweeps = []
        for i in range(n_routers // 100 + 5):
            proxy.reset()
            inv = env.invoke(scheduled_event(seq()), timeout_s=600)
            if not inv.ok:
                raise RuntimeError(f"sweep failed: {inv.body[:800]!r}")
            o = inv.result()
            sweeps.append({"wall_ms": round((inv.answered - inv.submitted) * 1000, 1), "calls": proxy.total(),
                           "initialised": o.get("initialised"), "deferred_init": o.get("deferred_init"),
                           "routers": o.get("routers")})
            log(f"watchdog sweep {i + 1}: {sweeps[-1]}")
            if o.get("initialised") == 0 and o.get("deferred_init") == 0:
                break
        return {"routers": n_routers, "convergence_sweeps": sweeps,
                "steady": steady_sweeps(env, proxy, delays, reps, 600)}
    finally:
        env.close()


ORG_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "eu-central-1"]


def org_sweep_bench(bin_dir, python, accounts, regions, per_scope, delays, logdir, reps):
    """The onboarding-watchdog on a hub sweeping `accounts` member accounts × `regions` regions
    with `per_scope` routers each (issue 14's scale benchmark): AssumeRole calls, describes,
    state reads and wall time, cold (first sweep of a fresh process) and steady. Its own moto
    and proxy, so the other scenarios' instances are not in the hub's account."""
    moto = Moto(python, os.path.join(logdir, "moto-org.log"))
    proxy = AwsProxy(moto.port)
    try:
        w = World(moto.url)
        return _org_sweep(bin_dir, moto.url, proxy, w.topic("ssr-onboard-alerts"), w.state_table("ssr-onboard-state"),
                          accounts, regions, per_scope, delays, logdir, reps)
    finally:
        proxy.close()
        moto.stop()


def _org_sweep(bin_dir, endpoint, proxy, topic, table, accounts, regions, per_scope, delays, logdir, reps):
    members = [str(444400000000 + i) for i in range(accounts)]
    region_list = ORG_REGIONS[:regions]
    log(f"org sweep: {accounts} accounts × {regions} regions × {per_scope} routers in moto")
    t = time.monotonic()
    for acct in members:
        for region in region_list:
            member_fleet(member_ec2(endpoint, acct, region), per_scope, f"fleet-{acct}-{region}")
    log(f"org sweep: fleets launched in {time.monotonic() - t:.1f}s")
    fn = Fn("rust-watchdog-org", [os.path.join(bin_dir, "onboarding-watchdog")], "onboarding-watchdog",
            {"ALERT_TOPIC_ARN": topic, "STATE_TABLE": table, "HUB_ACCOUNT_ID": ACCOUNT_ID,
             "MEMBER_ACCOUNTS": ",".join(members), "MEMBER_REGIONS": ",".join(region_list)})
    env = Warm(fn, proxy, logdir)
    try:
        sweeps = []
        for i in range(accounts * regions * per_scope // 100 + 5):
            proxy.reset()
            inv = env.invoke(scheduled_event(seq()), timeout_s=900)
            if not inv.ok:
                raise RuntimeError(f"org sweep failed: {inv.body[:800]!r}")
            o = inv.result()
            unreachable = [m for m in o.get("members", []) if m.get("status") != "ok"]
            if unreachable:
                raise RuntimeError(f"org sweep: unreachable scopes {unreachable[:3]!r}")
            first_scopes = len(o.get("members", []))
            sweeps.append({"wall_ms": round((inv.answered - inv.submitted) * 1000, 1), "calls": proxy.total(),
                           "calls_by_operation": proxy.counts(), "routers": o.get("routers"),
                           "scopes": first_scopes, "initialised": o.get("initialised"),
                           "deferred_init": o.get("deferred_init")})
            log(f"org sweep {i + 1}: {sweeps[-1]['wall_ms']} ms, {sweeps[-1]['calls']} calls, "
                f"{sweeps[-1]['routers']} routers, initialised {sweeps[-1]['initialised']}")
            if o.get("initialised") == 0 and o.get("deferred_init") == 0:
                break
        steady = steady_sweeps(env, proxy, delays, reps, 900)
        return {"accounts": accounts, "regions": regions, "routers_per_scope": per_scope,
                "scopes": first_scopes,
                "first_sweep": sweeps[0], "convergence_sweeps": len(sweeps), "steady": steady}
    finally:
        env.close()


def zip_size(paths_in_zip):
    with tempfile.TemporaryFile() as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            for src, arc in paths_in_zip:
                z.write(src, arc)
        tmp.seek(0, 2)
        return tmp.tell()


def artifacts(bin_dir):
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    zips = os.path.join(target, "lambda-zips")
    rust = {}
    for name in LAMBDA_PACKAGES:
        z = os.path.join(zips, f"{name}.zip")
        b = os.path.join(bin_dir, name)
        if os.path.exists(z):
            rust[name] = {"zip_bytes": os.path.getsize(z), "source": "cargo lambda (arm64) zip"}
        elif os.path.exists(b):
            rust[name] = {"zip_bytes": zip_size([(b, "bootstrap")]), "binary_bytes": os.path.getsize(b),
                          "source": f"{bin_dir} ({platform.machine()}), zipped deflate 9"}
    import yaml
    ydir = os.path.dirname(yaml.__file__)
    files = [(os.path.join(HERE, "boto3_guard", "handler.py"), "handler.py")]
    files += [(os.path.join(ydir, f), os.path.join("yaml", f)) for f in sorted(os.listdir(ydir)) if f.endswith(".py")]
    py = {"instance-guard": {"zip_bytes": zip_size(files),
                             "source": "handler.py + PyYAML (pure Python); boto3 from the Lambda Python runtime"}}
    return {"rust": rust, "boto3": py}


# ------------------------------------------------------------------ the run


def build_release():
    cmd = ["cargo", "build", "--release", "--locked"]
    for p in LAMBDA_PACKAGES:
        cmd += ["-p", p]
    log("building: " + " ".join(cmd))
    subprocess.run(cmd, cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    return os.path.join(target, "release")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="small N (CI): checks the suite works; not the benchmark")
    ap.add_argument("--bin-dir", help="directory with the built Lambda binaries (default: build release)")
    ap.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"), help="where to write the JSON")
    ap.add_argument("--routers", type=int, help="watchdog sweep size (default 1000; smoke 20)")
    ap.add_argument("--burst", type=int, help="burst events (default 500; smoke 20)")
    ap.add_argument("--cold", type=int, help="cold starts per implementation (default 11; smoke 3)")
    ap.add_argument("--reps", type=int, help="warm invocations per scenario and delay (default 5; smoke 2)")
    ap.add_argument("--delay-ms", type=int, default=50, help="per-call delay modelling a round trip (default 50)")
    ap.add_argument("--org", default=None,
                    help="organization sweep ACCOUNTSxREGIONSxROUTERS (default 10x2x100; smoke 2x2x5; 0 skips)")
    args = ap.parse_args()
    smoke = args.smoke
    routers = args.routers or (20 if smoke else 1000)
    n_burst = args.burst or (20 if smoke else 500)
    n_cold = args.cold or (3 if smoke else 11)
    reps = args.reps or (2 if smoke else 5)
    delays = [0, args.delay_ms]
    org = args.org or ("2x2x5" if smoke else "10x2x100")
    try:
        org_shape = None if org == "0" else tuple(int(x) for x in org.lower().split("x"))
        if org_shape is not None and (len(org_shape) != 3 or not 1 <= org_shape[1] <= len(ORG_REGIONS)):
            raise ValueError(org)
    except ValueError:
        sys.exit(f"bench: --org takes ACCOUNTSxREGIONSxROUTERS (regions 1..{len(ORG_REGIONS)}), got {org!r}")

    bin_dir = os.path.abspath(args.bin_dir) if args.bin_dir else build_release()
    if not os.access(os.path.join(bin_dir, "instance-guard"), os.X_OK):
        sys.exit(f"bench: instance-guard not found in {bin_dir}")
    have_watchdog = os.access(os.path.join(bin_dir, "onboarding-watchdog"), os.X_OK)
    if not have_watchdog:
        log(f"onboarding-watchdog not in {bin_dir}: the sweep is skipped")

    started = time.monotonic()
    logdir = tempfile.mkdtemp(prefix="ssr-bench-")
    python = venv_python() if os.path.exists(venv_python()) else sys.executable
    moto = Moto(python, os.path.join(logdir, "moto.log"))
    proxy = AwsProxy(moto.port)
    envs = []
    try:
        w = World(moto.url)
        vpc = w.guide_vpc()
        topic = w.topic("ssr-onboard-alerts")
        tables = {"rust": w.state_table("ssr-onboard-state-rust"), "boto3": w.state_table("ssr-onboard-state-boto3")}
        compliant = w.launch_router("ssr-compliant", source_dest_check=False)
        fresh = w.launch_router("ssr-fresh", source_dest_check=True)
        alerted = w.launch_router("ssr-small-disk", source_dest_check=False, root_volume_gb=64)
        common = {"ALERT_TOPIC_ARN": topic, "ROUTER_STACKS": "ssr-*"}
        impls = {
            "rust": Fn("rust-guard", [os.path.join(bin_dir, "instance-guard")], "instance-guard",
                       {**common, "STATE_TABLE": tables["rust"]}),
            "boto3": Fn("boto3-guard", [python, os.path.join(HERE, "boto3_guard", "bootstrap.py")], "instance-guard",
                        {**common, "STATE_TABLE": tables["boto3"], "LAMBDA_TASK_ROOT": os.path.join(HERE, "boto3_guard"),
                         "_HANDLER": "handler.lambda_handler", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
                         "PYTHONDONTWRITEBYTECODE": "1"}),
        }
        ev = lambda r: (lambda: ec2_state_change_event(r["instance_id"], "running", seq()))
        reset_fresh = lambda: w.set_source_dest_check([fresh["wan_eni_id"], fresh["lan_eni_id"]], True)
        results = {"mode": "smoke" if smoke else "full", "bin_dir": bin_dir,
                   "machine": {"cpus": os.cpu_count(), "arch": platform.machine(), "python": platform.python_version()},
                   "per_call_delay_ms": args.delay_ms, "implementations": {}}
        for key, fn in impls.items():
            log(f"{key}: {n_cold} cold starts")
            r = {"cold_start": cold_starts(fn, ev(compliant), proxy, n_cold, logdir)}
            env = Warm(fn, proxy, logdir)
            envs.append(env)
            for warmup in (compliant, alerted, compliant):  # first alert sent here; replays are deduplicated
                inv = env.invoke(ev(warmup)(), 120)
                if not inv.ok:
                    raise RuntimeError(f"{key} warm-up failed: {inv.body[:800]!r}")
            log(f"{key}: warm scenarios")
            r["compliant_replay"] = warm(env, proxy, ev(compliant), reps, delays)
            r["fix_two_enis"] = warm(env, proxy, ev(fresh), reps, delays, prepare=reset_fresh)
            r["alerted_replay"] = warm(env, proxy, ev(alerted), reps, delays)
            log(f"{key}: burst of {n_burst}")
            r["burst"] = burst(env, proxy, ev(compliant), n_burst)
            n_thr = max(10, n_burst // 5)
            log(f"{key}: burst of {n_thr}, every 10th EC2 call throttled")
            r["burst_throttled"] = burst(env, proxy, ev(compliant), n_thr, throttle_every=10)
            env.close()
            envs.remove(env)
            results["implementations"][key] = r
        wd = Fn("rust-watchdog", [os.path.join(bin_dir, "onboarding-watchdog")], "onboarding-watchdog",
                {"ALERT_TOPIC_ARN": topic, "STATE_TABLE": w.state_table("ssr-onboard-state-watchdog")})
        results["watchdog_sweep"] = (sweep_bench(wd, w, proxy, routers, delays, logdir, 1 if smoke else 3)
                                     if have_watchdog else None)
        results["org_sweep"] = (org_sweep_bench(bin_dir, python, *org_shape, delays, logdir, 1 if smoke else 3)
                                if have_watchdog and org_shape else None)
        results["artifacts"] = artifacts(bin_dir)
        results["wall_s"] = round(time.monotonic() - started, 1)
    finally:
        for env in envs:
            env.close()
        proxy.close()
        moto.stop()
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
    print(table(results))
    log(f"JSON: {args.json}; logs: {logdir}; {results['wall_s']} s")
    shutil.rmtree(logdir, ignore_errors=True)


def table(res):
    R, B = res["implementations"]["rust"], res["implementations"]["boto3"]
    d = str(res["per_call_delay_ms"])
    rows = []

    def row(name, r, b, unit="", higher_better=False, fmt="{:,.1f}"):
        def f(x):
            return "—" if x is None else (fmt.format(x) + unit)
        adv = ""
        if r and b:
            adv = "%.1f×" % ((r / b) if higher_better else (b / r))
        rows.append((name, f(r), f(b), adv))

    row("cold start → first response (median ms)", R["cold_start"]["first_response_ms"], B["cold_start"]["first_response_ms"], " ms")
    row("  of which init (start → first poll)", R["cold_start"]["init_ms"], B["cold_start"]["init_ms"], " ms")
    row("peak RSS after first event (VmHWM)", R["cold_start"]["peak_rss_mb"], B["cold_start"]["peak_rss_mb"], " MB")
    row("peak RSS after burst", R["burst"]["peak_rss_mb"], B["burst"]["peak_rss_mb"], " MB")
    for key, name in (("compliant_replay", "compliant replay"), ("fix_two_enis", "fresh router, 2 ENIs to fix"),
                      ("alerted_replay", "replay with findings (alert deduplicated)")):
        r, b = R[key], B[key]
        row(f"{name}: warm latency @0 ms", r["0"]["wall_ms"], b["0"]["wall_ms"], " ms")
        row(f"{name}: warm latency @{d} ms/call", r[d]["wall_ms"], b[d]["wall_ms"], " ms")
        row(f"{name}: round trips on the critical path", r[d]["round_trips"], b[d]["round_trips"], "", fmt="{:.2f}")
        row(f"{name}: wall / {d} ms", r[d]["wall_over_delay"], b[d]["wall_over_delay"], "", fmt="{:.2f}")
        row(f"{name}: AWS calls (writes)", r[d]["calls"], b[d]["calls"], "", fmt="{:.0f}")
        rows[-1] = (rows[-1][0], f"{r[d]['calls']} ({r[d]['writes']})", f"{b[d]['calls']} ({b[d]['writes']})", rows[-1][3])
    row(f"burst: {R['burst']['events']} events, one warm handler (events/s)", R["burst"]["events_per_s"], B["burst"]["events_per_s"], "/s", higher_better=True)
    row("burst: CPU per event", R["burst"]["cpu_ms_per_event"], B["burst"]["cpu_ms_per_event"], " ms", fmt="{:.2f}")
    row("burst: failures", R["burst"]["failures"], B["burst"]["failures"], "", fmt="{:.0f}")
    T, U = R["burst_throttled"], B["burst_throttled"]
    rows.append((f"burst, every 10th EC2 call throttled: failed events of {T['events']}",
                 f"{T['failures']} ({T['throttled_calls']} throttled)", f"{U['failures']} ({U['throttled_calls']} throttled)", ""))
    s = res["watchdog_sweep"]
    if s:
        st = s["steady"]
        rows.append((f"watchdog sweep, {s['routers']} routers: AWS calls", str(st["0"]["calls"]), "—", ""))
        rows.append(("watchdog sweep @0 ms", "%.0f ms" % st["0"]["wall_ms"], "—", ""))
        rows.append((f"watchdog sweep @{d} ms/call", "%.0f ms" % st[d]["wall_ms"], "—", ""))
        rows.append(("watchdog sweep: round trips on the critical path", "%.2f" % st[d]["round_trips"], "—", ""))
    else:
        rows.append(("watchdog sweep", "skipped (no onboarding-watchdog binary)", "—", ""))
    o = res.get("org_sweep")
    if o:
        st, first = o["steady"], o["first_sweep"]
        shape = f"{o['accounts']} accounts × {o['regions']} regions × {o['routers_per_scope']}; {o['scopes']} scopes"
        ops = first["calls_by_operation"]
        assume = sum(n for k, n in ops.items() if k.endswith("AssumeRole"))
        rows.append((f"org sweep ({shape}): first sweep, AssumeRole calls", str(assume), "—", ""))
        rows.append((f"org sweep: first sweep AWS calls / wall", f"{first['calls']} / {first['wall_ms']:.0f} ms", "—", ""))
        rows.append((f"org sweep: steady AWS calls ({first['routers']} routers)", str(st["0"]["calls"]), "—", ""))
        rows.append(("org sweep: steady @0 ms", "%.0f ms" % st["0"]["wall_ms"], "—", ""))
        rows.append((f"org sweep: steady @{d} ms/call", "%.0f ms" % st[d]["wall_ms"], "—", ""))
        rows.append(("org sweep: round trips on the critical path", "%.2f" % st[d]["round_trips"], "—", ""))
    a = res["artifacts"]
    ig = a["rust"].get("instance-guard", {}).get("zip_bytes")
    row("artifact: instance-guard zip", ig / 1e6 if ig else None, a["boto3"]["instance-guard"]["zip_bytes"] / 1e6, " MB", fmt="{:.2f}")
    rows[-1] = (rows[-1][0], rows[-1][1], rows[-1][2], "")
    for name in LAMBDA_PACKAGES[1:]:
        z = a["rust"].get(name, {}).get("zip_bytes")
        if z:
            rows.append((f"artifact: {name} zip", "%.2f MB" % (z / 1e6), "—", ""))
    head = ("", "Rust", "boto3", "Rust adv.")
    widths = [max(len(x[i]) for x in rows + [head]) for i in range(4)]
    line = lambda x: "| " + " | ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(x)) + " |"
    out = [f"ssr-onboard bench ({res['mode']}; binaries {res['bin_dir']}; {res['machine']['cpus']} CPUs)",
           line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    if res["mode"] == "smoke":
        out.append("SMOKE RUN: small N, few repetitions, possibly debug binaries — not the benchmark.")
    return "\n".join(out)


if __name__ == "__main__":
    main()
