#!/usr/bin/env bash
# From a source tree to an installed release tree: dependencies for the build, compile, production
# dependencies only in the release. Used by Dockerfile.edge and by the install instructions in the README.
#   scripts/release-install.sh SRC_DIR OUT_DIR
set -euo pipefail
src=$(cd "${1:?usage: release-install.sh SRC_DIR OUT_DIR}" && pwd)
out=$(realpath -m "${2:?usage: release-install.sh SRC_DIR OUT_DIR}")
cd "$src"
npm ci --no-audit --no-fund --loglevel=error
bash scripts/build-release.sh "$out"
cd "$out"
npm ci --omit=dev --no-audit --no-fund --loglevel=error
