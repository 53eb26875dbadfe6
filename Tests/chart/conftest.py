"""Shared helpers of the chart tests: the real helm binary, rendering, values merging."""

import base64
import copy
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "chart"
VALUES_DIR = Path(__file__).resolve().parent / "values"
NAMESPACE = "twistlock"
RELEASE = "tl"
FULLNAME = f"{RELEASE}-twistlock-init"

# The values files the chart is rendered with (besides the defaults).
VALUES_FILES = sorted(p.name for p in VALUES_DIR.glob("*.yaml"))

# The values keys whose values are secrets (besides console.additionalUsers[].password).
SECRET_KEYS = [
    "console.credentials.username",
    "console.credentials.password",
    "console.license",
    "defender.proxy.password",
    "monitoring.username",
    "monitoring.password",
]


def find_helm():
    """The helm binary: $HELM, the project's cache (.tmp/helm/helm), or helm on PATH."""
    candidates = [os.environ.get("HELM"), str(ROOT / ".tmp" / "helm" / "helm"), shutil.which("helm")]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


@pytest.fixture(scope="session")
def helm():
    path = find_helm()
    if path is None:
        pytest.fail("no helm binary: run tools/install-helm.sh (or set $HELM)")
    return path


class HelmError(Exception):
    pass


def run_helm(helm, *args, timeout=60):
    proc = subprocess.run([helm, *args], capture_output=True, text=True, timeout=timeout)
    # helm reports the chart's steps symlink on stderr at INFO level; that is not an error.
    return proc.returncode, proc.stdout, proc.stderr


def render(helm, *values_files, sets=(), namespace=NAMESPACE, chart=CHART, raw=False):
    """helm template the chart; the rendered documents (or the text with raw=True)."""
    args = ["template", RELEASE, str(chart), "--namespace", namespace]
    for f in values_files:
        args += ["-f", str(f if os.path.isabs(str(f)) else VALUES_DIR / f)]
    for s in sets:
        args += ["--set", s]
    code, out, err = run_helm(helm, *args)
    if code != 0:
        raise HelmError(err)
    if raw:
        return out
    return [d for d in yaml.safe_load_all(out) if d]


def render_error(helm, *values_files, sets=()):
    """The error text of a render that must fail."""
    try:
        render(helm, *values_files, sets=sets)
    except HelmError as e:
        return str(e)
    raise AssertionError(f"helm template succeeded with {values_files} {sets}")


def find(docs, kind, name=None):
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    return found


def one(docs, kind, name=None):
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def job(docs):
    return one(docs, "Job")


def container(docs):
    containers = job(docs)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def volume(docs, name):
    vols = {v["name"]: v for v in job(docs)["spec"]["template"]["spec"]["volumes"]}
    return vols[name]


def mount_path(docs, name):
    mounts = {m["name"]: m["mountPath"] for m in container(docs)["volumeMounts"]}
    return mounts[name]


def arg_value(args, flag):
    """The values given to a flag (`--flag VALUE`), in order."""
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]


def secret_data(secret):
    """A Secret's data, decoded."""
    out = {}
    for k, v in (secret.get("data") or {}).items():
        out[k] = base64.b64decode(v).decode()
    for k, v in (secret.get("stringData") or {}).items():
        out[k] = v
    return out


def load_values(name):
    return yaml.safe_load((VALUES_DIR / name).read_text()) or {}


def chart_defaults():
    return yaml.safe_load((CHART / "values.yaml").read_text())


def merge(base, override):
    """Helm's coalescing of a values file over the defaults: maps merge, null deletes a default
    (and stays null where there is no default)."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        if v is None and k in out:
            out.pop(k)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def merged_values(*names):
    values = chart_defaults()
    for n in names:
        values = merge(values, load_values(n))
    return values


def get_path(values, dotted, default=None):
    cur = values
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def inline_secrets(values):
    """The secret file name -> value pairs given inline in the values."""
    out = {}
    for key in SECRET_KEYS:
        v = get_path(values, key)
        if v not in (None, ""):
            out[key] = str(v)
    for u in get_path(values, "console.additionalUsers", []) or []:
        if u.get("password"):
            out[f"console.additionalUsers.{u['username']}.password"] = str(u["password"])
    return out
