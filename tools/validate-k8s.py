#!/usr/bin/env python3
"""Validate every document of multi-document YAML files against Kubernetes' published
OpenAPI-derived JSON schemas (the kubernetes-validate package: pip install kubernetes-validate).

    tools/validate-k8s.py [--kubernetes-version 1.31] [--no-strict] FILE...

Strict by default: a field the schema does not know is an error (a misspelt field would be
dropped by the API server without a word). Empty documents are skipped.

Exit status: 0 all valid, 1 a document is invalid (each problem printed as
FILE: document N (Kind name): path: message), 2 usage or unreadable input, 3 the
kubernetes-validate package (or PyYAML) is not installed.
"""
import argparse
import sys

try:
    import yaml
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError, VersionNotSupportedError
except ImportError as e:  # pragma: no cover - depends on the environment
    print(f"validate-k8s: {e}; install it with: python3 -m pip install kubernetes-validate", file=sys.stderr)
    sys.exit(3)


def describe(doc):
    if not isinstance(doc, dict):
        return type(doc).__name__
    meta = doc.get("metadata") or {}
    name = meta.get("name", "?")
    ns = meta.get("namespace")
    return f"{doc.get('kind', '?')} {ns + '/' if ns else ''}{name}"


def path_of(error):
    parts = []
    for p in error.absolute_path:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts) or "(document)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--kubernetes-version", default="1.31",
                        help="Kubernetes version whose schemas to use (default 1.31)")
    parser.add_argument("--no-strict", action="store_true", help="allow fields the schema does not know")
    args = parser.parse_args()

    problems = 0
    checked = 0
    for name in args.files:
        try:
            with open(name, encoding="utf-8") as f:
                docs = list(yaml.safe_load_all(f))
        except OSError as e:
            print(f"{name}: {e}", file=sys.stderr)
            return 2
        except yaml.YAMLError as e:
            print(f"{name}: not YAML: {e}", file=sys.stderr)
            return 2
        for index, doc in enumerate(docs, start=1):
            if doc is None:
                continue
            label = f"{name}: document {index} ({describe(doc)})"
            if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
                print(f"{label}: not a Kubernetes object (apiVersion and kind required)")
                problems += 1
                continue
            try:
                kubernetes_validate.validate(doc, args.kubernetes_version, strict=not args.no_strict)
                checked += 1
            except ValidationError as e:
                print(f"{label}: {path_of(e)}: {e.message}")
                problems += 1
            except SchemaNotFoundError as e:
                print(f"{label}: {e.message}")
                problems += 1
            except VersionNotSupportedError as e:
                print(f"validate-k8s: {e.message}", file=sys.stderr)
                return 2
    if problems:
        print(f"validate-k8s: {problems} problem(s)", file=sys.stderr)
        return 1
    print(f"validate-k8s: {checked} document(s) valid (Kubernetes {args.kubernetes_version} schemas, "
          f"{'not ' if args.no_strict else ''}strict)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
