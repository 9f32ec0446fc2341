#!/usr/bin/env bash
# Installs the Node tools that the cross-checks use (verifier and prover tests):
#   solc (solc-js) compiles the exported Solidity verifier, which the tests then run in revm;
#   snarkjs checks our snarkjs JSON export, reads our .r1cs export and runs the ceremony whose
#   .zkey we import;
#   poseidon-lite (circomlib's Poseidon in plain JavaScript) cross-checks our Poseidon sponge;
#   puppeteer-core drives Debian's chromium (installed by install-debian.sh) in the browser
#   verifier page's test (web/tests/page.test.mjs); snarkjs's browser build is what
#   web/vendor.sh vendors into web/vendor/.
# They go to $REPO/.ci/node (git-ignored); the Rust tests look there, or in $ZKINFER_NODE_TOOLS.
# Idempotent: when the pinned versions are already installed it only checks and exits.
set -euo pipefail

SOLC_VERSION="0.8.37"
SNARKJS_VERSION="0.7.6"
POSEIDON_LITE_VERSION="0.3.0"
# 24.x: the last line that runs on Node 18/20 (25.x needs Node >= 22.12; Debian 12 ships 18).
PUPPETEER_CORE_VERSION="24.43.1"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${ZKINFER_NODE_TOOLS:-$repo/.ci/node}"

if ! command -v npm >/dev/null 2>&1; then
    echo "install-node-tools: npm not found; install Node.js (>= 18) first" >&2
    exit 1
fi

installed_version() {
    # Prints the version of an installed package, or nothing.
    local pkg="$1" f="$dest/node_modules/$1/package.json"
    [ -f "$f" ] && node -e 'process.stdout.write(require(process.argv[1]).version)' "$f" 2>/dev/null || true
}

if [ "$(installed_version solc)" = "$SOLC_VERSION" ] && [ "$(installed_version snarkjs)" = "$SNARKJS_VERSION" ] \
    && [ "$(installed_version poseidon-lite)" = "$POSEIDON_LITE_VERSION" ] \
    && [ "$(installed_version puppeteer-core)" = "$PUPPETEER_CORE_VERSION" ]; then
    echo "install-node-tools: solc $SOLC_VERSION, snarkjs $SNARKJS_VERSION, poseidon-lite $POSEIDON_LITE_VERSION" \
        "and puppeteer-core $PUPPETEER_CORE_VERSION already in $dest"
    exit 0
fi

mkdir -p "$dest"
# A package.json of our own keeps npm from walking up into the repository.
[ -f "$dest/package.json" ] || echo '{"name":"zkinfer-node-tools","private":true}' > "$dest/package.json"
npm install --prefix "$dest" --no-audit --no-fund --loglevel=error \
    "solc@$SOLC_VERSION" "snarkjs@$SNARKJS_VERSION" "poseidon-lite@$POSEIDON_LITE_VERSION" \
    "puppeteer-core@$PUPPETEER_CORE_VERSION"
echo "install-node-tools: installed solc $(installed_version solc), snarkjs $(installed_version snarkjs)," \
    "poseidon-lite $(installed_version poseidon-lite), puppeteer-core $(installed_version puppeteer-core) in $dest"
