"""Issue 17: the job as a CronJob between upgrades (drift), and backups for undo."""

import copy

import kubernetes_validate
import pytest

from conftest import FULLNAME, NAMESPACE, arg_value, find, job, one, render, render_error
from test_chart import CASES, K8S_VERSIONS, render_case

DRIFT = f"{FULLNAME}-drift"
STATUS = f"{FULLNAME}-drift-status"
BACKUPS = [f"{FULLNAME}-backup-{i}" for i in range(3)]
ON = ["drift.enabled=true"]


def cronjob(docs):
    return one(docs, "CronJob")


def drift_pod(docs):
    return cronjob(docs)["spec"]["jobTemplate"]["spec"]["template"]


def only_container(pod):
    assert len(pod["spec"]["containers"]) == 1
    return pod["spec"]["containers"][0]


def record_role(docs):
    return one(docs, "Role", f"{FULLNAME}-record")


def assert_restricted(pod):
    """The restricted pod security of the Job (test_chart.test_job_runs_restricted), for any pod."""
    spec = pod["spec"]
    c = only_container(pod)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert "add" not in sc["capabilities"]
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec.get("hostNetwork") is not True and spec.get("hostPID") is not True
    writable = [m for m in c["volumeMounts"] if not m.get("readOnly")]
    assert [m["mountPath"] for m in writable] == ["/tmp"]
    assert "envFrom" not in c
    assert all("valueFrom" not in e for e in c.get("env", []))


@pytest.mark.parametrize("case", CASES)
def test_no_cronjob_unless_enabled(helm, case):
    docs = render_case(helm, case)
    assert not find(docs, "CronJob")
    assert not find(docs, "ConfigMap", STATUS)
    assert not find(docs, "Role", f"{FULLNAME}-record")
    assert not [d for d in docs if d["kind"] == "Secret" and "-backup-" in d["metadata"]["name"]]
    # Enabled but the job off: nothing at all.
    assert render(helm, sets=["init.enabled=false", "drift.enabled=true", "backup.enabled=true"]) == []


@pytest.mark.parametrize("case", CASES)
def test_cronjob_runs_the_jobs_pod(helm, case):
    files = [case] if case else []
    docs = render(helm, *files, sets=ON)
    j = job(docs)["spec"]["template"]
    d = drift_pod(docs)
    # Same image, mounts, volumes, resources, env, security, scheduling: the Job's pod, with the
    # arguments of the mode and the recording flags, and the identity recording needs.
    want = copy.deepcopy(j)
    got = copy.deepcopy(d)
    for pod in (want, got):
        only_container(pod).pop("args")
        pod["spec"].pop("serviceAccountName", None)
        pod["spec"].pop("automountServiceAccountToken", None)
    assert got == want
    assert_restricted(d)
    assert_restricted(j)
    assert d["spec"]["restartPolicy"] == "Never"
    assert d["spec"]["automountServiceAccountToken"] is True
    assert d["spec"]["serviceAccountName"] == one(docs, "ServiceAccount")["metadata"]["name"]
    args = only_container(d)["args"]
    assert args[0] == "plan"
    assert args[1:] == only_container(j)["args"][1:] + ["--detailed-exitcode", "--record-status", STATUS,
                                                         "--record-event", DRIFT]


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("sets", [ON, ON + ["backup.enabled=true", "drift.mode=run"],
                                  ON + ["defender.enabled=false", "networkPolicies.enabled=true"]])
def test_drift_manifests_are_valid_kubernetes(helm, sets, version):
    docs = render(helm, sets=sets)
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)
    for doc in docs:
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/instance"] == "tl" and labels.get("app.kubernetes.io/component"), doc["metadata"]


def test_cronjob_schedule_concurrency_and_history(helm):
    spec = cronjob(render(helm, sets=ON + ["drift.schedule=*/30 * * * *", "drift.successfulJobsHistoryLimit=2",
                                           "drift.failedJobsHistoryLimit=5"]))["spec"]
    assert spec["schedule"] == "*/30 * * * *"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["successfulJobsHistoryLimit"] == 2
    assert spec["failedJobsHistoryLimit"] == 5
    assert spec["startingDeadlineSeconds"] == 600
    assert spec["jobTemplate"]["spec"]["backoffLimit"] == 0
    assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 1800
    # Defaults: off, plan, bounded history.
    spec = cronjob(render(helm, sets=ON))["spec"]
    assert spec["successfulJobsHistoryLimit"] <= 10 and spec["failedJobsHistoryLimit"] <= 10


def test_modes_and_backups(helm):
    # run: repairs, and (with backups) keeps what it replaced, like the install job.
    docs = render(helm, sets=ON + ["drift.mode=run", "backup.enabled=true"])
    args = only_container(drift_pod(docs))["args"]
    assert args[0] == "run"
    assert "--detailed-exitcode" not in args
    assert arg_value(args, "--backup-secret") == BACKUPS
    assert arg_value(only_container(job(docs)["spec"]["template"])["args"], "--backup-secret") == BACKUPS
    # plan writes nothing: no backup flags (the binary refuses them in plan).
    docs = render(helm, sets=ON + ["backup.enabled=true"])
    args = only_container(drift_pod(docs))["args"]
    assert args[0] == "plan"
    assert "--backup-secret" not in args
    assert arg_value(only_container(job(docs)["spec"]["template"])["args"], "--backup-secret") == BACKUPS
    # backup.keep Secrets, empty (the job fills them), and no more.
    docs = render(helm, sets=["backup.enabled=true", "backup.keep=5"])
    secrets = sorted(d["metadata"]["name"] for d in docs if d["kind"] == "Secret" and "-backup-" in d["metadata"]["name"])
    assert secrets == [f"{FULLNAME}-backup-{i}" for i in range(5)]
    for name in secrets:
        s = one(docs, "Secret", name)
        assert s["type"] == "Opaque" and "data" not in s and "stringData" not in s


def test_status_configmap_is_the_charts_and_empty(helm):
    docs = render(helm, sets=ON)
    cm = one(docs, "ConfigMap", STATUS)
    assert cm["metadata"]["namespace"] == NAMESPACE
    assert "data" not in cm, "the chart owns the object; the job owns its data (an upgrade keeps the last result)"


def rules(role):
    return {(r["apiGroups"][0], res): (tuple(r.get("resourceNames", ())), tuple(r["verbs"]))
            for r in role["rules"] for res in r["resources"]}


def test_rbac_grows_by_exactly_what_recording_needs(helm):
    docs = render(helm, sets=ON)
    assert rules(record_role(docs)) == {
        ("", "configmaps"): ((STATUS,), ("get", "patch")),
        ("batch", "cronjobs"): ((DRIFT,), ("get",)),
        ("", "events"): ((), ("create",)),
    }
    binding = one(docs, "RoleBinding", f"{FULLNAME}-record")
    assert binding["roleRef"]["name"] == f"{FULLNAME}-record"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]
    # Backups add get/patch of exactly the backup Secrets.
    docs = render(helm, sets=["backup.enabled=true"])
    assert rules(record_role(docs)) == {("", "secrets"): (tuple(BACKUPS), ("get", "patch"))}
    docs = render(helm, sets=ON + ["backup.enabled=true"])
    assert rules(record_role(docs))[("", "secrets")] == (tuple(BACKUPS), ("get", "patch"))
    # The Defender step's grants are unchanged by drift (its own Role in defender.namespace).
    assert rules(one(render(helm), "Role")) == rules(one(render(helm, sets=ON), "Role", FULLNAME))
    # No wildcard, no list/watch/delete/update anywhere recording grants.
    for r in record_role(render(helm, sets=ON + ["backup.enabled=true"]))["rules"]:
        assert not {"*", "list", "watch", "delete", "deletecollection", "update", "escalate", "bind"} & set(r["verbs"])
        assert "*" not in r["resources"]


def test_identity_only_where_needed(helm):
    # Drift without defenders: the ServiceAccount exists for the CronJob; the install Job still
    # mounts no token (it needs none).
    docs = render(helm, "everything-off.yaml", sets=ON)
    assert one(docs, "ServiceAccount")
    pod = job(docs)["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False and "serviceAccountName" not in pod
    assert drift_pod(docs)["spec"]["automountServiceAccountToken"] is True
    assert not find(docs, "ClusterRole")
    # Backups without defenders: the Job needs the API for them.
    pod = job(render(helm, "everything-off.yaml", sets=["backup.enabled=true"]))["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True and pod["serviceAccountName"] == FULLNAME


def test_network_policy_lets_the_recording_reach_the_api(helm):
    def api_rules(docs, cidr="0.0.0.0/0"):
        egress = one(docs, "NetworkPolicy")["spec"]["egress"]
        return [r for r in egress if any("ipBlock" in t and t["ipBlock"]["cidr"] == cidr for t in r["to"])]
    base = ["networkPolicies.enabled=true", "defender.enabled=false"]
    assert api_rules(render(helm, sets=base)) == []
    assert api_rules(render(helm, sets=base + ON))
    assert api_rules(render(helm, sets=base + ["backup.enabled=true"]))
    # The drift pod carries the labels the policy selects.
    docs = render(helm, sets=base + ON)
    selector = one(docs, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"]
    assert selector.items() <= drift_pod(docs)["metadata"]["labels"].items()


BAD = [
    ("drift.mode=apply", "/drift/mode"),
    ("drift.schedule=hourly", "/drift/schedule"),
    ("drift.schedule=", "/drift/schedule"),
    ("drift.successfulJobsHistoryLimit=50", "/drift/successfulJobsHistoryLimit"),
    ("drift.failedJobsHistoryLimit=-1", "/drift/failedJobsHistoryLimit"),
    ("drift.enabled=yes", "/drift/enabled"),
    ("drift.startingDeadlineSeconds=0", "/drift/startingDeadlineSeconds"),
    ("drift.schedul=0 * * * *", "/drift"),
    ("backup.keep=0", "/backup/keep"),
    ("backup.keep=11", "/backup/keep"),
    ("backup.enabled=1", "/backup/enabled"),
]


@pytest.mark.parametrize("setting,key", BAD, ids=[k + "=" + s.split("=", 1)[1] for s, k in BAD])
def test_schema_refuses_bad_drift_and_backup_values(helm, setting, key):
    err = render_error(helm, sets=[setting])
    assert "schema" in err
    assert key in err, err
