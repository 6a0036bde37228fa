#!/usr/bin/env bash
# Runs the steps of Dockerfile.edge without a Docker engine: copy exactly what the image copies into a
# scratch /opt-like folder, `npm ci --omit=dev`, start the agent as the ENTRYPOINT does with a minimal
# config, and run the HEALTHCHECK command against it. Needs: node 20, npm, g++/make/python3, ffmpeg.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
agent=
trap '[ -n "$agent" ] && kill "$agent" 2>/dev/null; rm -rf "$work"' EXIT
app="$work/opt/yiwang"
mkdir -p "$app" "$work/etc/yiwang" "$work/var/lib/yiwang"

# COPY lines of the build stage, in order.
# (every argument but the destination; --from=build copies are the runtime stage taking the result)
mapfile -t copies < <(grep -E '^COPY [^-]' "$repo/Dockerfile.edge" | awk '{ for (i = 2; i < NF; i++) print $i }')
for f in "${copies[@]}"; do
  [ -e "$repo/$f" ] || { echo "Dockerfile COPY source missing: $f" >&2; exit 1; }
  cp -r "$repo/$f" "$app/"
done
echo "copied: ${copies[*]}"
(cd "$app" && npm_config_nodedir=${npm_config_nodedir:-/usr} npm ci --omit=dev --no-audit --no-fund --loglevel=error)

admin_port=$(node -e "const s=require('net').createServer().listen(0,()=>{console.log(s.address().port);s.close()})")
cat > "$work/etc/yiwang/edge.yaml" <<YAML
edge: { id: docker-check }
site: { id: docker-check, type: other }
uplink: { url: "mqtt://127.0.0.1:1", password: x }
buffer: { dir: $work/var/lib/yiwang }
admin: { port: $admin_port }
devices: []
YAML
# ENTRYPOINT + CMD
(cd "$app" && YIWANG_EDGE_CONFIG="$work/etc/yiwang/edge.yaml" node "$app/bin/yiwang.js" edge --config "$work/etc/yiwang/edge.yaml" > "$work/agent.log" 2>&1) &
agent=$!
# HEALTHCHECK command, retried during the start period.
for i in $(seq 1 60); do
  if YIWANG_ADMIN_PORT=$admin_port node -e "fetch('http://127.0.0.1:'+(process.env.YIWANG_ADMIN_PORT||9180)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
    echo "healthcheck passed after ${i} tries"
    command -v ffmpeg >/dev/null && echo "ffmpeg: $(ffmpeg -version | head -1)"
    exit 0
  fi
  sleep 1
done
echo "healthcheck never passed; agent log:" >&2
cat "$work/agent.log" >&2
exit 1
