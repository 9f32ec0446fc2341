#!/usr/bin/env bash
# Vendors snarkjs's browser build into web/vendor/, so the page needs no build step to use:
# copies build/snarkjs.min.js from the snarkjs npm package that .ci/install-node-tools.sh
# installs (in $ZKINFER_NODE_TOOLS or .ci/node) and writes its version and SHA-256 beside it.
# web/tests/vendor.test.mjs checks that the committed copy is byte for byte that file.
#
#   bash .ci/install-node-tools.sh && bash web/vendor.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${ZKINFER_NODE_TOOLS:-$repo/.ci/node}"
pkg="$tools/node_modules/snarkjs"
src="$pkg/build/snarkjs.min.js"
dest="$repo/web/vendor"

if [ ! -f "$src" ]; then
    echo "vendor.sh: $src not found; run bash .ci/install-node-tools.sh (or set ZKINFER_NODE_TOOLS)" >&2
    exit 1
fi
version="$(node -e 'process.stdout.write(require(process.argv[1]).version)' "$pkg/package.json")"
mkdir -p "$dest"
cp "$src" "$dest/snarkjs.min.js"
sha="$(sha256sum "$dest/snarkjs.min.js" | cut -d' ' -f1)"
cat > "$dest/snarkjs.version.json" <<JSON
{
  "package": "snarkjs",
  "version": "$version",
  "file": "build/snarkjs.min.js",
  "sha256": "$sha",
  "license": "GPL-3.0 (snarkjs); see https://github.com/iden3/snarkjs"
}
JSON
echo "vendor.sh: snarkjs $version build/snarkjs.min.js -> web/vendor/snarkjs.min.js (sha256 $sha)"
