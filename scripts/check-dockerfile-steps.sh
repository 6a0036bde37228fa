#!/usr/bin/env bash
# Runs the steps of Dockerfile.edge without a Docker engine: the build stage's RUN (release-install.sh on a
# copy of the tree as COPY . /src makes it, minus .dockerignore), then the runtime stage's ENV, ENTRYPOINT + CMD
# with a minimal config, and its HEALTHCHECK command. Needs node 20, npm, g++/make/python3.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
agent=
trap '[ -n "$agent" ] && kill "$agent" 2>/dev/null; rm -rf "$work"' EXIT

grep -q '^RUN bash /src/scripts/release-install.sh /src /opt/yiwang$' "$repo/Dockerfile.edge" || { echo "Dockerfile.edge no longer runs release-install.sh as this check assumes" >&2; exit 1; }
# COPY . /src, honouring .dockerignore (top-level names)
mkdir -p "$work/src"
(cd "$repo" && git ls-files -co --exclude-standard -z | grep -zvE "^($(paste -sd'|' .dockerignore | sed 's/\*\./.*\\./g'))(/|$)" | xargs -0 cp --parents -t "$work/src")
npm_config_nodedir=${npm_config_nodedir:-/usr} bash "$work/src/scripts/release-install.sh" "$work/src" "$work/opt/yiwang"

# The runtime stage's ENV, as the container sees it.
eval "$(sed -n '/^ENV NODE_ENV/,/[^\\]$/p' "$repo/Dockerfile.edge" | sed 's/^ENV //; s/\\$//' | tr -s ' \n' '\n' | grep = | sed 's/^/export /')"
mkdir -p "$work/etc/yiwang" "$work/var/lib/yiwang"
admin_port=$(node -e "const s=require('net').createServer().listen(0,()=>{console.log(s.address().port);s.close()})")
cat > "$work/etc/yiwang/edge.yaml" <<YAML
edge: { id: docker-check }
site: { id: docker-check, type: other }
uplink: { url: "mqtt://127.0.0.1:1", password: x }
buffer: { dir: $work/var/lib/yiwang }
admin: { port: $admin_port }
devices:
  - { id: DC-WL-1, profile: radar-level-modbus, connection: { host: 127.0.0.1, port: 1, unitId: 1 } }
YAML
# ENTRYPOINT (its node flags, without tini) + CMD
node_flags=$(sed -n 's/^ENTRYPOINT \["tini", "--", "node", \(.*\), "\/opt\/yiwang\/bin\/yiwang.js".*/\1/p' "$repo/Dockerfile.edge" | tr -d '",')
[ -n "$node_flags" ] || { echo "could not read the node flags of ENTRYPOINT" >&2; exit 1; }
# shellcheck disable=SC2086
node $node_flags "$work/opt/yiwang/bin/yiwang.js" edge --config "$work/etc/yiwang/edge.yaml" > "$work/agent.log" 2>&1 &
agent=$!
for i in $(seq 1 60); do
  if YIWANG_ADMIN_PORT=$admin_port node -e "fetch('http://127.0.0.1:'+(process.env.YIWANG_ADMIN_PORT||9180)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
    rss=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$agent/status")
    echo "healthcheck passed after ${i} tries; agent runs compiled code: $(test -f "$work/opt/yiwang/cli/main.js" && echo yes); RSS ${rss} MB"
    command -v ffmpeg >/dev/null && echo "ffmpeg: $(ffmpeg -version | head -1)"
    exit 0
  fi
  sleep 1
done
echo "healthcheck never passed; agent log:" >&2
cat "$work/agent.log" >&2
exit 1
