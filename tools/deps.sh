#!/bin/sh
# deps.sh: install the Debian packages of deps.txt whose check fails (apt-get, as root).
# Usage: tools/deps.sh [build|all|bigendian]
#   build = the "--- build" section; all = every section but bigendian; bigendian = that one.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
want=${1:-all}
missing=""
section=""
while read -r pkg check; do
    case "$pkg" in
        "#") case "$check" in "--- build"*) section=build ;; "--- bigendian"*) section=bigendian ;;
                 "---"*) section=other ;; esac; continue ;;
        "#"*|"") continue ;;
    esac
    [ "$want" = build ] && [ "$section" != build ] && continue
    [ "$want" = bigendian ] && [ "$section" != bigendian ] && continue
    [ "$want" = all ] && [ "$section" = bigendian ] && continue
    ok=1
    case "$check" in
        pc:*) pkg-config --exists "${check#pc:}" 2>/dev/null || ok=0 ;;
        py:*) /usr/bin/python3 -c "import ${check#py:}" >/dev/null 2>&1 || ok=0 ;;
        bin:*) [ -e "${check#bin:}" ] || ok=0 ;;
    esac
    [ $ok = 1 ] || missing="$missing $pkg"
done < "$here/deps.txt"
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
case "$missing" in *:s390x*) $SUDO dpkg --add-architecture s390x ;; esac
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
