#!/usr/bin/env bash
# TEST-ONLY base images for machines that cannot pull from a container registry (air-gapped CI).
#
#   localhost/shapserve-debian:bookworm      Debian 12 minbase, bootstrapped with mmdebstrap from the apt mirror
#   localhost/shapserve-python-standin:3.11  Debian's python3.11 + venv + pip laid out like python:3.11-slim
#                                            (python/pip in /usr/local/bin), trusting the host's extra CAs
#
# The stand-in is then TAGGED with the name the project's Dockerfile uses in FROM
# (default docker.io/library/python:3.11-slim), so the real Dockerfile builds unchanged with
# `podman build --pull=never`. It is NOT the official image (Python 3.11.2 from Debian, files in /usr/bin):
# never push an image built on it. Where a registry is reachable, skip this script and pull the real base.
#
# usage: make-test-base.sh [TAG ...]   env: SHAPSERVE_BASE_CACHE (default /var/cache/shapserve-bases)
set -euo pipefail
TAGS=("$@"); [ ${#TAGS[@]} -gt 0 ] || TAGS=(docker.io/library/python:3.11-slim)
DEBIAN_IMG=localhost/shapserve-debian:bookworm
STANDIN_IMG=localhost/shapserve-python-standin:3.11
CACHE=${SHAPSERVE_BASE_CACHE:-/var/cache/shapserve-bases}
mkdir -p "$CACHE"

mirror() {  # first Debian mirror configured for apt (deb822 or classic sources.list)
  local m
  m=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1 || true)
  [ -n "$m" ] || m=$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  echo "${m:-http://deb.debian.org/debian}"
}

if ! podman image exists "$DEBIAN_IMG"; then
  tarball="$CACHE/bookworm-minbase.tar"
  if [ ! -s "$tarball" ]; then
    command -v mmdebstrap >/dev/null || { echo "make-test-base: mmdebstrap missing (run deploy/scripts/podman-setup.sh)" >&2; exit 2; }
    t0=$SECONDS
    if ! mmdebstrap --variant=minbase --quiet \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
        bookworm "$CACHE/partial-minbase.tar" "$(mirror)" >"$CACHE/mmdebstrap.log" 2>&1; then
      tail -20 "$CACHE/mmdebstrap.log" >&2; rm -f "$CACHE/partial-minbase.tar"; exit 1
    fi
    mv "$CACHE/partial-minbase.tar" "$tarball"
    echo "make-test-base: debian rootfs bootstrapped in $((SECONDS - t0))s" >&2
  fi
  podman import --quiet --change 'CMD ["/bin/bash"]' "$tarball" "$DEBIAN_IMG" >/dev/null
fi

if ! podman image exists "$STANDIN_IMG"; then
  t0=$SECONDS
  ctx=$(mktemp -d); trap 'rm -rf "$ctx"' EXIT
  mkdir "$ctx/ca"
  # extra CAs the host trusts (e.g. a TLS-intercepting egress proxy): pip in RUN steps needs them
  cp /usr/local/share/ca-certificates/*.crt "$ctx/ca/" 2>/dev/null || true
  cat > "$ctx/Containerfile" <<CF
FROM $DEBIAN_IMG
LABEL org.opencontainers.image.description="TEST-ONLY stand-in for python:3.11-slim (Debian python3.11). Do not publish."
ENV LANG=C.UTF-8
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv python3-pip ca-certificates \\
 && rm -rf /var/lib/apt/lists/* \\
 && for b in python python3 python3.11; do ln -s /usr/bin/python3.11 /usr/local/bin/\$b; done \\
 && ln -s /usr/bin/pip3 /usr/local/bin/pip && ln -s /usr/bin/pip3 /usr/local/bin/pip3 \\
 && mkdir -p /usr/local/lib/python3.11/dist-packages \\
 && ln -s dist-packages /usr/local/lib/python3.11/site-packages \\
 && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null \\
 && printf '[global]\\ncert = /etc/ssl/certs/ca-certificates.crt\\n' > /etc/pip.conf
CMD ["python3"]
CF
  podman build --quiet --pull=never --format docker --network host -t "$STANDIN_IMG" -f "$ctx/Containerfile" "$ctx" >/dev/null
  echo "make-test-base: python stand-in built in $((SECONDS - t0))s" >&2
fi
for t in "${TAGS[@]}"; do podman tag "$STANDIN_IMG" "$t"; done
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "shapserve-|${TAGS[0]##*/}" || true
