#!/bin/sh
# A stand-in for the pinned base image, for building where no container registry can be reached
# (the official python image cannot be pulled) but Debian's packages can: a minimal Debian 12
# (bookworm) root made by debootstrap with Debian's Python 3.11, imported as
# localhost/bookworm-python311:local. Build with it:
#   podman build --build-arg PYTHON_IMAGE=localhost/bookworm-python311:local \
#     -f deploy/container/Containerfile -t localhost/turku-city-services:dev .
# The build host's CA bundle is copied in so that pip trusts what the host trusts (a host behind a
# TLS-inspecting proxy). Needs root, debootstrap and podman (apt-get install debootstrap podman
# buildah). Production builds use the official image named in the Containerfile.
set -eu
ROOTFS=${ROOTFS:-/var/tmp/turku-bookworm-rootfs}
TAG=${TAG:-localhost/bookworm-python311:local}
if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
  rm -rf "$ROOTFS"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$ROOTFS"
fi
ln -sf /usr/bin/python3 "$ROOTFS/usr/local/bin/python"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
fi
tar -C "$ROOTFS" -c . | podman import - "$TAG"
echo "base image: $TAG"
