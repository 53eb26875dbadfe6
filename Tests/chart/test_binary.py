"""The image's binary is the job alone: `twistlock-init` links neither Hummingbird (nor its
lifecycle library) nor the simulators, which only `twistlock-demo`, `twistlock-console-sim` and
the tests need. Read from the symbols of the debug build (`.build/debug`, or
$TWISTLOCK_INIT_BIN); Tests/chart/check-static.sh checks the release binary the same way."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

BINARY = Path(os.environ.get("TWISTLOCK_INIT_BIN") or ROOT / ".build" / "debug" / "twistlock-init")
DEMO = BINARY.with_name("twistlock-demo")
# Swift's mangled names carry the module name (e.g. `11Hummingbird`, `16ConsoleSimulator`).
SERVER_CODE = re.compile(r"Hummingbird|ServiceLifecycle|ConsoleSimulator|KubeSimulator|SimulatorServing")


def symbols(path):
    if shutil.which("nm") is None:
        pytest.skip("nm is not installed")
    if not path.is_file():
        pytest.skip(f"{path} is not built (swift build)")
    proc = subprocess.run(["nm", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_production_binary_has_no_server_code():
    out = symbols(BINARY)
    # The job's own code is there (a stripped binary would pass the check below by listing nothing).
    assert "13TwistlockInit" in out and "lua_newstate" in out
    found = sorted({m.group(0) for m in SERVER_CODE.finditer(out)})
    assert not found, f"{BINARY} links {found}"


def test_production_binary_has_no_demo_command():
    if not BINARY.is_file():
        pytest.skip(f"{BINARY} is not built")
    proc = subprocess.run([str(BINARY), "--help"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    subcommands = re.findall(r"^  (\w+)\s", proc.stdout.split("SUBCOMMANDS:")[1], re.M)
    assert "run" in subcommands and "demo" not in subcommands, subcommands


def test_demo_binary_carries_the_simulators():
    # The other side of the split, and proof that the pattern above finds server code when it is there.
    out = symbols(DEMO)
    assert "11Hummingbird" in out and "16ConsoleSimulator" in out


# Closed choices on the command line are enums: any other spelling is refused before anything
# runs, naming the allowed values: twistlock-init exits 2 with one line (its documented code for
# invalid input, issue 13); twistlock-demo starts through the same CommandMain and does the same.
@pytest.mark.parametrize("binary,args", [
    (BINARY, ["run", "--log-format", "xml"]),
    (BINARY, ["plan", "--log-format=JSON"]),
    (BINARY, ["run", "--log-format", ""]),
    (BINARY, ["list", "--output", "yaml"]),
    (BINARY, ["list", "--output=Text"]),
    (DEMO, ["--log-format", "jsonl"]),
])
def test_closed_choices_refuse_other_values(binary, args):
    if not binary.is_file():
        pytest.skip(f"{binary} is not built")
    proc = subprocess.run([str(binary), *args, "--builtin-steps", str(ROOT / "steps")],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "is invalid for '--" in proc.stderr and "'text' and 'json'" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stdout == ""


def test_list_output_json_is_json():
    if not BINARY.is_file():
        pytest.skip(f"{BINARY} is not built")
    proc = subprocess.run([str(BINARY), "list", "--output", "json", "--set", "init.enabled=false",
                           "--builtin-steps", str(ROOT / "steps")],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    steps = json.loads(proc.stdout)["steps"]
    assert [s["name"] for s in steps][:2] == ["wait", "admin"] and steps[0]["run"] is False


# The same for the other commands' closed choices: undo's --log-format, the simulator's
# --not-ready-mode (refused whether or not --not-ready is given).
@pytest.mark.parametrize("name,args,exit_code,allowed", [
    ("twistlock-init", ["undo", "--backup", "/nonexistent/backup.json", "--log-format", "xml"], 2, "'text' and 'json'"),
    ("twistlock-init", ["undo", "--backup", "/nonexistent/backup.json", "--log-format=Json", "--dry-run"], 2, "'text' and 'json'"),
    ("twistlock-console-sim", ["--not-ready-mode", "down"], 64, "'unavailable' and 'refuse'"),
    ("twistlock-console-sim", ["--not-ready", "5", "--not-ready-mode=Refuse"], 64, "'unavailable' and 'refuse'"),
])
def test_other_closed_choices_refuse_other_values(name, args, exit_code, allowed):
    binary = BINARY.with_name(name)
    if not binary.is_file():
        pytest.skip(f"{binary} is not built")
    proc = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=30)
    assert proc.returncode == exit_code, (proc.returncode, proc.stdout, proc.stderr)
    assert "is invalid for '--" in proc.stderr and allowed in proc.stderr, proc.stderr
    assert proc.stdout == ""
