"""What the image is built from is pinned: the Containerfile builds at exactly the committed
Package.resolved's versions, and its runtime base image is pinned by digest (tag beside it)."""

import json
import re
import subprocess

from conftest import ROOT

CONTAINERFILE = (ROOT / "Containerfile").read_text()


def test_package_resolved_is_committed_and_pins_every_dependency():
    git = subprocess.run(["git", "ls-files", "Package.resolved"], cwd=ROOT, capture_output=True, text=True)
    if git.returncode == 0:  # a git checkout (an exported tree has only the file, checked below)
        assert git.stdout.strip() == "Package.resolved", "Package.resolved is not committed"
    resolved = json.loads((ROOT / "Package.resolved").read_text())
    pinned = {p["location"].lower().removesuffix(".git") for p in resolved["pins"]}
    declared = re.findall(r'\.package\(\s*url:\s*"([^"]+)"', (ROOT / "Package.swift").read_text())
    assert declared, "no dependency found in Package.swift"
    missing = [u for u in declared if u.lower().removesuffix(".git") not in pinned]
    assert not missing, f"Package.swift depends on {missing}, which Package.resolved does not pin: commit the Package.resolved `swift build` wrote"
    for pin in resolved["pins"]:
        assert re.fullmatch(r"[0-9a-f]{40}", pin["state"].get("revision", "")), pin


def test_the_image_builds_from_the_resolved_versions():
    assert re.search(r"^COPY Package\.swift Package\.resolved \./$", CONTAINERFILE, re.M)
    assert re.search(r"^RUN swift package resolve --force-resolved-versions$", CONTAINERFILE, re.M)
    script = (ROOT / "tools" / "build-static.sh").read_text()
    assert re.search(r"^swift build -c release [^\n]*\\\n\s+--force-resolved-versions", script, re.M)


def test_runtime_image_is_pinned_by_digest_with_its_tag():
    image = re.search(r"^ARG RUNTIME_IMAGE=(\S+)$", CONTAINERFILE, re.M).group(1)
    assert re.fullmatch(r"[a-z0-9./-]+:[\w.-]+@sha256:[0-9a-f]{64}", image), image
