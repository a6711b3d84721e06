#!/usr/bin/env bash
# Compiles the pure-Kotlin facade (src/main/kotlin/org/dmsched/android/core,
# no android.* imports) with its host tests under -Werror and runs them on
# the host JVM. No Android SDK needed.
#
#   KOTLINC=…/bin/kotlinc KOTLIN_STDLIB=…/lib/kotlin-stdlib.jar OUT=target/android-host-tests android/host-test.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${KOTLINC:?set KOTLINC to the kotlinc binary}"
: "${KOTLIN_STDLIB:?set KOTLIN_STDLIB to kotlin-stdlib.jar}"
: "${OUT:?set OUT to an output directory}"
# kotlinx.coroutines (the facade's suspend functions and Flows): the jar the
# Kotlin compiler's npm package ships in its lib/ (an app gets its own from
# its Gradle dependencies, android/dmsched/build.gradle.kts).
: "${KOTLINX_COROUTINES:=$(dirname "$KOTLIN_STDLIB")/kotlinx-coroutines-core-jvm.jar}"
JAVA="${JAVA:-java}"

core="$here/dmsched/src/main/kotlin/org/dmsched/android/core"
tests="$here/dmsched/src/test/kotlin/org/dmsched/android/core"
# The JNI class (pure Kotlin) that JniEngineCalls adapts; its own test is `make jni-test`.
jni="$here/../bindings/uniffi/jni/org/dmsched/jni"

# The host-compiled part must stay free of Android APIs.
if grep -nE '^import (android|androidx)\.' "$core"/*.kt "$tests"/*.kt; then
    echo "host-test.sh: android imports in host-compiled sources (above)" >&2
    exit 1
fi

mkdir -p "$OUT"
jar="$OUT/android-host-tests.jar"
rm -f "$jar"
"$KOTLINC" -Werror -cp "$KOTLINX_COROUTINES" "$core"/*.kt "$jni"/*.kt "$tests"/*.kt -d "$jar"
"$JAVA" -cp "$jar:$KOTLIN_STDLIB:$KOTLINX_COROUTINES" org.dmsched.android.core.HarnessKt
