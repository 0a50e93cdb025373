#!/bin/sh
# Installs the Debian 12 packages needed to build, test and run fileserver.
# Only packages that are missing are installed, so a second run is quick.
set -eu

packages="clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool liburing-dev libcap-dev \
libsystemd-dev \
check meson ninja-build pkg-config iproute2 curl python3 \
libclang-rt-14-dev nginx"
for opt in "$@"; do
	case "$opt" in
	--bench) packages="$packages wrk nginx linux-perf gnuplot-nox" ;;
	--browser) packages="$packages chromium" ;;
	*) echo "install-deps: unknown option '$opt' (--bench, --browser)" >&2
	   exit 2 ;;
	esac
done

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done

if [ -n "$missing" ]; then
	echo "install-deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

# BPF objects are pinned and inspected through bpffs.
if ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
	mount -t bpf bpf /sys/fs/bpf 2>/dev/null ||
		echo "install-deps: warning: could not mount bpffs on /sys/fs/bpf" >&2
fi
