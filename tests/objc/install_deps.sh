#!/bin/sh
# Install what the Linux check of the macOS Objective-C sources needs (Debian/Ubuntu).
# Idempotent: does nothing when every package is already installed.
set -eu
# Only Linux runs the check; a Mac compiles the real thing with Xcode's tools.
[ "$(uname -s)" = Linux ] || exit 0
PKGS="clang libgnustep-base-dev libblocksruntime-dev"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086  # word splitting of the package list is intended
$SUDO apt-get install -y -qq --no-install-recommends $missing
