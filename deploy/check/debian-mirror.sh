#!/usr/bin/env bash
# Prints the Debian archive this machine's apt uses, for debootstrap (base-image.sh) and the
# preflight's reachability check: apt itself reads its sources (/etc/apt/sources.list,
# /etc/apt/sources.list.d/*.list and *.sources), so no host is written in this repository.
# DEBIAN_MIRROR overrides it. Exit 1 with the reason on stderr when apt names no Debian
# release archive (a `main` component of a suite that is not -security/-updates/-backports).
set -euo pipefail
if [ -n "${DEBIAN_MIRROR:-}" ]; then
    echo "${DEBIAN_MIRROR%/}"
    exit 0
fi
command -v apt-get >/dev/null || { echo "no apt-get here to name a Debian archive: set DEBIAN_MIRROR" >&2; exit 1; }
# shellcheck disable=SC2016  # $(...) is apt's format syntax, not the shell's
mirror=$(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' \
    'Identifier: Packages' 'Component: main' 'Target-Of: deb' 2>/dev/null | awk '$1 !~ /-/ {print $2; exit}')
[ -n "$mirror" ] || { echo "apt's sources name no Debian release archive: set DEBIAN_MIRROR" >&2; exit 1; }
echo "${mirror%/}"
