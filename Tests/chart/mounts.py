"""Lays out a rendered Job's volumes on disk as the kubelet mounts them, for running the job's
binary on the chart's output: ConfigMap and Secret volumes are written the way Kubernetes'
atomic writer does (the files in a timestamped directory, `..data` linking to it, each
top-level entry a link through `..data`), so the binary reads them through the same links as in
a pod."""

import base64
import os
from pathlib import Path

# Stand-in content of a key of a Secret that exists outside the chart (existingSecret).
EXTERNAL = "value-of-an-existing-secret"


def write_volume(root, files):
    """files: relative path -> text. Writes them under root in the atomic writer's layout."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    data = root / "..2030_01_01_00_00_00.000000001"
    for rel, text in files.items():
        target = data / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    os.symlink(data.name, root / "..data")
    for top in sorted({rel.split("/", 1)[0] for rel in files}):
        os.symlink(f"..data/{top}", root / top)
    return root


def configmap_files(cm, items=None):
    data = cm.get("data") or {}
    if items is None:
        return dict(data)
    return {i["path"]: data[i["key"]] for i in items}


def secret_files(secret, items=None):
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    data.update(secret.get("stringData") or {})
    if items is None:
        return data
    return {i["path"]: data[i["key"]] for i in items}


def mount_job(docs, root):
    """Writes every ConfigMap, Secret and projected volume of the rendered Job under root (one
    directory per volume) and returns {mountPath: directory}."""
    root = Path(root)
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    job = next(d for d in docs if d["kind"] == "Job")
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    out = {}
    for vol in pod["volumes"]:
        files = None
        if "configMap" in vol:
            cm = by_name[("ConfigMap", vol["configMap"]["name"])]
            files = configmap_files(cm, vol["configMap"].get("items"))
        elif "secret" in vol:
            files = secret_files(by_name[("Secret", vol["secret"]["secretName"])], vol["secret"].get("items"))
        elif "projected" in vol:
            files = {}
            for src in vol["projected"]["sources"]:
                s = src["secret"]
                secret = by_name.get(("Secret", s["name"]))
                if secret is None:  # an existing Secret: stand-in values for its keys
                    secret = {"data": {i["key"]: base64.b64encode(EXTERNAL.encode()).decode() for i in s["items"]}}
                for path, text in secret_files(secret, s.get("items")).items():
                    assert path not in files, f"two sources for {path}"
                    files[path] = text
        if files is None:
            continue  # emptyDir
        directory = write_volume(root / vol["name"], files)
        out[mounts[vol["name"]]] = directory
    return out
