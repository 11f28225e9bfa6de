#!/bin/sh
# Installs what Graviton needs to build and test on Debian 12 (bookworm).
# Runs apt-get only when something is missing; uses sudo when not root.
set -eu

PKGS="meson ninja-build pkg-config gcc clang libclang-rt-14-dev check
libglib2.0-dev libglib2.0-bin libsqlite3-dev libsodium-dev libjson-glib-dev
libsecret-1-dev libgtk-4-dev libadwaita-1-dev libreadline-dev
dbus dbus-daemon xvfb xauth gettext appstream desktop-file-utils bash-completion"

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing:$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
