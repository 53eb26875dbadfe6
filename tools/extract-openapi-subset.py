#!/usr/bin/env python3
"""Extract the part of the Prisma Cloud Compute 34.04 OpenAPI document that the console
simulator serves into Sources/ConsoleSimulator/Resources/openapi-34.04-subset.json.

The simulator decodes every request body by walking it against the request schema its path
declares here (Go-style: case-insensitive field names, unknown fields dropped, type
mismatches rejected), so the subset keeps, for each served operation, the request and
response schema references, and every component schema reachable from them (descriptions
dropped; everything else verbatim, including the document's nested `enum: [[...]]` form).

Usage: tools/extract-openapi-subset.py [OPENAPI_JSON] [OUTPUT_JSON]
Defaults: /work/shared/reference/prisma-cloud-compute-openapi-34.04.145.json and the resource
path above. The document is MIT licensed (Palo Alto Networks); its licence notice is kept
beside the output as Resources/LICENSE-openapi-spec.txt.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SRC = "/work/shared/reference/prisma-cloud-compute-openapi-34.04.145.json"
DEFAULT_OUT = os.path.join(HERE, "..", "Sources", "ConsoleSimulator", "Resources",
                           "openapi-34.04-subset.json")

# The operations the simulator serves (path below /api/<version>/, methods).
# Paths the document lacks (console-api.md marks them undocumented) are listed in
# UNDOCUMENTED with the schema console-api.md gives them.
OPERATIONS = {
    "_ping": ["get"],
    "signup": ["post"],
    "authenticate": ["post"],
    "settings/license": ["get", "post"],
    "settings/certs": ["get", "post"],
    "settings/saml": ["get", "post"],
    "settings/logging": ["get", "post"],
    "settings/telemetry": ["get", "post"],
    "settings/intelligence": ["get", "post"],
    "settings/scan": ["get", "post"],
    "settings/logon": ["get", "post"],
    "users": ["get", "post", "put"],
    "users/{id}": ["delete"],
    "groups": ["get", "post"],
    "groups/{id}": ["put", "delete"],
    "defenders/daemonset.yaml": ["post"],
    "version": ["get"],
    "policies/vulnerability/images": ["get", "put"],
    "policies/vulnerability/host": ["get", "put"],
    "policies/vulnerability/serverless": ["get", "put"],
    "policies/compliance/container": ["get", "put"],
    "policies/compliance/host": ["get", "put"],
    "policies/compliance/serverless": ["get", "put"],
    "policies/runtime/container": ["get", "put", "post"],
    "policies/runtime/host": ["get", "put", "post"],
    "policies/runtime/serverless": ["get", "put", "post"],
    "custom-rules": ["get"],
    "trust/data": ["get", "put"],
    "policies/firewall/network": ["get", "put"],
}

UNDOCUMENTED = {
    "settings/initialized": {"get": {"request": None, "response": None}},
    "static/vulnerabilities": {"get": {"request": None, "response": None}},
    "policies/vulnerability/vms": {"get": {"request": None, "response": "shared.Policy"},
                                   "put": {"request": "shared.Policy", "response": None}},
    "policies/compliance/vms": {"get": {"request": None, "response": "shared.Policy"},
                                "put": {"request": "shared.Policy", "response": None}},
}


def ref_name(schema):
    if isinstance(schema, dict) and "$ref" in schema:
        return schema["$ref"].split("/")[-1]
    return None


def strip(x):
    if isinstance(x, dict):
        # "description" annotations are text; a property named "description" is a schema.
        return {k: strip(v) for k, v in x.items()
                if not (k == "description" and isinstance(v, str))}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x


def refs(x, out):
    if isinstance(x, dict):
        for k, v in x.items():
            if k == "$ref":
                out.append(v.split("/")[-1])
            else:
                refs(v, out)
    elif isinstance(x, list):
        for v in x:
            refs(v, out)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SRC
    out = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_OUT
    doc = json.load(open(src))
    schemas = doc["components"]["schemas"]
    paths = doc["paths"]
    version = doc["info"]["version"]
    short = ".".join(version.split(".")[:2])

    operations = {}
    roots = []
    for path, methods in OPERATIONS.items():
        item = paths.get("/api/v%s/%s" % (short, path)) or paths.get("/api/v1/%s" % path)
        if item is None:
            sys.exit("path %s not in the document" % path)
        entry = {}
        for method in methods:
            op = item.get(method)
            if op is None:
                sys.exit("%s %s not in the document" % (method.upper(), path))
            req = None
            body = (op.get("requestBody") or {}).get("content", {}).get("application/json")
            if body:
                req = ref_name(body.get("schema"))
            resp = None
            ok = (op.get("responses") or {}).get("200") or {}
            content = (ok.get("content") or {}).get("application/json")
            if content:
                resp = ref_name(content.get("schema"))
            entry[method] = {"request": req, "response": resp}
            roots += [r for r in (req, resp) if r]
        operations[path] = entry
    for path, entry in UNDOCUMENTED.items():
        operations[path] = dict(entry, **{"x-undocumented": True})
        for op in entry.values():
            roots += [r for r in (op["request"], op["response"]) if r]

    # Closure of component schemas reachable from the operations.
    seen = {}
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        if name not in schemas:
            sys.exit("schema %s not in the document" % name)
        seen[name] = strip(schemas[name])
        found = []
        refs(schemas[name], found)
        stack += found

    result = {
        "source": "Prisma Cloud Compute API %s OpenAPI document (MIT licence, Palo Alto "
                  "Networks; see LICENSE-openapi-spec.txt); subset extracted by "
                  "tools/extract-openapi-subset.py" % version,
        "version": version,
        "operations": operations,
        "schemas": dict(sorted(seen.items())),
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %s: %d operations, %d schemas" % (out, len(operations), len(seen)))


if __name__ == "__main__":
    main()
