#!/usr/bin/env bash
# What of the iOS package can be checked without Xcode or a Swift compiler
# (run by `make test` on Linux; installs nothing; takes seconds):
#
#   1. generate the Swift bindings from the built library (library mode);
#   2. the FFI header compiles as C11 with clang -Wall -Wextra -Werror;
#   3. the modulemap, laid out as in the XCFramework (Headers/module.modulemap),
#      builds the DmschedFFI clang module, and every FFI function the generated
#      Swift calls is declared by that module (an Objective-C file takes the
#      address of each through `@import DmschedFFI;`);
#   4. every one of those functions is exported by the library;
#   5. check_api.py: the Swift in Sources/ and Tests/ uses the generated API
#      as it is (types, Engine methods and labels, records, enum cases, host
#      protocol signatures), after its own self-test;
#   6. the package layout Package.swift names exists; build-xcframework.sh
#      passes `bash -n` (and shellcheck, when installed).
#
# Environment: UNIFFI_BINDGEN (the workspace's uniffi-bindgen binary),
# UNIFFI_LIB (an unstripped libdmsched_uniffi.so), OUT (a scratch directory).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${UNIFFI_BINDGEN:?set UNIFFI_BINDGEN to the uniffi-bindgen binary}"
: "${UNIFFI_LIB:?set UNIFFI_LIB to libdmsched_uniffi.so}"
: "${OUT:?set OUT to a scratch directory}"

fail() { echo "ios/check.sh: $*" >&2; exit 1; }
step() { echo "ios/check.sh: $*"; }

for tool in clang python3 nm; do
    command -v "$tool" >/dev/null || fail "$tool not found (clang: apt-get install -y clang)"
done
[ -x "$UNIFFI_BINDGEN" ] || fail "UNIFFI_BINDGEN=$UNIFFI_BINDGEN is not executable"
[ -f "$UNIFFI_LIB" ] || fail "UNIFFI_LIB=$UNIFFI_LIB does not exist"

gen="$OUT/swift"
headers="$OUT/Headers"
rm -rf "$gen" "$headers" "$OUT/module-cache"
mkdir -p "$gen" "$headers"

step "generating Swift bindings from $UNIFFI_LIB"
"$UNIFFI_BINDGEN" generate --library "$UNIFFI_LIB" --language swift --out-dir "$gen" --no-format
for f in Dmsched.swift DmschedFFI.h DmschedFFI.modulemap; do
    [ -s "$gen/$f" ] || fail "uniffi-bindgen did not write $f"
done

step "FFI header: clang -std=c11 -Wall -Wextra -Werror -pedantic (nullability qualifiers allowed)"
printf '#include "DmschedFFI.h"\n' > "$OUT/includes_header.c"
clang -fsyntax-only -x c -std=c11 -Wall -Wextra -Werror -pedantic -Wno-nullability-extension -I"$gen" "$OUT/includes_header.c"

# The FFI functions the generated Swift calls.
python3 - "$gen/Dmsched.swift" > "$OUT/ffi-symbols.txt" <<'EOF'
import re, sys
names = sorted(set(re.findall(r"\b((?:uniffi|ffi)_dmsched_uniffi_\w+)\s*\(", open(sys.argv[1]).read())))
print("\n".join(names))
EOF
count=$(wc -l < "$OUT/ffi-symbols.txt")
[ "$count" -gt 20 ] || fail "only $count FFI functions found in Dmsched.swift"

step "modulemap: @import DmschedFFI and reference all $count FFI functions the Swift calls"
cp "$gen/DmschedFFI.h" "$headers/DmschedFFI.h"
cp "$gen/DmschedFFI.modulemap" "$headers/module.modulemap"
{
    echo '@import DmschedFFI;'
    echo 'void *dmsched_ffi_used[] = {'
    sed 's/.*/    (void *)\&&,/' "$OUT/ffi-symbols.txt"
    echo '};'
} > "$OUT/uses_module.m"
clang -x objective-c -fmodules -fsyntax-only -Wall -Wextra -Werror \
    -fmodules-cache-path="$OUT/module-cache" -I"$headers" "$OUT/uses_module.m"

step "library exports every FFI function the Swift calls"
nm -D --defined-only "$UNIFFI_LIB" | awk '{print $NF}' | sort -u > "$OUT/lib-symbols.txt"
missing=$(comm -23 "$OUT/ffi-symbols.txt" "$OUT/lib-symbols.txt")
[ -z "$missing" ] || fail "not exported by $UNIFFI_LIB: $missing"

step "Swift sources and tests use the generated API as it is"
python3 "$here/check_api.py" --self-test "$gen/Dmsched.swift"
python3 "$here/check_api.py" "$gen/Dmsched.swift" "$here/Sources/DmschedKit" "$here/Tests"

step "package layout and build script"
grep -o 'path: "[^"]*"' "$here/Package.swift" | sed 's/path: "\(.*\)"/\1/' | while read -r p; do
    case "$p" in
        DmschedFFI.xcframework) ;; # a build product of build-xcframework.sh
        *) [ -d "$here/$p" ] || fail "Package.swift names $p, which does not exist" ;;
    esac
done
bash -n "$here/build-xcframework.sh"
if command -v shellcheck >/dev/null; then
    shellcheck "$here/build-xcframework.sh" "$here/check.sh"
else
    echo "ios/check.sh: shellcheck not installed; skipped"
fi

step "ok"
