"""The monitoring keys the old Big Bang job honoured, rendered: the metrics user's default name
(bigbang-metrics-sa for Big Bang values), the ServiceMonitor of monitoring.serviceMonitor.*
reading the metrics Secret, monitoring.existingSecret with its key names (for the job's secret
files and the ServiceMonitor alike), and bad values refused naming the key."""

import json
import re

import kubernetes_validate
import pytest
import yaml

import servicemonitor
from conftest import (
    CHART, FULLNAME, NAMESPACE, find, one, render, render_error, secret_data, volume,
)

ON = ["monitoring.enabled=true"]
LATEST = kubernetes_validate.utils.latest_version()


def metrics_source(docs):
    """The projected source of the job's secrets directory that gives monitoring.* files."""
    found = [s["secret"] for s in volume(docs, "secrets")["projected"]["sources"]
             if any(i["path"].startswith("monitoring.") for i in s["secret"].get("items", []))]
    assert len(found) == 1, found
    return found[0]


def username(docs):
    return secret_data(one(docs, "Secret", f"{FULLNAME}-metrics"))["username"]


def markers():
    text = (CHART / "templates" / "_job-keys.tpl").read_text()
    body = text.split('{{- define "twistlock-init.bigBangMarkers" -}}')[1].split("{{- end -}}")[0]
    return json.loads(body)


# --------------------------------------------------------------------------------------------
# The ServiceMonitor


def test_service_monitor_as_the_old_chart_created_it(helm):
    docs = render(helm, sets=ON)
    sm = one(docs, "ServiceMonitor", FULLNAME)
    servicemonitor.validate(sm, LATEST)
    assert sm["metadata"]["namespace"] == NAMESPACE
    assert sm["metadata"]["labels"]["app.kubernetes.io/component"] == "monitoring"
    spec = sm["spec"]
    assert spec["selector"] == {"matchLabels": {"app.kubernetes.io/name": "twistlock-console"}}
    assert spec["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert spec["endpoints"] == [{
        "port": "http-mgmt-http", "path": "/api/v1/metrics",
        "basicAuth": {"username": {"name": f"{FULLNAME}-metrics", "key": "username"},
                      "password": {"name": f"{FULLNAME}-metrics", "key": "password"}},
    }]
    # The Secret it reads is the one the job's secret files come from.
    assert metrics_source(docs) == {"name": f"{FULLNAME}-metrics", "items": [
        {"key": "username", "path": "monitoring.username"}, {"key": "password", "path": "monitoring.password"}]}


def test_service_monitor_keys(helm):
    """Every key of monitoring.serviceMonitor, in the Big Bang umbrella's Istio (mTLS) form."""
    docs = render(helm, sets=ON + [
        "monitoring.serviceMonitor.scheme=https", "monitoring.serviceMonitor.interval=1h30m",
        "monitoring.serviceMonitor.scrapeTimeout=500ms", "monitoring.serviceMonitor.port=mgmt",
        "monitoring.serviceMonitor.labels.release=monitoring",
        "monitoring.serviceMonitor.labels.app\\.kubernetes\\.io/name=not-the-charts",
        "monitoring.serviceMonitor.selector.name=console",
        "monitoring.serviceMonitor.tlsConfig.caFile=/etc/prom-certs/root-cert.pem",
        "monitoring.serviceMonitor.tlsConfig.insecureSkipVerify=true",
        "console.service.namespace=security", "console.service.name=prisma-console",
    ])
    sm = one(docs, "ServiceMonitor", FULLNAME)
    servicemonitor.validate(sm, LATEST)
    labels = sm["metadata"]["labels"]
    assert labels["release"] == "monitoring"
    assert labels["app.kubernetes.io/name"] == "twistlock-init", "the chart's own labels win"
    spec = sm["spec"]
    assert spec["selector"] == {"matchLabels": {"name": "console"}}
    assert spec["namespaceSelector"] == {"matchNames": ["security"]}
    (endpoint,) = spec["endpoints"]
    assert endpoint["port"] == "mgmt" and endpoint["scheme"] == "https"
    assert endpoint["interval"] == "1h30m" and endpoint["scrapeTimeout"] == "500ms"
    assert endpoint["tlsConfig"] == {"caFile": "/etc/prom-certs/root-cert.pem", "insecureSkipVerify": True}
    # Without a selector, the console Service's name selects it.
    sm = one(render(helm, sets=ON + ["console.service.name=prisma-console"]), "ServiceMonitor")
    assert sm["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "prisma-console"}


@pytest.mark.parametrize("sets", [
    [],                                                  # monitoring off
    ON + ["monitoring.serviceMonitor.enabled=false"],    # no Prometheus Operator
    ON + ["init.enabled=false"],                         # nothing without the job
])
def test_no_service_monitor(helm, sets):
    docs = render(helm, sets=sets)
    assert not find(docs, "ServiceMonitor")
    if "monitoring.serviceMonitor.enabled=false" in sets:
        assert username(docs) == "twistlock-metrics", "the metrics user and its Secret stay"


def test_the_service_monitor_shape_check_can_fail():
    """servicemonitor.validate refuses what a cluster would: a misplaced field, a bad duration,
    a basicAuth without its key, a label value Kubernetes refuses."""
    good = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "x"},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "endpoints": [
                {"port": "p", "interval": "30s", "basicAuth": {"username": {"name": "s", "key": "u"},
                                                               "password": {"name": "s", "key": "p"}}}]}}
    servicemonitor.validate(good, LATEST)
    bad = [
        lambda d: d["spec"]["endpoints"][0].update(intervall="30s"),
        lambda d: d["spec"]["endpoints"][0].update(interval="30"),
        lambda d: d["spec"]["endpoints"][0]["basicAuth"]["password"].pop("key"),
        lambda d: d["spec"].update(tlsConfig={}),
        lambda d: d["spec"]["selector"]["matchLabels"].update(a="not a label value"),
        lambda d: d["metadata"].update(name="Not_A_Name"),
    ]
    for spoil in bad:
        doc = json.loads(json.dumps(good))
        spoil(doc)
        with pytest.raises(Exception):
            servicemonitor.validate(doc, LATEST)


# --------------------------------------------------------------------------------------------
# The metrics user's name


def test_default_name_is_the_old_jobs_for_big_bang_values(helm):
    assert username(render(helm, "bigbang.yaml", sets=ON)) == "bigbang-metrics-sa"
    assert username(render(helm, "old-job.yaml")) == "bigbang-metrics-sa"
    # This chart's own defaults set no Big Bang-only key.
    assert username(render(helm, sets=ON)) == "twistlock-metrics"
    assert username(render(helm, sets=ON + ["domain=example.mil", "istio.enabled=true",
                                            "routes.inbound.console.hosts[0]=a.example.mil"])) == "twistlock-metrics"
    # An explicit name always wins.
    assert username(render(helm, "bigbang.yaml", sets=ON + ["monitoring.username=twistlock-metrics"])) == "twistlock-metrics"
    assert username(render(helm, sets=ON + ["monitoring.username=bigbang-metrics-sa"])) == "bigbang-metrics-sa"
    assert username(render(helm, "everything-on.yaml")) == "metrics"
    # The name reaches the job only as a secret file, not in the values ConfigMap.
    for docs in (render(helm, "bigbang.yaml", sets=ON), render(helm, "everything-on.yaml")):
        mounted = yaml.safe_load(one(docs, "ConfigMap", f"{FULLNAME}-values")["data"]["values.yaml"])
        assert "username" not in mounted["monitoring"]


def test_every_big_bang_only_key_makes_the_default_the_old_jobs(helm, tmp_path):
    """Each key of the generated list (the job's rule) is seen by the chart, alone, at any depth."""
    found = markers()
    assert ["bbtests"] in found and ["routes", "inbound", "console", "gateways"] in found
    assert ["networkPolicies"] not in found and ["monitoring", "serviceMonitor"] not in found
    for path in found:
        tree = {}
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = {}
        f = tmp_path / "marker.yaml"
        f.write_text(yaml.safe_dump(tree))
        assert username(render(helm, f, sets=ON)) == "bigbang-metrics-sa", path


# --------------------------------------------------------------------------------------------
# monitoring.existingSecret and its keys


def test_existing_secret_names_its_keys(helm):
    docs = render(helm, sets=ON + ["monitoring.existingSecret=prom-creds", "monitoring.usernameKey=user",
                                   "monitoring.passwordKey=pass.word"])
    assert not find(docs, "Secret", f"{FULLNAME}-metrics")
    assert metrics_source(docs) == {"name": "prom-creds", "items": [
        {"key": "user", "path": "monitoring.username"}, {"key": "pass.word", "path": "monitoring.password"}]}
    auth = one(docs, "ServiceMonitor")["spec"]["endpoints"][0]["basicAuth"]
    assert auth == {"username": {"name": "prom-creds", "key": "user"}, "password": {"name": "prom-creds", "key": "pass.word"}}
    servicemonitor.validate(one(docs, "ServiceMonitor"), LATEST)
    # The default key names.
    docs = render(helm, sets=ON + ["monitoring.existingSecret=prom-creds"])
    assert [i["key"] for i in metrics_source(docs)["items"]] == ["username", "password"]


@pytest.mark.parametrize("setting,key", [
    ("monitoring.usernameKey=", "/monitoring/usernameKey"),
    ("monitoring.usernameKey=a/b", "/monitoring/usernameKey"),
    ("monitoring.usernameKey=..", "/monitoring/usernameKey"),
    ("monitoring.passwordKey=pass word", "/monitoring/passwordKey"),
    ("monitoring.passwordKey=pässwort", "/monitoring/passwordKey"),
    ("monitoring.passwordKey=..hidden", "/monitoring/passwordKey"),
    ("monitoring.existingSecret=Prom_Creds", "/monitoring/existingSecret"),
    ("monitoring.existingSecret=-creds", "/monitoring/existingSecret"),
    ("monitoring.serviceMonitor.interval=30", "/monitoring/serviceMonitor/interval"),
    ("monitoring.serviceMonitor.interval=1.5m", "/monitoring/serviceMonitor/interval"),
    ("monitoring.serviceMonitor.interval=30s ", "/monitoring/serviceMonitor/interval"),
    ("monitoring.serviceMonitor.interval=thirty seconds", "/monitoring/serviceMonitor/interval"),
    ("monitoring.serviceMonitor.interval=30m1h", "/monitoring/serviceMonitor/interval"),
    ("monitoring.serviceMonitor.scrapeTimeout=-10s", "/monitoring/serviceMonitor/scrapeTimeout"),
    ("monitoring.serviceMonitor.scrapeTimeout=10S", "/monitoring/serviceMonitor/scrapeTimeout"),
    ("monitoring.serviceMonitor.scheme=ftp", "/monitoring/serviceMonitor/scheme"),
    ("monitoring.serviceMonitor.scheme=HTTPS", "/monitoring/serviceMonitor/scheme"),
    ("monitoring.serviceMonitor.enabled=yes", "/monitoring/serviceMonitor/enabled"),
    ("monitoring.serviceMonitor.port=", "/monitoring/serviceMonitor/port"),
    ("monitoring.serviceMonitor.labels.release=1", "/monitoring/serviceMonitor/labels/release"),
    ("monitoring.serviceMonitor.selector.app=true", "/monitoring/serviceMonitor/selector/app"),
    ("monitoring.serviceMonitor.tlsConfig=insecure", "/monitoring/serviceMonitor/tlsConfig"),
    ("monitoring.serviceMonitor.intervall=30s", "/monitoring/serviceMonitor"),
    ("monitoring.usernameKy=u", "/monitoring"),
])
def test_bad_monitoring_values_are_refused_naming_the_key(helm, setting, key):
    err = render_error(helm, sets=ON + [setting])
    assert key in err, err


@pytest.mark.parametrize("sets,says", [
    (["monitoring.existingSecret=prom-creds", "monitoring.username=prom"], "leave monitoring.username and monitoring.password empty"),
    (["monitoring.existingSecret=prom-creds", "monitoring.password=Inline-Pa55-word"], "leave monitoring.username and monitoring.password empty"),
    (["monitoring.existingSecret=prom-creds", "monitoring.usernameKey=k", "monitoring.passwordKey=k"],
     "monitoring.usernameKey and monitoring.passwordKey: both name the key \"k\""),
    (["monitoring.existingSecret=prom-creds", "monitoring.usernameKey=null"], "monitoring.usernameKey: required with monitoring.existingSecret"),
])
def test_existing_secret_conflicts_are_refused(helm, sets, says):
    err = render_error(helm, sets=ON + sets)
    assert says in err, err
    assert "Inline-Pa55-word" not in err


def test_metrics_credentials_stay_in_secrets(helm):
    """The password given inline is in the metrics Secret only: not in the ServiceMonitor, the
    values ConfigMap, the job's environment or arguments; the ServiceMonitor names the Secret."""
    docs = render(helm, "bigbang.yaml", sets=ON + ["monitoring.password=Metr1cs-Inline-Pa55"])
    assert secret_data(one(docs, "Secret", f"{FULLNAME}-metrics"))["password"] == "Metr1cs-Inline-Pa55"
    others = json.dumps([d for d in docs if d["kind"] != "Secret"])
    assert "Metr1cs-Inline-Pa55" not in others
    assert "Metr1cs-Inline-Pa55" not in json.dumps(secret_data(one(docs, "Secret", f"{FULLNAME}-secrets")))
    # A generated password is kept in the Secret alone, too.
    docs = render(helm, sets=ON)
    generated = secret_data(one(docs, "Secret", f"{FULLNAME}-metrics"))["password"]
    assert re.fullmatch(r"[A-Za-z0-9]{32}", generated)
    assert generated not in json.dumps([d for d in docs if d["kind"] != "Secret"])
