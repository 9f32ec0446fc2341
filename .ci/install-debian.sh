#!/usr/bin/env bash
# Installs the Debian packages the tests need:
#   redis-server: the node's Redis Streams tests start their own on a free loopback port (the
#     packaged service is not used);
#   chromium: the browser verifier page's test (prover/tests/web_page.rs) drives it headless
#     through puppeteer-core (installed by install-node-tools.sh).
# Each package is skipped when its command is already present, so this is idempotent and cheap.
set -euo pipefail

missing=()
if command -v redis-server >/dev/null; then
    echo "install-debian: $(redis-server --version | cut -d' ' -f1-3) already installed"
else
    missing+=(redis-server)
fi
if command -v chromium >/dev/null; then
    echo "install-debian: $(chromium --version 2>/dev/null | head -1) already installed"
else
    missing+=(chromium)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-debian: ${missing[*]} missing and this is not root: apt-get install ${missing[*]}" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for pkg in "${missing[@]}"; do
    case "$pkg" in
        redis-server) echo "install-debian: $(redis-server --version | cut -d' ' -f1-3)" ;;
        chromium) echo "install-debian: $(chromium --version 2>/dev/null | head -1)" ;;
    esac
done
