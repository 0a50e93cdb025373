#!/bin/sh
# Installs what is missing, then configures (once) and builds into build/.
set -eu
cd "$(dirname "$0")/.."
tools/install-deps.sh
if [ ! -f build/build.ninja ]; then
	meson setup build
fi
ninja -C build
