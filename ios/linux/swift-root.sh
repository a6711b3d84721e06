#!/usr/bin/env bash
# Create (once) a Debian 13 (trixie) root with Swift 6.0.3 (`swiftlang`) for
# compiling and testing the Swift package on this Debian 12 machine.
#
# The root lives outside the work tree so that every clone on this machine
# reuses it: $DMSCHED_CACHE (default ~/.cache/dmsched)/swift-root. It is
# built in a scratch directory and renamed into place only when complete
# (a stamp file records that), so an interrupted run leaves nothing that a
# later run would mistake for a finished root. A lock serialises two runs.
# /proc, /dev and /sys are mounted only inside a private mount namespace
# (unshare), so they vanish with the process, even when it is killed.
#
# Needs root (debootstrap, chroot). First run: about 1-5 minutes, 2.7 GB.
# Prints the root's path on stdout; progress goes to stderr.
set -euo pipefail

cache="${DMSCHED_CACHE:-$HOME/.cache/dmsched}"
root="$cache/swift-root"
version=v2   # bump when the package list below changes
stamp=".dmsched-swift-root-$version"
log() { echo "swift-root: $*" >&2; }

mkdir -p "$cache"
exec 9>"$cache/swift-root.lock"
flock 9

if [ -f "$root/$stamp" ]; then
    echo "$root"
    exit 0
fi

[ "$(id -u)" = 0 ] || { log "must run as root (debootstrap, chroot)"; exit 1; }

# Never delete through a mount point (a bind-mounted /dev, say).
for dir in "$root" "$cache/swift-root.partial"; do
    if findmnt -rn -o TARGET | grep -q "^$dir/"; then
        log "something is mounted under $dir; unmount it first"
        exit 1
    fi
done

if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

# The mirror apt already uses on this machine (deb822 or one-line format).
mirror=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || { log "cannot find the Debian mirror in /etc/apt"; exit 1; }

work="$cache/swift-root.partial"
rm -rf "$work" "$root"

buildlog="$cache/swift-root.log"
: > "$buildlog"
trap 'echo "swift-root: failed; the last lines of $buildlog:" >&2; tail -n 30 "$buildlog" >&2' ERR

log "debootstrap trixie into $work (log: $buildlog)"
debootstrap --variant=minbase trixie "$work" "$mirror" >>"$buildlog" 2>&1

log "installing swiftlang in the root"
# shellcheck disable=SC2016 # expanded by the inner shell, from its arguments
unshare --mount --propagation private sh -ec '
    mount -t proc proc "$1/proc"
    mount --bind /dev "$1/dev"
    mount --bind /sys "$1/sys"
    chroot "$1" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends swiftlang libc6-dev ca-certificates >/dev/null"
    chroot "$1" env LD_LIBRARY_PATH=/usr/libexec/swift/lib/swift/linux swift --version
    chroot "$1" apt-get clean
' sh "$work" >>"$buildlog" 2>&1
trap - ERR

touch "$work/$stamp"
mv "$work" "$root"
log "ready: $root"
echo "$root"
