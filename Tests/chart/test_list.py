"""The rendered job's inputs, fed to the real binary: the values, secrets and steps the chart
mounts, laid out as the kubelet mounts them, given to `twistlock-init list` with the job's own
arguments. Which steps run, in which order, must follow the values' flags."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, VALUES_FILES, inline_secrets, render
from mounts import mount_job

BINARY = Path(os.environ.get("TWISTLOCK_INIT_BIN") or ROOT / ".build" / "debug" / "twistlock-init")

# Flags of `run` that `list` does not take, with whether each has a value.
RUN_ONLY = {"--console-url": True, "--ca-file": True, "--log-format": True, "--strict": False,
            "--report-json": True}


@pytest.fixture(scope="module")
def binary():
    if not BINARY.is_file():
        pytest.skip(f"{BINARY} is not built (swift build --product twistlock-init); the list test needs it")
    proc = subprocess.run([str(BINARY), "list", "--help"], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0 or "--output" not in proc.stdout:
        pytest.skip(f"{BINARY} has no `list --output` yet")
    return str(BINARY)


def truthy(value):
    """The manifest's rule: true, a non-empty string, list or map, or a non-zero number."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return False


def lookup(values, path):
    cur = values
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def gate(when, values):
    if when is None:
        return True
    if isinstance(when, str):
        return truthy(lookup(values, when))
    (op, arg), = when.items()
    if op == "all":
        return all(gate(c, values) for c in arg)
    if op == "any":
        return any(gate(c, values) for c in arg)
    if op == "not":
        return not gate(arg, values)
    raise AssertionError(f"unknown operator {op}")


def expected_order(builtin, extra):
    """Step names in run order: the project's manifest, then each extra entry before/after its
    anchor (entries after the same anchor keep their order), or at the end."""
    order = [s["name"] for s in builtin]
    last_after = {}
    for s in extra:
        if "before" in s:
            order.insert(order.index(s["before"]), s["name"])
        elif "after" in s:
            anchor = last_after.get(s["after"], s["after"])
            order.insert(order.index(anchor) + 1, s["name"])
            last_after[s["after"]] = s["name"]
        else:
            order.append(s["name"])
    return order


def list_args(job_args, mounts):
    """The job's arguments for `list`: the mounted paths moved to where the test laid them out,
    the flags only `run` takes left out."""
    args = ["list"]
    rest = job_args[1:]
    assert job_args[0] == "run"
    i = 0
    while i < len(rest):
        a = rest[i]
        if a in RUN_ONLY:
            i += 2 if RUN_ONLY[a] else 1
            continue
        for mount, directory in mounts.items():
            if a == mount or a.startswith(mount + "/"):
                a = str(directory) + a[len(mount):]
        args.append(a)
        i += 1
    return args + ["--output", "json"]


CASES = [None] + VALUES_FILES


def run_list(binary, docs, tmp_path):
    """Mounts the rendered job's volumes under tmp_path and runs `list` with the job's arguments
    and environment; (process, list arguments, mounts)."""
    job = next(d for d in docs if d["kind"] == "Job")
    container = job["spec"]["template"]["spec"]["containers"][0]
    mounts = mount_job(docs, tmp_path / "mounts")
    args = list_args(container["args"], mounts)
    env = {k: v for k, v in os.environ.items() if k != "TWISTLOCK_INIT_STEPS"}
    for e in container.get("env", []):
        env[e["name"]] = e["value"]
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    proc = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, cwd=workdir, env=env)
    return proc, args, mounts


def test_the_defaults_without_an_admin_password_list_but_do_not_run(helm, binary, tmp_path):
    # The chart's defaults give no admin password. `list` sends nothing and needs no credentials,
    # so it shows the steps; `plan` (like the Job's `run`) refuses before any request, naming the
    # key and its secret file (NOTES.txt warns about it too).
    proc, args, _ = run_list(binary, render(helm), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["steps"]
    plan = ["plan", *[a for a in args[1:] if a not in ("--output", "json")],
            "--console-url", "http://127.0.0.1:9"]
    env = {k: v for k, v in os.environ.items() if k != "TWISTLOCK_INIT_STEPS"}
    proc = subprocess.run([binary, *plan], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "console.credentials.password" in proc.stdout + proc.stderr


@pytest.mark.parametrize("case", CASES)
def test_list_of_the_rendered_job_follows_the_values(helm, binary, case, tmp_path):
    if case:
        docs = render(helm, case)
    else:  # the defaults, with the one value they lack
        docs = render(helm, sets=["console.credentials.password=pw-from-the-test"])
    proc, args, mounts = run_list(binary, docs, tmp_path)
    assert proc.returncode == 0, f"twistlock-init {' '.join(args)}\n{proc.stdout}\n{proc.stderr}"
    out = json.loads(proc.stdout)

    # What the job sees: the mounted values (the secrets only fill secret keys, no gate reads one).
    values_dir = mounts["/etc/twistlock-init/values"]
    values = yaml.safe_load((values_dir / "values.yaml").read_text())
    steps_dir = Path(args[args.index("--builtin-steps") + 1])
    builtin = yaml.safe_load((steps_dir / "manifest.yaml").read_text())["steps"]
    extra = []
    if "--steps-dir" in args:
        extra_dir = Path(args[args.index("--steps-dir") + 1])
        extra = yaml.safe_load((extra_dir / "manifest.yaml").read_text())["steps"]
    whens = {s["name"]: s.get("when") for s in builtin + extra}

    got = [(s["name"], s["run"]) for s in out["steps"]]
    want = [(name, gate(whens[name], values)) for name in expected_order(builtin, extra)]
    assert got == want

    # Each step's file is the mounted one.
    for s in out["steps"]:
        where = steps_dir if s["name"] in {b["name"] for b in builtin} else extra_dir
        assert Path(s["file"]).resolve().is_relative_to(where.resolve()), s

    # The run/skip decisions are not all the same: the values' flags are what decides.
    if case in ("everything-on.yaml", "everything-off.yaml"):
        runs = {n for n, r in got if r}
        if case == "everything-on.yaml":
            assert runs == {n for n, _ in got}, "everything on: every step runs"
        else:
            assert runs == {"wait", "admin", "license"}, "everything off: only the always-on steps run"

    # The secrets the job read (passwords, the license) are not in what it prints.
    for key, value in inline_secrets(values_with_secrets(values, mounts)).items():
        if not key.endswith(".username"):  # a user name ("admin", "metrics") is not masked: a step's name
            assert value not in proc.stdout, f"{key} printed by list"


def values_with_secrets(values, mounts):
    """The mounted values with the secret files filled in (as the job fills them)."""
    filled = json.loads(json.dumps(values))
    secrets_dir = mounts["/etc/twistlock-init/secrets"]
    for f in secrets_dir.iterdir():
        if f.name.startswith(".."):
            continue
        key, text = f.name, f.read_text()
        parts = key.split(".")
        if parts[:2] == ["console", "additionalUsers"]:
            for u in filled["console"]["additionalUsers"]:
                if u["username"] == parts[2]:
                    u["password"] = text
            continue
        cur = filled
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = text
    return filled
