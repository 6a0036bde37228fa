#!/usr/bin/env bash
# bench:edge with the edge child run the way Dockerfile.edge and the systemd unit run the agent: compiled
# JavaScript, node --optimize-for-size --max-semi-space-size=1, MALLOC_MMAP_THRESHOLD_=131072.
# Extra arguments go to bench/edge.ts (e.g. --only d, --quick).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$repo"
npx tsc -p tsconfig.json --noEmit false --outDir "$out" >/dev/null
find schema core edge collector protocols cli demo device-profiles examples -type f ! -name '*.ts' -print0 | xargs -0 cp --parents -t "$out"
ln -s "$repo/node_modules" "$out/node_modules"
cp package.json "$out/"
flags=$(sed -n 's/^ENTRYPOINT \["tini", "--", "node", \(.*\), "\/opt\/yiwang\/bin\/yiwang.js".*/\1/p' Dockerfile.edge | tr -d '",')
env=$(sed -n '/^ENV NODE_ENV/,/[^\\]$/p' Dockerfile.edge | grep -o 'MALLOC_[A-Z_]*=[0-9]*' | paste -sd, -)
echo "edge child: compiled JS, node flags [$flags], env [$env]"
npx tsx bench/edge.ts --edge-js "$out" --edge-env "$env" --edge-node-args "$flags" "$@"
