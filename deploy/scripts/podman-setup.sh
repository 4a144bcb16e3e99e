#!/usr/bin/env bash
# Idempotent: install and configure rootful podman for building and running the shapserve image
# on a Debian 12 host/CI runner (root). Safe to re-run; does nothing heavy when already set up.
#
# Why the configuration below (found on Firecracker CI VMs, harmless elsewhere):
#  * crun 1.8 (Debian 12) refuses hybrid cgroup v1+v2 layouts  -> use runc.
#  * podman asks for nofile/nproc=1048576 for root containers; without CAP_SYS_RESOURCE the
#    runtime's setrlimit gets EPERM, and podman itself lowers its own nproc hard limit to 32768
#    -> pin default_ulimits to values this host may actually grant.
#  * no systemd: events go to a file, healthchecks are run by hand (`podman healthcheck run`).
# Set SHAPSERVE_PODMAN_OFFLINE=1 to block pulls from public registries (air-gapped CI):
# any accidental pull then fails at once instead of hanging on the network.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
for bin in podman runc catatonit mmdebstrap skopeo; do command -v "$bin" >/dev/null || need+=("$bin"); done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "podman-setup: missing ${need[*]} and not root; install podman runc catatonit mmdebstrap skopeo" >&2; exit 2; fi
  command -v apt-get >/dev/null || { echo "podman-setup: missing ${need[*]} and no apt-get" >&2; exit 2; }
  echo "podman-setup: missing ${need[*]}: installing podman and its helpers with apt-get" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    podman buildah runc catatonit conmon netavark aardvark-dns iptables slirp4netns fuse-overlayfs uidmap \
    mmdebstrap skopeo ca-certificates curl >/dev/null
fi
if [ "$(id -u)" = 0 ]; then
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
  if [ "$nofile" = unlimited ] || [ "$nofile" -gt 1048576 ]; then nofile=1048576; fi
  mkdir -p /etc/containers/containers.conf.d /etc/containers/registries.conf.d
  # a drop-in: leaves any distribution containers.conf alone
  cat > /etc/containers/containers.conf.d/50-shapserve.conf <<CONF
# written by shapserve deploy/scripts/podman-setup.sh
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
CONF
  if [ "${SHAPSERVE_PODMAN_OFFLINE:-0}" = 1 ]; then
    {
      echo "# written by shapserve deploy/scripts/podman-setup.sh (SHAPSERVE_PODMAN_OFFLINE=1)"
      for r in docker.io quay.io ghcr.io mcr.microsoft.com registry.k8s.io; do
        printf '[[registry]]\nprefix = "%s"\nlocation = "%s"\nblocked = true\n' "$r" "$r"
      done
    } > /etc/containers/registries.conf.d/90-shapserve-offline.conf
  fi
fi
podman info --format 'podman {{.Version.Version}} runtime={{.Host.OCIRuntime.Name}} storage={{.Store.GraphDriverName}} cgroups={{.Host.CgroupsVersion}}{{"\n"}}'
