#!/bin/sh
# Installs the Debian 12 packages needed to build, test and run fileserver.
# Only packages that are missing are installed, so a second run is quick.
set -eu

vm=0

packages="clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool liburing-dev libcap-dev \
libsystemd-dev libssl-dev openssl \
check meson ninja-build pkg-config iproute2 curl python3 \
libclang-rt-14-dev nginx help2man binutils"
for opt in "$@"; do
	case "$opt" in
	--bench) packages="$packages wrk apache2-utils nginx linux-perf gnuplot-nox" ;;
	--browser) packages="$packages chromium" ;;
	# tools/vmtest: QEMU, a static busybox for the initramfs, kmod for the
	# guest's modprobe; the kernels themselves are fetched by tools/vmtest
	# (apt-get download, never installed), the newer one from
	# bookworm-backports, which this adds to apt's sources
	--vm) packages="$packages qemu-system-x86 busybox-static kmod"
	      vm=1 ;;
	*) echo "install-deps: unknown option '$opt' (--bench, --browser, --vm)" >&2
	   exit 2 ;;
	esac
done

update=0
# --vm: bookworm-backports in apt's sources (once; its packages stay at
# apt's default backports priority, so nothing on the host is upgraded)
backports=/etc/apt/sources.list.d/bookworm-backports.sources
if [ "$vm" = 1 ] &&
   ! grep -rqs --include='*.list' --include='*.sources' -e '^[^#]*bookworm-backports' \
	/etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "install-deps: adding bookworm-backports to apt's sources ($backports)"
	cat >"$backports.tmp" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	mv "$backports.tmp" "$backports"
	update=1
fi

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done

if [ -n "$missing" ] || [ "$update" = 1 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
fi
if [ -n "$missing" ]; then
	echo "install-deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

# BPF objects are pinned and inspected through bpffs.
if ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
	mount -t bpf bpf /sys/fs/bpf 2>/dev/null ||
		echo "install-deps: warning: could not mount bpffs on /sys/fs/bpf" >&2
fi
