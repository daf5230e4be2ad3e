#!/usr/bin/env bash
# Can `make deploy-check` run on this machine? Exit 0 if so; otherwise print the one-line
# reason and exit 1. .ci/run asks before running the check, and skips it with the reason.
# The check needs root (a network namespace; podman as root), `ip` (iproute2), and
# Debian's archive: podman, runc and debootstrap come from it, and so do the base and
# stand-in images the first time.
set -uo pipefail
here=$(dirname "$0")

why_not() { echo "$*"; exit 1; }

[ "$(id -u)" = 0 ] || why_not "needs root (a network namespace, and podman as root)"
command -v apt-get >/dev/null || why_not "needs Debian's apt-get (podman, runc and debootstrap come from Debian)"
command -v ip >/dev/null || why_not "needs ip (iproute2) for the network namespace"
command -v python3 >/dev/null || why_not "needs python3"
# The archive this machine's apt uses (debian-mirror.sh; DEBIAN_MIRROR overrides it).
MIRROR=$(bash "$here/debian-mirror.sh" 2>&1) || why_not "$MIRROR"
python3 - "$MIRROR/dists/bookworm/Release" 2>/dev/null <<'PY' || why_not "Debian's archive ($MIRROR) is not reachable"
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="HEAD"), timeout=20).close()
PY
exit 0
