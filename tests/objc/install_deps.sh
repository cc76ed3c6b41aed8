#!/bin/sh
# Install what the Linux check of the macOS Objective-C sources needs (Debian/Ubuntu, apt).
# Idempotent: does nothing when every package is already installed.
#
# It never fails the README's test command: where it cannot install (not Debian-like, not root
# and no passwordless sudo, apt failing) it says what to install and exits 0; the Objective-C
# tests then skip with that advice, and fail under CI=true.
set -u
# Only Linux runs the check; a Mac compiles the real thing with Xcode's tools.
[ "$(uname -s)" = Linux ] || exit 0
PKGS="clang libgnustep-base-dev libblocksruntime-dev"
ME="tests/objc/install_deps.sh"

cannot() {
    echo "$ME: $1; the Objective-C tests will be skipped (under CI=true they fail)." >&2
    echo "$ME: to run them, install clang, GNUstep Base and BlocksRuntime (Debian/Ubuntu: apt-get install $PKGS)." >&2
    exit 0
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    cannot "not a Debian-like system (no dpkg-query/apt-get), so nothing was installed"
fi
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    # Only a sudo that needs no password: the test command must not stop at a prompt.
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        cannot "not root and no passwordless sudo, so$missing could not be installed"
    fi
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # word splitting of the package list is intended
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends $missing ||
    cannot "apt-get could not install$missing"
