"""The Helm chart, rendered by the real helm binary and checked against Kubernetes' schemas."""

import json
import re
import subprocess
import tarfile

import jsonschema
import kubernetes_validate
import pytest
import yaml

import servicemonitor
from conftest import (
    CHART, FULLNAME, NAMESPACE, RELEASE, ROOT, SECRET_KEYS, VALUES_FILES, arg_value, chart_defaults, container,
    find, get_path, inline_secrets, job, load_values, merged_values, mount_path, one, render,
    render_error, run_helm, secret_data, volume,
)

VALUES_MOUNT = "/etc/twistlock-init/values"
SECRETS_MOUNT = "/etc/twistlock-init/secrets"
EXTRA_STEPS_MOUNT = "/etc/twistlock-init/extra-steps"
IMAGE_STEPS = "/usr/local/share/twistlock-init/steps"

# Kubernetes versions the rendered manifests must be valid for: the chart's kubeVersion floor and
# the newest schemas kubernetes-validate has.
K8S_VERSIONS = ["1.25.0", kubernetes_validate.utils.latest_version()]

CASES = [None] + VALUES_FILES  # None: the chart's defaults


def render_case(helm, case):
    return render(helm, *( [case] if case else [] ))


def case_values(case):
    return merged_values(*([case] if case else []))


# --------------------------------------------------------------------------------------------
# Chart metadata, lint, package


def test_chart_yaml():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "twistlock-init"
    assert chart["version"] == "0.1.0"
    assert str(chart["appVersion"]) == "0.1.0"


@pytest.mark.parametrize("case", CASES)
def test_helm_lint(helm, case):
    args = ["lint", "--strict", str(CHART), "--namespace", NAMESPACE]
    if case:
        args += ["-f", str(ROOT / "Tests" / "chart" / "values" / case)]
    code, out, err = run_helm(helm, *args)
    assert code == 0, out + err
    assert "0 chart(s) failed" in out


def test_steps_link_to_the_project_steps():
    link = CHART / "steps"
    assert link.is_symlink(), "chart/steps must be the symlink to ../steps (docs/chart.md)"
    assert link.resolve() == (ROOT / "steps").resolve()


def test_package_carries_the_steps(helm, tmp_path):
    code, out, err = run_helm(helm, "package", str(CHART), "-d", str(tmp_path))
    assert code == 0, err
    tgz = tmp_path / "twistlock-init-0.1.0.tgz"
    with tarfile.open(tgz) as tar:
        names = set(tar.getnames())
        manifest = tar.extractfile("twistlock-init/steps/manifest.yaml").read().decode()
    assert manifest == (ROOT / "steps" / "manifest.yaml").read_text()
    for step in yaml.safe_load(manifest)["steps"]:
        path = ROOT / "steps" / step["file"]
        if path.exists():
            assert f"twistlock-init/steps/{step['file']}" in names
    assert not any(n.startswith("twistlock-init/steps/types/") for n in names), "editor types are not shipped"
    # The packaged chart renders the same steps ConfigMap as the directory.
    packaged = render(helm, chart=tgz)
    assert one(packaged, "ConfigMap", f"{FULLNAME}-steps") == one(render(helm), "ConfigMap", f"{FULLNAME}-steps")


# --------------------------------------------------------------------------------------------
# values.yaml and values.schema.json


def values_key_lines():
    """(indent, key, line index) of every mapping key written in values.yaml (not in comments)."""
    out = []
    for i, line in enumerate((CHART / "values.yaml").read_text().splitlines()):
        m = re.match(r"^( *)([A-Za-z_][A-Za-z0-9_]*):", line)
        if m:
            out.append((len(m.group(1)), m.group(2), i))
    return out


def test_values_yaml_is_documented_key_by_key():
    """Every key has a comment right above it, or is a group of documented keys, or is part of
    the value of a documented key (e.g. the cpu of a documented `resources` map)."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    keys = values_key_lines()
    undocumented = []
    stack = []  # (indent, documented) of the enclosing keys
    for n, (indent, key, i) in enumerate(keys):
        while stack and stack[-1][0] >= indent:
            stack.pop()
        documented = lines[i - 1].strip().startswith("#") if i > 0 else False
        inside_documented = any(d for _, d in stack)
        is_group = n + 1 < len(keys) and keys[n + 1][0] > indent and lines[i].rstrip().endswith(":")
        if not (documented or inside_documented or is_group):
            undocumented.append(key)
        stack.append((indent, documented))
    assert not undocumented, f"keys without a comment above them in values.yaml: {undocumented}"


def schema_paths(schema, prefix=""):
    out = set()
    for k, v in (schema.get("properties") or {}).items():
        path = f"{prefix}.{k}" if prefix else k
        out.add(path)
        out |= schema_paths(v, path)
    return out


def value_paths(values, prefix=""):
    out = set()
    for k, v in values.items():
        path = f"{prefix}.{k}" if prefix else k
        out.add(path)
        if isinstance(v, dict):
            out |= value_paths(v, path)
    return out


def test_schema_declares_every_key_of_values_yaml():
    schema = json.loads((CHART / "values.schema.json").read_text())
    missing = value_paths(chart_defaults()) - schema_paths(schema)
    # Free-form maps (resources, selectors, labels) have no declared children.
    missing = {p for p in missing if not re.match(r"^(init\.resources|networkPolicies\.consolePodLabels)\.", p)}
    assert not missing, f"keys of values.yaml the schema does not declare: {sorted(missing)}"


@pytest.mark.parametrize("case", CASES)
def test_values_files_meet_the_schema(case):
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.validate(case_values(case), schema)


BAD_VALUES = [
    # (--set ..., the key the error must name)
    ("policies.vulnerabilities.alertThreshold=severe", "/policies/vulnerabilities/alertThreshold"),
    ("policies.compliance.alertThreshold=urgent", "/policies/compliance/alertThreshold"),
    ("policies.compliance.templates[0]=SOX", "/policies/compliance/templates/0"),
    ("console.trustedImages.defaultEffect=deny", "/console/trustedImages/defaultEffect"),
    ("defender.containerRuntime=rkt", "/defender/containerRuntime"),
    ("sso.provider_type=keycloak", "/sso/provider_type"),
    ("init.image.imagePullPolicy=Sometimes", "/init/image/imagePullPolicy"),
    ("init.logFormat=xml", "/init/logFormat"),
    ("console.service.scheme=ftp", "/console/service/scheme"),
    ("defender.enabled=yes", "/defender/enabled"),
    ("init.backoffLimit=many", "/init/backoffLimit"),
    ("init.waitTimeoutSeconds=0", "/init/waitTimeoutSeconds"),
    ("console.ports.managementHttp=70000", "/console/ports/managementHttp"),
    ("monitoring.enabled=1", "/monitoring/enabled"),
    ("defender.namespace=Bad_Namespace", "/defender/namespace"),
    ("console.additionalUsers[0].username=u,console.additionalUsers[0].role=auditor,"
     "console.additionalUsers[0].authType=kerberos", "/console/additionalUsers/0/authType"),
    ("console.additionalUsers[0].username=u", "/console/additionalUsers/0"),
    ("console.groups[0].group=g,console.groups[0].role=admin,console.groups[0].authType=ldap",
     "/console/groups/0/authType"),
    ("init.extraSteps[0].name=Bad Name,init.extraSteps[0].script=x", "/init/extraSteps/0/name"),
    ("init.extraSteps[0].name=under_score,init.extraSteps[0].script=x", "/init/extraSteps/0/name"),
    ("init.extraSteps[0].name=x,init.extraSteps[0].script=y,init.extraSteps[0].before=wait,"
     "init.extraSteps[0].after=admin", "/init/extraSteps/0"),
    ("init.existingSecrets[0].name=s,init.existingSecrets[0].items[0].key=k,"
     "init.existingSecrets[0].items[0].path=console.other", "/init/existingSecrets/0/items/0/path"),
    # Formats (docs/values.md): URLs, host names, user and group names, roles.
    ("sso.idp_url=javascript:alert(1)", "/sso/idp_url"),
    ("sso.console_url=https://admin:pw@console.example.com", "/sso/console_url"),
    ("sso.idp_url=https://idp.example.com/saml#x", "/sso/idp_url"),
    ("console.externalHost=twistlock.example.com.", "/console/externalHost"),
    ("console.externalHost=*.example.com", "/console/externalHost"),
    ("domain=Example.com", "/domain"),
    ("domain=bad_domain.com", "/domain"),
    ("defender.consoleAddress=twistlock-console:8084", "/defender/consoleAddress"),
    ("console.additionalUsers[0].username=alice smith,console.additionalUsers[0].role=auditor",
     "/console/additionalUsers/0/username"),
    ("console.additionalUsers[0].username=u,console.additionalUsers[0].role=Admin", "/console/additionalUsers/0/role"),
    ("console.groups[0].group=g,console.groups[0].role=DevOps", "/console/groups/0/role"),
    ("monitoring.username=metrics user", "/monitoring/username"),
]


@pytest.mark.parametrize("setting,key", BAD_VALUES, ids=[k for _, k in BAD_VALUES])
def test_schema_refuses_bad_values_naming_the_key(helm, setting, key):
    err = render_error(helm, sets=[setting])
    assert "schema" in err
    assert key in err, err


@pytest.mark.parametrize("setting,where", [
    ("defender.enable=true", "/defender"),
    ("console.optons.enabled=false", "/console"),
    ("policies.vulnerabilities.alertTreshold=high", "/policies/vulnerabilities"),
    ("sso.clientId=x", "/sso"),
    ("console.additionalUsers[0].username=u,console.additionalUsers[0].role=user,console.additionalUsers[0].Role=admin",
     "/console/additionalUsers/0"),
    ("init.image.tagg=1", "/init/image"),
])
def test_schema_refuses_unknown_keys_of_the_jobs_sections(helm, setting, where):
    err = render_error(helm, sets=[setting])
    assert "additional properties" in err.lower() or "additionalProperties" in err, err
    assert where in err, err


def test_schema_allows_the_console_charts_keys(helm):
    # Keys of the Big Bang console chart, in sections shared with the job or its own.
    render(helm, sets=["console.persistence.size=10Gi", "console.image.tag=x", "defender.certCn=cn",
                       "routes.inbound.console.enabled=true", "bbtests.enabled=false", "istio.mtls.mode=STRICT",
                       "console.persistence.storageClassName=fast"])
    # The top level is shared: a key there is the job's to report (it warns, naming the key meant).
    render(helm, sets=["polices.enabled=false"])


def test_string_typed_values_refuse_numbers(helm, tmp_path):
    # An unquoted tag in YAML is a number; the job reads tags as strings.
    f = tmp_path / "v.yaml"
    f.write_text("init:\n  image:\n    tag: 1.5\n")
    err = render_error(helm, f)
    assert "/init/image/tag" in err


# --------------------------------------------------------------------------------------------
# Every manifest is valid Kubernetes


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("case", CASES)
def test_rendered_manifests_are_valid_kubernetes(helm, case, version):
    docs = render_case(helm, case)
    assert docs
    for doc in docs:
        if doc["kind"] == "ServiceMonitor":  # a CRD kubernetes-validate does not know
            servicemonitor.validate(doc, version)
            continue
        kubernetes_validate.validate(doc, version, strict=True)


def test_validation_catches_a_broken_manifest():
    # The check above can fail: a Job with a misspelt field is refused.
    bad = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"},
           "spec": {"backoffLimit": 1, "activeDeadline": 5,
                    "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSIONS[-1], strict=True)


@pytest.mark.parametrize("case", CASES)
def test_every_object_carries_the_recommended_labels(helm, case):
    for doc in render_case(helm, case):
        labels = doc["metadata"].get("labels", {})
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        assert labels.get("app.kubernetes.io/name") == "twistlock-init", name
        assert labels.get("app.kubernetes.io/instance") == RELEASE, name
        assert labels.get("app.kubernetes.io/version") == "0.1.0", name
        assert labels.get("app.kubernetes.io/managed-by") == "Helm", name
        assert labels.get("helm.sh/chart") == "twistlock-init-0.1.0", name
        assert labels.get("app.kubernetes.io/component"), name


def test_init_disabled_renders_nothing(helm):
    assert render(helm, sets=["init.enabled=false"]) == []


# --------------------------------------------------------------------------------------------
# The Job


@pytest.mark.parametrize("case", CASES)
def test_job_runs_on_install_and_every_upgrade_with_limits(helm, case):
    docs = render_case(helm, case)
    values = case_values(case)
    j = job(docs)
    hooks = j["metadata"]["annotations"]["helm.sh/hook"].split(",")
    assert {"post-install", "post-upgrade"} <= set(hooks)
    assert j["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation"
    spec = j["spec"]
    assert spec["activeDeadlineSeconds"] == values["init"]["activeDeadlineSeconds"]
    assert spec["backoffLimit"] == values["init"]["backoffLimit"]
    assert spec["ttlSecondsAfterFinished"] == values["init"]["ttlSecondsAfterFinished"]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert container(docs)["resources"] == values["init"]["resources"]


@pytest.mark.parametrize("case", CASES)
def test_job_runs_restricted(helm, case):
    docs = render_case(helm, case)
    pod = job(docs)["spec"]["template"]["spec"]
    c = container(docs)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert "add" not in sc["capabilities"]
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod.get("hostNetwork") is not True and pod.get("hostPID") is not True
    # The only writable path is an emptyDir for /tmp.
    writable = [m for m in c["volumeMounts"] if not m.get("readOnly")]
    assert [m["mountPath"] for m in writable] == ["/tmp"]
    assert "emptyDir" in volume(docs, "tmp")


def test_openshift_leaves_the_user_to_the_scc(helm):
    pod = job(render(helm, sets=["openshift=true"]))["spec"]["template"]["spec"]
    assert "runAsUser" not in pod["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    pod = job(render(helm))["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 65532


@pytest.mark.parametrize("case", CASES)
def test_job_reads_values_and_secrets_from_mounted_files(helm, case):
    docs = render_case(helm, case)
    c = container(docs)
    args = c["args"]
    assert args[0] == "run"
    assert arg_value(args, "-f") == [f"{VALUES_MOUNT}/values.yaml"]
    assert mount_path(docs, "values") == VALUES_MOUNT
    assert volume(docs, "values")["configMap"]["name"] == f"{FULLNAME}-values"
    assert arg_value(args, "--secrets-dir") == [SECRETS_MOUNT]
    assert mount_path(docs, "secrets") == SECRETS_MOUNT
    sources = volume(docs, "secrets")["projected"]["sources"]
    assert sources[0]["secret"]["name"] == f"{FULLNAME}-secrets"
    assert volume(docs, "secrets")["projected"]["defaultMode"] == 0o440


@pytest.mark.parametrize("case", CASES)
def test_secrets_never_reach_env_or_command_line(helm, case):
    docs = render_case(helm, case)
    values = case_values(case)
    secrets = inline_secrets(values)
    assert secrets or case == "everything-off.yaml"
    c = container(docs)
    assert "envFrom" not in c
    for e in c.get("env", []):
        assert "valueFrom" not in e, "no environment variable comes from a Secret"
    exposed = json.dumps({"env": c.get("env"), "args": c.get("args"), "command": c.get("command"),
                          "annotations": job(docs)["spec"]["template"]["metadata"].get("annotations")})
    for key, value in secrets.items():
        assert value not in exposed, f"the secret {key} is in the job's environment or arguments"
    # Nor anywhere else but in Secrets. (The steps ConfigMap is the project's steps/, compared
    # with it below; the admin's user name, often "admin", is checked by structure instead.)
    others = json.dumps([d for d in docs if d["kind"] != "Secret" and d["metadata"]["name"] != f"{FULLNAME}-steps"])
    for key, value in secrets.items():
        if not key.endswith(".username"):
            assert value not in others, f"the secret {key} is outside a Secret"


@pytest.mark.parametrize("case", CASES)
def test_secret_files_are_named_by_values_key(helm, case):
    docs = render_case(helm, case)
    values = case_values(case)
    secrets = inline_secrets(values)
    covered = set()
    if get_path(values, "console.credentials.existingSecret"):
        covered |= {"console.credentials.username", "console.credentials.password"}
    for s in get_path(values, "init.existingSecrets", []) or []:
        covered |= {i["path"] for i in s["items"]}
    own = secret_data(one(docs, "Secret", f"{FULLNAME}-secrets"))
    # The metrics user's name and password come from the metrics Secret (test_monitoring.py).
    expected = {k: v for k, v in secrets.items() if k not in covered and not k.startswith("monitoring.")}
    assert own == expected
    # Every file of the projected secrets directory, and where it comes from.
    files = {}
    for src in volume(docs, "secrets")["projected"]["sources"]:
        name = src["secret"]["name"]
        if "items" in src["secret"]:
            for item in src["secret"]["items"]:
                assert item["path"] not in files, f"two sources for {item['path']}"
                files[item["path"]] = name
        else:
            for k in one(docs, "Secret", name)["data"] or {}:
                assert k not in files, f"two sources for {k}"
                files[k] = name
    want = set(expected) | covered
    if get_path(values, "monitoring.enabled"):
        want |= {"monitoring.username", "monitoring.password"}
    assert set(files) == want


def leaf_paths(values, prefix=""):
    """Dotted paths of the leaves of a values tree (lists and empty maps are leaves)."""
    out = set()
    for k, v in values.items():
        path = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict) and v:
            out |= leaf_paths(v, path)
        else:
            out.add(path)
    return out


@pytest.mark.parametrize("case", CASES)
def test_mounted_values_hold_only_the_keys_the_job_reads(helm, case):
    """The values ConfigMap: every key docs/values.md documents (the job's), as the release has
    it, and nothing else: no secret, no key of the chart or the console chart."""
    docs = render_case(helm, case)
    mounted = yaml.safe_load(one(docs, "ConfigMap", f"{FULLNAME}-values")["data"]["values.yaml"])
    values = case_values(case)
    documented = set(job_defaults())
    for key in documented:
        have = get_path(values, key, default="<missing>")
        if key in SECRET_KEYS:
            assert get_path(mounted, key, default="<missing>") == "<missing>", f"the secret {key} is in the ConfigMap"
        elif key == "routes.inbound.console.hosts":
            continue  # rendered by the chart: test_console_route_host_reaches_the_job_rendered
        elif key in ("defender.namespace", "defender.consoleAddress") and not get_path(values, key, default=""):
            continue  # defaulted from the release: test_defender_labels_namespaces.py
        elif key == "console.additionalUsers":
            assert mounted["console"]["additionalUsers"] == [
                {k: v for k, v in u.items() if k != "password"} for u in have], key
        elif have != "<missing>":
            assert get_path(mounted, key, default="<missing>") == have, key
    for path in leaf_paths(mounted):
        assert path in documented or any(path.startswith(k + ".") for k in documented), \
            f"{path} is in the values ConfigMap but the job does not read it"
    for user in mounted["console"]["additionalUsers"]:
        assert "password" not in user
    assert "extraSteps" not in mounted["init"] and "existingSecrets" not in mounted["init"]


def test_values_configmap_keeps_no_secret_given_to_another_chart(helm):
    """The whole values file used to be mounted: a secret set for the console chart (or under a
    key nobody reads) appeared in the ConfigMap in plain text."""
    docs = render(helm, "bigbang.yaml", sets=["twistlock.defaultAdminPassword=Leaky-Pa55-1",
                                              "bbtests.scripts.envs.cypress_password=Leaky-Pa55-2",
                                              "console.credentials.password=Leaky-Pa55-3"])
    text = json.dumps([d for d in docs if d["kind"] == "ConfigMap"])
    for leak in ("Leaky-Pa55-1", "Leaky-Pa55-2", "Leaky-Pa55-3"):
        assert leak not in text
    mounted = yaml.safe_load(one(docs, "ConfigMap", f"{FULLNAME}-values")["data"]["values.yaml"])
    # An unknown top-level key is kept by name (the job warns about it), without its value.
    assert "twistlock" in mounted and mounted["twistlock"] is None
    assert "bbtests" not in mounted and "console.image" not in leaf_paths(mounted)
    assert secret_data(one(docs, "Secret", f"{FULLNAME}-secrets"))["console.credentials.password"] == "Leaky-Pa55-3"


def test_existing_secret_for_the_admin(helm):
    docs = render(helm, "everything-off.yaml")
    own = secret_data(one(docs, "Secret", f"{FULLNAME}-secrets"))
    assert "console.credentials.password" not in own and "console.credentials.username" not in own
    src = [s["secret"] for s in volume(docs, "secrets")["projected"]["sources"]
           if s["secret"]["name"] == "twistlock-admin"]
    assert src == [{"name": "twistlock-admin", "items": [
        {"key": "username", "path": "console.credentials.username"},
        {"key": "password", "path": "console.credentials.password"}]}]
    # An existing Secret wins over the same secret given inline: one source per file.
    docs = render(helm, "everything-off.yaml", sets=["console.credentials.password=inline-pw"])
    assert "console.credentials.password" not in secret_data(one(docs, "Secret", f"{FULLNAME}-secrets"))


def test_user_password_needs_a_file_name(helm):
    err = render_error(helm, sets=["console.additionalUsers[0].username=jane@example.test",
                                   "console.additionalUsers[0].password=pw",
                                   "console.additionalUsers[0].role=auditor"])
    assert "console.additionalUsers[0].username" in err
    assert "pw" not in err.replace("password", "")


def test_metrics_secret_of_its_own(helm):
    docs = render(helm, sets=["monitoring.enabled=true"])
    metrics = one(docs, "Secret", f"{FULLNAME}-metrics")
    assert metrics["type"] == "kubernetes.io/basic-auth"
    data = secret_data(metrics)
    assert data["username"] == "twistlock-metrics"
    assert re.fullmatch(r"[A-Za-z0-9]{32}", data["password"])  # generated when not given
    src = [s["secret"] for s in volume(docs, "secrets")["projected"]["sources"]
           if s["secret"]["name"] == f"{FULLNAME}-metrics"]
    assert src == [{"name": f"{FULLNAME}-metrics", "items": [{"key": "username", "path": "monitoring.username"},
                                                            {"key": "password", "path": "monitoring.password"}]}]
    docs = render(helm, sets=["monitoring.enabled=true", "monitoring.password=given-pw"])
    assert secret_data(one(docs, "Secret", f"{FULLNAME}-metrics"))["password"] == "given-pw"
    docs = render(helm, sets=["monitoring.enabled=true", "monitoring.existingSecret=mine"])
    assert not find(docs, "Secret", f"{FULLNAME}-metrics")
    assert any(s["secret"]["name"] == "mine" for s in volume(docs, "secrets")["projected"]["sources"])
    assert not find(render(helm), "Secret", f"{FULLNAME}-metrics")


@pytest.mark.parametrize("sets,url", [
    ([], f"http://twistlock-console.{NAMESPACE}.svc:8081"),
    (["console.service.scheme=https"], f"https://twistlock-console.{NAMESPACE}.svc:8083"),
    (["console.service.namespace=security", "console.ports.managementHttp=9081"],
     "http://twistlock-console.security.svc:9081"),
    (["console.service.url=https://console.example.test:443"], "https://console.example.test:443"),
])
def test_console_address(helm, sets, url):
    c = container(render(helm, sets=sets))
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["TWISTLOCK_CONSOLE_URL"] == url
    assert arg_value(c["args"], "--console-url") == ["$(TWISTLOCK_CONSOLE_URL)"]


def test_console_ca_is_a_mounted_file(helm):
    docs = render(helm, "everything-on.yaml")
    values = load_values("everything-on.yaml")
    cm = one(docs, "ConfigMap", f"{FULLNAME}-values")
    assert cm["data"]["console-ca.pem"].strip() == values["console"]["service"]["ca"].strip()
    assert arg_value(container(docs)["args"], "--ca-file") == [f"{VALUES_MOUNT}/console-ca.pem"]
    assert "--ca-file" not in container(render(helm))["args"]


def test_log_format_and_strict_flags(helm):
    args = container(render(helm, "everything-on.yaml"))["args"]
    assert arg_value(args, "--log-format") == ["json"] and "--strict" in args
    args = container(render(helm))["args"]
    assert "--log-format" not in args and "--strict" not in args


def test_old_job_values_work_unchanged(helm):
    docs = render(helm, "old-job.yaml")
    values = load_values("old-job.yaml")
    c = container(docs)
    # The old job's image cannot run this job: the chart's own image runs instead.
    assert c["image"] == "twistlock-init:0.1.0"
    assert c["resources"] == values["init"]["resources"]
    own = secret_data(one(docs, "Secret", f"{FULLNAME}-secrets"))
    assert own["console.credentials.username"] == "bbadmin"
    assert own["console.license"] == "OLD-LICENSE-KEY-42"
    assert own["console.additionalUsers.operator1.password"] == "operator1-Pa55"
    assert job(docs)["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "private-registry"}]
    notes = run_helm(helm, "install", RELEASE, str(CHART), "--dry-run=client", "-n", NAMESPACE,
                     "-f", str(ROOT / "Tests/chart/values/old-job.yaml"))[1]
    assert "old shell job's image" in notes
    assert f"kubectl -n {NAMESPACE} logs job/{FULLNAME}" in notes


def test_notes_tell_how_to_read_the_report(helm):
    code, out, err = run_helm(helm, "install", RELEASE, str(CHART), "--dry-run=client", "-n", NAMESPACE,
                              "--set", "console.credentials.password=x")
    assert code == 0, err
    notes = out.split("NOTES:", 1)[1]
    assert f"kubectl -n {NAMESPACE} logs job/{FULLNAME}" in notes
    assert "WARNING: no admin password" not in notes
    out = run_helm(helm, "install", RELEASE, str(CHART), "--dry-run=client", "-n", NAMESPACE)[1]
    assert "WARNING: no admin password" in out


# --------------------------------------------------------------------------------------------
# Steps


def repo_step_files():
    steps = ROOT / "steps"
    return {p.relative_to(steps).as_posix(): p.read_text() for p in steps.rglob("*.lua")
            if not p.relative_to(steps).as_posix().startswith("types/")}


def test_steps_configmap_is_the_project_steps(helm):
    docs = render(helm)
    cm = one(docs, "ConfigMap", f"{FULLNAME}-steps")
    items = volume(docs, "steps")["configMap"]["items"]
    mounted = {i["path"]: cm["data"][i["key"]] for i in items}
    assert set(cm["data"]) == {i["key"] for i in items}, "every key of the ConfigMap is mounted"
    want = repo_step_files()
    want["manifest.yaml"] = (ROOT / "steps" / "manifest.yaml").read_text()
    assert mounted == want
    assert mount_path(docs, "steps") == IMAGE_STEPS
    assert arg_value(container(docs)["args"], "--builtin-steps") == [IMAGE_STEPS]
    # Every step the manifest names is there.
    for step in yaml.safe_load(want["manifest.yaml"])["steps"]:
        assert step["file"] in mounted or not (ROOT / "steps" / step["file"]).exists()


def test_extra_steps_are_an_extra_steps_directory(helm):
    docs = render(helm, "everything-on.yaml")
    values = load_values("everything-on.yaml")
    cm = one(docs, "ConfigMap", f"{FULLNAME}-extra-steps")
    manifest = yaml.safe_load(cm["data"]["manifest.yaml"])
    given = values["init"]["extraSteps"]
    assert [s["name"] for s in manifest["steps"]] == [s["name"] for s in given]
    for entry, step in zip(manifest["steps"], given):
        assert entry["file"] == f"{step['name']}.lua"
        assert cm["data"][entry["file"]] == step["script"]
        for k in ("description", "when", "before", "after"):
            assert entry.get(k) == step.get(k)
    assert arg_value(container(docs)["args"], "--steps-dir") == [EXTRA_STEPS_MOUNT]
    assert mount_path(docs, "extra-steps") == EXTRA_STEPS_MOUNT
    assert volume(docs, "extra-steps")["configMap"]["name"] == f"{FULLNAME}-extra-steps"
    docs = render(helm)
    assert not find(docs, "ConfigMap", f"{FULLNAME}-extra-steps")
    assert "--steps-dir" not in container(docs)["args"]


@pytest.mark.parametrize("sets,message", [
    (["init.extraSteps[0].name=users", "init.extraSteps[0].script=x"], '"users" is already a step'),
    (["init.extraSteps[0].name=mine", "init.extraSteps[0].script=x", "init.extraSteps[0].after=nope"],
     'init.extraSteps[0].after: "nope" is not a step'),
    (["init.extraSteps[0].name=mine", "init.extraSteps[0].script=x",
      "init.extraSteps[1].name=mine", "init.extraSteps[1].script=y"], 'init.extraSteps[1].name "mine"'),
])
def test_extra_steps_are_checked(helm, sets, message):
    assert message in render_error(helm, sets=sets)


# --------------------------------------------------------------------------------------------
# ServiceAccount, RBAC


RBAC_KINDS = ["ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]


def test_no_identity_without_defenders(helm):
    docs = render(helm, "everything-off.yaml")
    for kind in RBAC_KINDS:
        assert not find(docs, kind), kind
    pod = job(docs)["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod


@pytest.mark.parametrize("case", [c for c in CASES if c != "everything-off.yaml"])
def test_least_rbac_for_the_defender_step(helm, case):
    docs = render_case(helm, case)
    values = case_values(case)
    sa = one(docs, "ServiceAccount")
    assert sa["automountServiceAccountToken"] is False
    pod = job(docs)["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == sa["metadata"]["name"]
    assert pod["automountServiceAccountToken"] is True
    role = one(docs, "Role")
    defender_ns = values["defender"]["namespace"] or NAMESPACE  # empty: the release namespace
    assert role["metadata"]["namespace"] == defender_ns
    objects = values["init"]["rbac"]["defenderObjects"]
    granted = {(r["apiGroups"][0], res): (tuple(r["resourceNames"]), tuple(r["verbs"]))
               for r in role["rules"] for res in r["resources"]}
    assert granted == {
        ("apps", "daemonsets"): ((objects["daemonSet"],), ("get", "create", "patch")),
        ("", "secrets"): ((objects["secret"],), ("get", "create", "patch")),
        ("", "serviceaccounts"): ((objects["serviceAccount"],), ("get", "create", "patch")),
        ("", "services"): ((objects["service"],), ("get", "create", "patch")),
    }
    cluster = one(docs, "ClusterRole")
    for rule in cluster["rules"]:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"] and "*" not in rule["apiGroups"]
        assert not {"escalate", "bind", "impersonate", "delete", "deletecollection", "update"} & set(rule["verbs"])
        assert "secrets" not in rule["resources"]
        if {"create", "patch"} & set(rule["verbs"]) or "namespaces" in rule["resources"] and rule["verbs"] == ["get"]:
            assert rule.get("resourceNames"), rule
    assert {"apiGroups": [""], "resources": ["namespaces"], "resourceNames": [defender_ns],
            "verbs": ["get"]} in cluster["rules"]
    for kind, ref_kind in (("RoleBinding", "Role"), ("ClusterRoleBinding", "ClusterRole")):
        binding = one(docs, kind)
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind,
                                      "name": one(docs, ref_kind)["metadata"]["name"]}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                                        "namespace": NAMESPACE}]


def test_cluster_rules_can_be_given(helm):
    docs = render(helm, sets=["init.rbac.clusterRules[0].apiGroups[0]=",
                              "init.rbac.clusterRules[0].resources[0]=nodes",
                              "init.rbac.clusterRules[0].verbs[0]=list"])
    rules = one(docs, "ClusterRole")["rules"]
    assert rules[-1] == {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}
    assert len(rules) == 4


# --------------------------------------------------------------------------------------------
# NetworkPolicy, Istio


def test_network_policy(helm):
    assert not find(render(helm), "NetworkPolicy")
    docs = render(helm, "everything-on.yaml")
    values = merged_values("everything-on.yaml")
    np = one(docs, "NetworkPolicy")
    pod_labels = job(docs)["spec"]["template"]["metadata"]["labels"]
    selector = np["spec"]["podSelector"]["matchLabels"]
    assert selector.items() <= pod_labels.items(), "the policy selects the job's pod"
    assert set(np["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert np["spec"]["ingress"] == []
    egress = np["spec"]["egress"]
    console = [r for r in egress if any("podSelector" in t and "namespaceSelector" not in t for t in r["to"])]
    assert console[0]["to"][0]["podSelector"]["matchLabels"] == {"name": "twistlock-console"}
    assert {p["port"] for p in console[0]["ports"]} == {8081, 8083}
    api = [r for r in egress if any("ipBlock" in t and t["ipBlock"]["cidr"] == values["networkPolicies"]["controlPlaneCidr"]
                                    for t in r["to"])]
    assert {p["port"] for p in api[0]["ports"]} == {443, 6443}
    istiod = [r for r in egress if any(t.get("podSelector", {}).get("matchLabels") == {"app": "istiod"} for t in r["to"])]
    assert istiod and istiod[0]["ports"] == [{"protocol": "TCP", "port": 15012}]
    assert values["networkPolicies"]["additionalEgress"][0] in egress
    # Without defenders there is no route to the Kubernetes API; without Istio none to istiod.
    docs = render(helm, sets=["networkPolicies.enabled=true", "defender.enabled=false"])
    egress = one(docs, "NetworkPolicy")["spec"]["egress"]
    assert not any("ipBlock" in t for r in egress for t in r["to"])
    assert not any(t.get("podSelector", {}).get("matchLabels") == {"app": "istiod"} for r in egress for t in r["to"])
    # A console in another namespace is reached through a namespace selector.
    docs = render(helm, sets=["networkPolicies.enabled=true", "console.service.namespace=security"])
    first = one(docs, "NetworkPolicy")["spec"]["egress"][0]["to"][0]
    assert first["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "security"}}


def test_istio_sidecar_annotations(helm):
    meta = job(render(helm, sets=["istio.enabled=true"]))["spec"]["template"]["metadata"]
    assert meta["labels"]["sidecar.istio.io/inject"] == "true"
    assert json.loads(meta["annotations"]["proxy.istio.io/config"]) == {"holdApplicationUntilProxyStarts": True}
    meta = job(render(helm))["spec"]["template"]["metadata"]
    assert meta["labels"]["sidecar.istio.io/inject"] == "false"
    assert "proxy.istio.io/config" not in (meta.get("annotations") or {})


# --------------------------------------------------------------------------------------------
# The chart's defaults are the job's


# Where the chart's default deliberately differs from the binary's built-in one.
CHART_OWN_DEFAULTS = {
    "console.credentials.username": "admin",  # the old chart's default admin name
    "init.resources": None,                   # the Job gets requests and limits
    "routes.inbound.console.hosts": None,     # the console chart's key (Big Bang); not set here
    "defender.namespace": "",                 # empty: the release namespace (the chart fills it in)
}


def job_defaults():
    """key -> default of every key docs/values.md documents (its tables: | `key` | type | `default` |)."""
    out = {}
    for line in (ROOT / "docs" / "values.md").read_text().splitlines():
        m = re.match(r"^\| `([a-zA-Z_][\w.]*)` \| [^|]+ \| `(.*)` \|", line)
        if m and "." in m.group(1) or m and m.group(1) in ("domain", "openshift", "imagePullSecretName", "podLabels"):
            out[m.group(1)] = json.loads(m.group(2))
    return out


def test_chart_defaults_are_the_jobs_defaults():
    """The chart mounts every key of its values.yaml, so its defaults override the binary's:
    they must be the same (docs/values.md lists the binary's)."""
    defaults = job_defaults()
    assert len(defaults) > 50, "docs/values.md's tables were not found"
    chart = chart_defaults()
    differ = {}
    for key, want in defaults.items():
        have = get_path(chart, key, default="<missing>")
        if key in CHART_OWN_DEFAULTS:
            if CHART_OWN_DEFAULTS[key] is not None:
                assert have == CHART_OWN_DEFAULTS[key], key
            continue
        if have != want:
            differ[key] = (have, want)
    assert not differ, f"chart default vs the job's: {differ}"


# --------------------------------------------------------------------------------------------
# Keys the old Big Bang job honoured


def test_console_route_host_reaches_the_job_rendered(helm):
    """routes.inbound.console.hosts: the chart renders {{ .Values.domain }} as the console chart
    does; the job adds the first host to the SANs (below console.externalHost, above domain)."""
    def mounted(*files, sets=()):
        docs = render(helm, *files, sets=sets)
        return yaml.safe_load(one(docs, "ConfigMap", f"{FULLNAME}-values")["data"]["values.yaml"])
    values = mounted("bigbang.yaml")
    assert values["routes"] == {"inbound": {"console": {"hosts": ["twistlock.dev.bigbang.mil"]}}}
    values = mounted(sets=["domain=example.mil", "routes.inbound.console.hosts[0]=prisma.{{ .Values.domain }}",
                           "routes.inbound.console.hosts[1]=second.example.mil"])
    assert values["routes"]["inbound"]["console"]["hosts"] == ["prisma.example.mil", "second.example.mil"]
    # The route's other keys are the console chart's: not in the job's values.
    assert "gateways" not in json.dumps(mounted("bigbang.yaml"))
    assert "routes" not in mounted()


@pytest.mark.parametrize("sets,want", [
    (["defender.nodeSelector.kubernetes\\.io/os=linux"], {"kubernetes.io/os": "linux"}),
    (["defender.nodeSelector=kubernetes.io/os=linux"], "kubernetes.io/os=linux"),
])
def test_defender_node_selector_as_a_map_or_a_string(helm, sets, want):
    """defender.nodeSelector: the Big Bang package's map form or the console's string; the job
    gets it as written (it sets a map on the Defender pods)."""
    docs = render(helm, sets=sets)
    mounted = yaml.safe_load(one(docs, "ConfigMap", f"{FULLNAME}-values")["data"]["values.yaml"])
    assert mounted["defender"]["nodeSelector"] == want
    assert "/defender/nodeSelector" in render_error(helm, sets=["defender.nodeSelector={a,b}"])
