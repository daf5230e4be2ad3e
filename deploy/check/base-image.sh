#!/usr/bin/env bash
# The base image of `make deploy-check`: no container registry is reachable, so Debian
# bookworm (Python 3.11, like python:3.11-slim) is bootstrapped from the Debian archive
# this machine's apt uses, and imported. Kept in podman's storage: built once per machine, or when this list changes.
# Usage: base-image.sh -> prints the image name.
set -euo pipefail

PACKAGES=python3,python3-venv,python3-pip,python-is-python3,ca-certificates,passwd
# The archive this machine's apt uses (debian-mirror.sh; DEBIAN_MIRROR overrides it).
MIRROR=$(bash "$(dirname "$0")/debian-mirror.sh")
tag=$(printf '%s' "$PACKAGES" | sha256sum | cut -c1-12)
image=localhost/tonypi-check/debian-python:bookworm-$tag

if podman image exists "$image"; then
    echo "$image"
    exit 0
fi

rootfs=$(mktemp -d /var/tmp/tonypi-check-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "deploy-check: bootstrapping $image (Debian bookworm, about 2 minutes)" >&2
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$rootfs" "$MIRROR" >&2
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" --numeric-owner -c . | podman import --change 'CMD ["python3"]' - "$image" >&2
echo "$image"
