"""The shape of a ServiceMonitor (monitoring.coreos.com/v1, the Prometheus Operator's CRD), which
kubernetes-validate does not know: a JSON schema of the fields the chart renders, written for the
tests after the operator's API reference (ServiceMonitorSpec, Endpoint, BasicAuth,
SecretKeySelector, SafeTLSConfig, NamespaceSelector, LabelSelector; durations as its `Duration`
pattern). Every object is closed (`additionalProperties: false`), so a misspelt or misplaced field
fails. The metadata, and the selector's labels, are checked by kubernetes-validate on a ConfigMap
carrying them; names and label keys and values by Kubernetes' own rules.""" 

import re

import jsonschema
import kubernetes_validate

# The operator's Duration ("30s", "1h30m", "500ms"; units in this order).
DURATION = r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"


def _closed(properties, required=()):
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


SECRET_KEY_SELECTOR = _closed({
    "name": {"type": "string", "minLength": 1},
    "key": {"type": "string", "pattern": r"^[-._a-zA-Z0-9]+$"},
    "optional": {"type": "boolean"},
}, required=["key"])

CONFIGMAP_OR_SECRET = _closed({
    "configMap": SECRET_KEY_SELECTOR,
    "secret": SECRET_KEY_SELECTOR,
})

TLS_CONFIG = _closed({
    "ca": CONFIGMAP_OR_SECRET,
    "cert": CONFIGMAP_OR_SECRET,
    "keySecret": SECRET_KEY_SELECTOR,
    "caFile": {"type": "string"},
    "certFile": {"type": "string"},
    "keyFile": {"type": "string"},
    "serverName": {"type": "string"},
    "insecureSkipVerify": {"type": "boolean"},
    "minVersion": {"enum": ["TLS10", "TLS11", "TLS12", "TLS13"]},
    "maxVersion": {"enum": ["TLS10", "TLS11", "TLS12", "TLS13"]},
})

ENDPOINT = _closed({
    "port": {"type": "string", "minLength": 1},
    "targetPort": {"type": ["string", "integer"]},
    "path": {"type": "string", "pattern": "^/"},
    "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
    "interval": {"type": "string", "pattern": DURATION},
    "scrapeTimeout": {"type": "string", "pattern": DURATION},
    "basicAuth": _closed({"username": SECRET_KEY_SELECTOR, "password": SECRET_KEY_SELECTOR}),
    "tlsConfig": TLS_CONFIG,
    "honorLabels": {"type": "boolean"},
    "honorTimestamps": {"type": "boolean"},
})

SERVICE_MONITOR = _closed({
    "apiVersion": {"const": "monitoring.coreos.com/v1"},
    "kind": {"const": "ServiceMonitor"},
    "metadata": {"type": "object"},
    "spec": _closed({
        "jobLabel": {"type": "string"},
        "endpoints": {"type": "array", "minItems": 1, "items": ENDPOINT},
        "selector": _closed({
            "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
            "matchExpressions": {"type": "array"},
        }),
        "namespaceSelector": _closed({
            "any": {"type": "boolean"},
            "matchNames": {"type": "array", "items": {"type": "string", "minLength": 1}},
        }),
    }, required=["endpoints", "selector"]),
}, required=["apiVersion", "kind", "metadata", "spec"])


# Kubernetes' name and label rules (the API server's; the OpenAPI schemas do not carry them).
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?)$")


def check_labels(labels):
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)):
            raise ValueError(f"label key {key!r}: bad prefix")
        if len(name) > 63 or not LABEL_NAME.match(name):
            raise ValueError(f"label key {key!r}: bad name")
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            raise ValueError(f"label {key!r}: bad value {value!r}")


def validate(doc, version):
    """Raises when doc is not a ServiceMonitor of the shape above, or its metadata or selector
    labels are not valid Kubernetes."""
    jsonschema.validate(doc, SERVICE_MONITOR)
    carrier = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": doc["metadata"]}
    kubernetes_validate.validate(carrier, version, strict=True)
    name = doc["metadata"]["name"]
    if len(name) > 253 or not DNS_SUBDOMAIN.match(name):
        raise ValueError(f"metadata.name {name!r} is not a DNS subdomain")
    check_labels(doc["metadata"].get("labels") or {})
    check_labels(doc["spec"]["selector"].get("matchLabels") or {})
