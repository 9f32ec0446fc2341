#!/usr/bin/env bash
# Installs the Debian packages the tests need: redis-server (the node's Redis Streams tests
# start their own on a free loopback port; the packaged service is not used).
set -euo pipefail
if command -v redis-server >/dev/null; then
    echo "install-debian: $(redis-server --version | cut -d' ' -f1-3) already installed"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-debian: redis-server is missing and this is not root: apt-get install redis-server" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
echo "install-debian: $(redis-server --version | cut -d' ' -f1-3)"
