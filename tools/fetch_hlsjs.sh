#!/usr/bin/env bash
# Refresh the vendored hls.js player library from the npm registry (pinned version).
# It is committed under sprocket_cli/output/static/ so that `pip install .` and the player page
# work offline, with no npm on the user's machine and no CDN at play time.
set -euo pipefail
VERSION="${1:-1.7.4}"
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "hls.js@${VERSION}" >/dev/null && tar xzf hls.js-*.tgz)
cp "$tmp/package/dist/hls.min.js" sprocket_cli/output/static/hls.min.js
cp "$tmp/package/LICENSE" sprocket_cli/output/static/hls.js.LICENSE
echo "hls.js ${VERSION}" > sprocket_cli/output/static/hls.js.VERSION
ls -l sprocket_cli/output/static/
