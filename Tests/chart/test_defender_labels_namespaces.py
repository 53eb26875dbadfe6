"""Keys the old Big Bang job honoured (issue 14, point 3): the Defender pods' labels and the
namespaces. The chart passes them to the job (its values ConfigMap); the job's own tests
(Tests/StepTests/DefenderLabelsTests.swift) show what it does with them."""

import pytest
import yaml

from conftest import FULLNAME, one, render, render_error


def mounted(helm, *files, sets=(), namespace=None):
    kwargs = {"namespace": namespace} if namespace else {}
    docs = render(helm, *files, sets=sets, **kwargs)
    return yaml.safe_load(one(docs, "ConfigMap", f"{FULLNAME}-values")["data"]["values.yaml"])


# --------------------------------------------------------------------------------------------
# podLabels


def test_pod_labels_reach_the_job(helm):
    """The top-level podLabels (the Big Bang package's key) and defender.podLabels reach the job,
    which puts them on the Defender pods."""
    values = mounted(helm, sets=["podLabels.team=platform", "podLabels.app\\.kubernetes\\.io/part-of=bigbang",
                                 "defender.podLabels.example\\.com/tier=edge", "defender.podLabels.team=security"])
    assert values["podLabels"] == {"team": "platform", "app.kubernetes.io/part-of": "bigbang"}
    assert values["defender"]["podLabels"] == {"example.com/tier": "edge", "team": "security"}
    # The Big Bang package's values (podLabels: {}) give the job an empty map.
    assert mounted(helm, "bigbang.yaml")["podLabels"] == {}


BAD_LABELS = [
    # (--set ..., what the error must name)
    ("podLabels.Example\\.com/team=x", "'Example.com/team'"),          # prefix not lower-case
    ("podLabels.example_corp\\.com/team=x", "'example_corp.com/team'"),  # prefix with "_"
    ("defender.podLabels.a/b/c=x", "'a/b/c'"),                          # two slashes
    ("defender.podLabels.-team=x", "'-team'"),                           # name starts with "-"
    ("podLabels.team=two words", "/podLabels/team"),
    ("podLabels.team=1", "/podLabels/team"),                             # a number, not a string
    ("defender.podLabels.team=-x", "/defender/podLabels/team"),
    ("defender.podLabels.team=" + "v" * 64, "/defender/podLabels/team"),
    ("init.podLabels.team=x.", "/init/podLabels/team"),                  # the job's own pod too
    ("networkPolicies.consolePodLabels.name=twistlock console", "/networkPolicies/consolePodLabels/name"),
]


@pytest.mark.parametrize("setting,key", BAD_LABELS, ids=[s.split("=")[0] for s, _ in BAD_LABELS])
def test_bad_labels_are_refused_naming_the_key(helm, setting, key):
    err = render_error(helm, sets=[setting])
    assert "schema" in err, err
    assert key in err, err


# --------------------------------------------------------------------------------------------
# Namespaces: the Defenders and the console address default to the release's


@pytest.mark.parametrize("files,sets,namespace,want_ns,want_address", [
    # `helm install -n prisma`: the console and the Defenders stay together.
    ((), (), "prisma", "prisma", "twistlock-console.prisma.svc.cluster.local"),
    (("bigbang.yaml",), (), "twistlock", "twistlock", "twistlock-console.twistlock.svc.cluster.local"),
    # The console elsewhere: the address follows console.service.*; the Defenders stay in the release's.
    ((), ("console.service.namespace=tl-console", "console.service.name=console"), "prisma", "prisma",
     "console.tl-console.svc.cluster.local"),
    ((), ("console.service.url=https://prisma.example.mil:8083",), "prisma", "prisma", "prisma.example.mil"),
    # Explicit values win.
    ((), ("defender.namespace=defenders", "defender.consoleAddress=tl.example.mil"), "prisma", "defenders",
     "tl.example.mil"),
    ((), ("defender.consoleAddress=10.0.0.5",), "prisma", "prisma", "10.0.0.5"),
])
def test_defender_namespace_and_console_address_default_to_the_release(helm, files, sets, namespace, want_ns,
                                                                        want_address):
    docs = render(helm, *files, sets=sets, namespace=namespace)
    values = yaml.safe_load(one(docs, "ConfigMap", f"{FULLNAME}-values")["data"]["values.yaml"])
    assert values["defender"]["namespace"] == want_ns
    assert values["defender"]["consoleAddress"] == want_address
    # The job's grants on the Defender objects are in the Defenders' namespace.
    namespaced = [d for d in docs if d["kind"] in ("Role", "RoleBinding")
                  and any("daemonsets" in r.get("resources", []) for r in d.get("rules", []))]
    assert namespaced and all(d["metadata"]["namespace"] == want_ns for d in namespaced), namespaced
    cluster = [d for d in docs if d["kind"] == "ClusterRole"
               and any(r.get("resources") == ["namespaces"] for r in d.get("rules", []))]
    assert any(want_ns in r.get("resourceNames", []) for d in cluster for r in d["rules"]), cluster


@pytest.mark.parametrize("setting", [
    "defender.consoleAddress=https://twistlock-console",
    "defender.consoleAddress=twistlock-console:8084",
    "defender.consoleAddress=twistlock-console/api",
    "defender.consoleAddress=twistlock console",
    "defender.namespace=Prisma",
    "defender.namespace=prisma_ns",
])
def test_bad_namespace_or_address_is_refused_naming_the_key(helm, setting):
    err = render_error(helm, sets=[setting])
    assert "schema" in err, err
    assert "/" + setting.split("=")[0].replace(".", "/") in err, err
