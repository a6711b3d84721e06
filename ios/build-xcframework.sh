#!/usr/bin/env bash
# Builds ios/DmschedFFI.xcframework and ios/Sources/Dmsched/Dmsched.swift from
# the Rust library, on macOS with Xcode 15+:
#
#   ios-arm64                      aarch64-apple-ios
#   ios-arm64_x86_64-simulator     aarch64-apple-ios-sim + x86_64-apple-ios (lipo)
#   macos-arm64_x86_64             aarch64-apple-darwin + x86_64-apple-darwin (lipo),
#                                  so that `swift test` runs on the Mac
#
# Each slice is the static library libdmsched_uniffi.a (release profile) with
# Headers/DmschedFFI.h and Headers/module.modulemap. The Swift bindings are
# generated in library mode from this Mac's own release build of the same
# sources, so they match the libraries exactly.
#
# Options (environment): PROFILE=release|debug (default release),
# SKIP_MACOS=1 (no macOS slice; then `swift test` cannot run).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
profile="${PROFILE:-release}"
crate=dmsched-uniffi
lib=libdmsched_uniffi

die() { echo "build-xcframework.sh: $*" >&2; exit 1; }

[ "$(uname -s)" = Darwin ] || die "needs macOS with Xcode (found $(uname -s)); on Linux run ios/check.sh instead"
for tool in cargo rustup xcodebuild lipo xcrun; do
    command -v "$tool" >/dev/null || die "$tool not found (install Xcode 15+ and rustup)"
done
case "$profile" in
    release) profile_dir=release; profile_flag=(--release) ;;
    debug) profile_dir=debug; profile_flag=() ;;
    *) die "PROFILE must be release or debug, not $profile" ;;
esac

ios_targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
mac_targets=(aarch64-apple-darwin x86_64-apple-darwin)
if [ "${SKIP_MACOS:-0}" = 1 ]; then
    targets=("${ios_targets[@]}")
else
    targets=("${ios_targets[@]}" "${mac_targets[@]}")
fi

installed="$(rustup target list --installed)"
for t in "${targets[@]}"; do
    grep -qx "$t" <<<"$installed" || die "Rust target $t missing: rustup target add ${targets[*]}"
done

target_dir="${CARGO_TARGET_DIR:-$root/target}"
work="$here/build"
rm -rf "$work" "$here/DmschedFFI.xcframework"
mkdir -p "$work"

# The crate's crate-types are cdylib + lib (for Kotlin/JNA and Rust users);
# `cargo rustc --crate-type staticlib` adds the static library iOS links.
export IPHONEOS_DEPLOYMENT_TARGET=15.0 MACOSX_DEPLOYMENT_TARGET=12.0
for t in "${targets[@]}"; do
    echo "== cargo: $t ($profile)"
    (cd "$root" && cargo rustc -p "$crate" --lib --crate-type staticlib "${profile_flag[@]}" --target "$t")
    [ -f "$target_dir/$t/$profile_dir/$lib.a" ] || die "no $target_dir/$t/$profile_dir/$lib.a"
done

echo "== system libraries the static library needs (link them in Package.swift if this list grows):"
if ! (cd "$root" && cargo rustc -p "$crate" --lib --crate-type staticlib "${profile_flag[@]}" \
    --target aarch64-apple-ios -- --print native-static-libs 2>&1 | grep -i 'native-static-libs'); then
    echo "(rustc printed no native-static-libs line)"
fi

# Bindings from an unstripped host cdylib of the same sources and profile
# (strip = "debuginfo" keeps the UNIFFI_META symbols bindgen reads).
echo "== uniffi-bindgen (library mode)"
(cd "$root" && cargo build -p "$crate" -p uniffi-bindgen "${profile_flag[@]}")
gen="$work/generated"
"$target_dir/$profile_dir/uniffi-bindgen" generate --library "$target_dir/$profile_dir/$lib.dylib" \
    --language swift --out-dir "$gen"
mkdir -p "$work/Headers" "$here/Sources/Dmsched"
cp "$gen/DmschedFFI.h" "$work/Headers/DmschedFFI.h"
cp "$gen/DmschedFFI.modulemap" "$work/Headers/module.modulemap"
cp "$gen/Dmsched.swift" "$here/Sources/Dmsched/Dmsched.swift"

# One fat library per platform variant.
lipo_into() {
    local out="$1"; shift
    local inputs=()
    for t in "$@"; do inputs+=("$target_dir/$t/$profile_dir/$lib.a"); done
    mkdir -p "$(dirname "$out")"
    lipo -create "${inputs[@]}" -output "$out"
    lipo -info "$out"
}
mkdir -p "$work/ios"
cp "$target_dir/aarch64-apple-ios/$profile_dir/$lib.a" "$work/ios/$lib.a"
lipo_into "$work/ios-simulator/$lib.a" aarch64-apple-ios-sim x86_64-apple-ios
xc_args=(-library "$work/ios/$lib.a" -headers "$work/Headers"
         -library "$work/ios-simulator/$lib.a" -headers "$work/Headers")
if [ "${SKIP_MACOS:-0}" != 1 ]; then
    lipo_into "$work/macos/$lib.a" aarch64-apple-darwin x86_64-apple-darwin
    xc_args+=(-library "$work/macos/$lib.a" -headers "$work/Headers")
fi

echo "== xcodebuild -create-xcframework"
xcodebuild -create-xcframework "${xc_args[@]}" -output "$here/DmschedFFI.xcframework"

echo "built $here/DmschedFFI.xcframework and $here/Sources/Dmsched/Dmsched.swift"
echo "next: (cd ios && swift test)"
