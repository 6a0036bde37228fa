#!/usr/bin/env bash
# Builds a release tree: the runtime code compiled to JavaScript in the source layout, the assets it reads
# next to it (protos, profiles, dashboard, examples), bin/ and the package files. Running compiled code
# instead of TypeScript through tsx saves ~30 MB per process on an edge box.
#   scripts/build-release.sh OUT_DIR   then   (cd OUT_DIR && npm ci --omit=dev)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:?usage: build-release.sh OUT_DIR}")
rm -rf "$out"
mkdir -p "$out"
cd "$repo"
npx tsc -p tsconfig.build.json --outDir "$out"
# Everything that is not TypeScript and that the code reads at run time, at the same relative paths.
find schema core edge collector protocols cli demo device-profiles examples -type f ! -name '*.ts' ! -path '*/testcases/*' -print0 \
  | xargs -0 cp --parents -t "$out"
cp -r bin package.json package-lock.json .npmrc "$out/"
echo "release tree in $out ($(find "$out" -name '*.js' | wc -l) modules)"
