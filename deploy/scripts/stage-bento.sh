#!/usr/bin/env bash
# Stage a built Bento as the image build context: build/bento/ = the Bento + its models + .dockerignore.
# (A Bento directory in the BentoML store only references its models; `bentoml export` packs them
# into models/, which is what `bentoml containerize` does too.)
# usage: stage-bento.sh [BENTO_TAG=shapserve:latest] [OUT_DIR=build/bento]
# env:   BENTOML_HOME (default <repo>/.bentoml), BENTOML (bentoml CLI, default <repo>/.venv/bin/bentoml)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tag=${1:-shapserve:latest}
out=${2:-$root/build/bento}
bentoml=${BENTOML:-$root/.venv/bin/bentoml}
export BENTOML_HOME=${BENTOML_HOME:-$root/.bentoml} BENTOML_DO_NOT_TRACK=true
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$bentoml" export "$tag" "$tmp/bento.tar" >/dev/null
rm -rf "$out"; mkdir -p "$out"
tar -xf "$tmp/bento.tar" -C "$out"
cp "$root/.dockerignore" "$out/.dockerignore"
chmod -R a+rX,go-w "$out"   # BentoML creates model dirs 0700; the image runs as non-root
for f in bento.yaml env/python/requirements.txt src models; do
  [ -e "$out/$f" ] || { echo "stage-bento: $tag has no $f after export" >&2; exit 1; }
done
echo "$out"
