#!/usr/bin/env bash
# What of the Swift package the Swift compiler does not check (run by
# `make swift-test` next to linux/swift-test.sh, which compiles the package
# and runs its XCTest suites; takes seconds):
#
#   1. the generated FFI header is valid C11 under clang -Wall -Wextra
#      -Werror -pedantic (Swift's importer is lenient about what it parses);
#   2. the shell scripts (build-xcframework.sh, which only a Mac runs, and
#      the Linux scripts) pass `bash -n` and shellcheck.
#
# Environment: UNIFFI_BINDGEN (the workspace's uniffi-bindgen binary),
# UNIFFI_LIB (libdmsched_uniffi.so), OUT (a scratch directory).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${UNIFFI_BINDGEN:?set UNIFFI_BINDGEN to the uniffi-bindgen binary}"
: "${UNIFFI_LIB:?set UNIFFI_LIB to libdmsched_uniffi.so}"
: "${OUT:?set OUT to a scratch directory}"

fail() { echo "ios/check.sh: $*" >&2; exit 1; }
step() { echo "ios/check.sh: $*"; }

for tool in clang shellcheck; do
    command -v "$tool" >/dev/null || fail "$tool not found (make c-tools installs it)"
done
[ -x "$UNIFFI_BINDGEN" ] || fail "UNIFFI_BINDGEN=$UNIFFI_BINDGEN is not executable"
[ -f "$UNIFFI_LIB" ] || fail "UNIFFI_LIB=$UNIFFI_LIB does not exist"

gen="$OUT/swift"
rm -rf "$gen"
mkdir -p "$gen"
"$UNIFFI_BINDGEN" generate --library "$UNIFFI_LIB" --language swift --out-dir "$gen" --no-format
[ -s "$gen/DmschedFFI.h" ] || fail "uniffi-bindgen did not write DmschedFFI.h"

step "FFI header: clang -std=c11 -Wall -Wextra -Werror -pedantic (nullability qualifiers allowed)"
printf '#include "DmschedFFI.h"\n' > "$OUT/includes_header.c"
clang -fsyntax-only -x c -std=c11 -Wall -Wextra -Werror -pedantic -Wno-nullability-extension -I"$gen" "$OUT/includes_header.c"

step "shell scripts: bash -n and shellcheck"
scripts=("$here/build-xcframework.sh" "$here/check.sh" "$here/linux/swift-root.sh" "$here/linux/swift-test.sh")
for script in "${scripts[@]}"; do
    bash -n "$script"
done
shellcheck "${scripts[@]}"

step "ok"
