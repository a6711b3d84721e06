#!/usr/bin/env bash
# Compile the Swift package and run every XCTest suite on Linux, against the
# library built here (run by `make swift-test`, part of `make test`):
#
#   1. the Debian 13 root with Swift 6.0.3 (swift-root.sh; built once per
#      machine, outside the work tree);
#   2. the Swift bindings generated from the built libdmsched_uniffi.so
#      (library mode), as build-xcframework.sh generates them on a Mac;
#   3. a copy of the package (Package.swift, Sources, Tests) with the
#      generated Dmsched.swift, and for the Linux system-library target the
#      generated DmschedFFI.h and modulemap with `link "dmsched_uniffi"`;
#   4. inside the root (a private mount namespace: /proc, /dev, /sys and the
#      scratch directory bind-mounted, gone when the process ends):
#      `swift build` with warnings as errors, then `swift test`;
#   5. every XCTestCase class under Tests/ must have run and passed.
#
# Environment: UNIFFI_BINDGEN (the workspace's uniffi-bindgen binary),
# UNIFFI_LIB (libdmsched_uniffi.so), OUT (a scratch directory; its build/
# subdirectory is reused between runs). Needs root.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkg_src="$(dirname "$here")"
: "${UNIFFI_BINDGEN:?set UNIFFI_BINDGEN to the uniffi-bindgen binary}"
: "${UNIFFI_LIB:?set UNIFFI_LIB to libdmsched_uniffi.so}"
: "${OUT:?set OUT to a scratch directory}"

fail() { echo "swift-test: $*" >&2; exit 1; }
step() { echo "swift-test: $*"; }

[ -x "$UNIFFI_BINDGEN" ] || fail "UNIFFI_BINDGEN=$UNIFFI_BINDGEN is not executable"
[ -f "$UNIFFI_LIB" ] || fail "UNIFFI_LIB=$UNIFFI_LIB does not exist"

root="$("$here/swift-root.sh")"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

# Copy $1 to $2 only when different, so that unchanged files keep their
# time stamps and SwiftPM rebuilds only what changed.
put() {
    mkdir -p "$(dirname "$2")"
    cmp -s "$1" "$2" || cp "$1" "$2"
}

step "generating Swift bindings from $UNIFFI_LIB"
gen="$OUT/generated"
rm -rf "$gen"
mkdir -p "$gen"
"$UNIFFI_BINDGEN" generate --library "$UNIFFI_LIB" --language swift --out-dir "$gen" --no-format
for f in Dmsched.swift DmschedFFI.h DmschedFFI.modulemap; do
    [ -s "$gen/$f" ] || fail "uniffi-bindgen did not write $f"
done

step "staging the package in $OUT/pkg"
pkg="$OUT/pkg"
# The package's files, exactly: anything no longer in ios/ goes.
(cd "$pkg_src" && find Package.swift Sources Tests linux/DmschedFFI -type f ! -name '.gitignore' \
    ! -path 'Sources/Dmsched/Dmsched.swift' ! -path 'linux/DmschedFFI/DmschedFFI.h' \
    ! -path 'linux/DmschedFFI/module.modulemap' | sort) > "$OUT/files.txt"
if [ -d "$pkg" ]; then
    (cd "$pkg" && find . -type f | sed 's|^\./||' | sort) > "$OUT/staged.txt"
    comm -13 "$OUT/files.txt" "$OUT/staged.txt" | while read -r f; do
        case "$f" in
            Sources/Dmsched/Dmsched.swift | linux/DmschedFFI/DmschedFFI.h | linux/DmschedFFI/module.modulemap) ;;
            *) rm -f "$pkg/$f" ;;
        esac
    done
fi
while read -r f; do put "$pkg_src/$f" "$pkg/$f"; done < "$OUT/files.txt"
put "$gen/Dmsched.swift" "$pkg/Sources/Dmsched/Dmsched.swift"
put "$gen/DmschedFFI.h" "$pkg/linux/DmschedFFI/DmschedFFI.h"
# The generated modulemap (the one the XCFramework carries) plus the link
# directive a system-library target needs.
sed 's|^\( *\)header "DmschedFFI.h"|&\n\1link "dmsched_uniffi"|' "$gen/DmschedFFI.modulemap" > "$gen/module.modulemap"
grep -q 'link "dmsched_uniffi"' "$gen/module.modulemap" || fail "no header line in the generated modulemap"
put "$gen/module.modulemap" "$pkg/linux/DmschedFFI/module.modulemap"
put "$UNIFFI_LIB" "$OUT/lib/libdmsched_uniffi.so"
mkdir -p "$OUT/build" "$OUT/home"

step "swift build -warnings-as-errors, swift test (in $root)"
log="$OUT/swift-test.log"
set +e
# shellcheck disable=SC2016 # expanded by the inner shell, from its arguments
unshare --mount --propagation private sh -ec '
    root="$1"; out="$2"
    mount -t proc proc "$root/proc"
    mount --bind /dev "$root/dev"
    mount --bind /sys "$root/sys"
    mkdir -p "$root/work"
    mount --bind "$out" "$root/work"
    exec chroot "$root" env -i PATH=/usr/bin:/bin HOME=/work/home TMPDIR=/tmp \
        LD_LIBRARY_PATH=/usr/libexec/swift/lib/swift/linux:/work/lib \
        sh -ec "
            cd /work/pkg
            swift build --build-tests --scratch-path /work/build -Xswiftc -warnings-as-errors -Xlinker -L/work/lib
            swift test --skip-build --scratch-path /work/build
        "
' sh "$root" "$OUT" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
[ "$status" = 0 ] || fail "swift build or swift test failed (exit $status; log: $log)"

# Every XCTestCase class must have run and passed (nothing filtered away).
classes=$(grep -rhoE 'class +[A-Za-z0-9_]+ *: *XCTestCase' "$pkg_src/Tests" | sed -E 's/class +([A-Za-z0-9_]+).*/\1/' | sort -u)
[ -n "$classes" ] || fail "no XCTestCase classes found under $pkg_src/Tests"
for class in $classes; do
    grep -q "Test Suite '$class' passed" "$log" || fail "XCTest suite $class did not run and pass"
done
executed=$(grep -oE 'Executed [0-9]+ tests?, with 0 failures' "$log" | tail -1)
[ -n "$executed" ] || fail "no XCTest summary in $log"
step "ok: $(echo "$classes" | wc -w) suites ($(echo "$classes" | tr '\n' ' ')), $executed"
