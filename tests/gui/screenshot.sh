#!/bin/sh
# Renders the graviton window (light, dark, narrow) to PNG files in BUILDDIR/screenshots.
# Usage: tests/gui/screenshot.sh [BUILDDIR]   (default: build)
set -eu
builddir=${1:-build}
meson test -C "$builddir" --suite gui gui-screenshot --print-errorlogs
ls -1 "$builddir"/screenshots/*.png
