#!/bin/sh
# Installs what is missing, then configures (once) and builds into build/.
# --test: also what the test suite drives (Chromium, for the browser test;
# QEMU and Debian's backports kernel, for the kTLS tests in a VM).
set -eu
cd "$(dirname "$0")/.."
case "${1-}" in
"") tools/install-deps.sh ;;
--test) tools/install-deps.sh --browser --vm ;;
*) echo "build.sh: unknown option '$1' (--test)" >&2; exit 2 ;;
esac
if [ ! -f build/build.ninja ]; then
	meson setup build
fi
ninja -C build
