# dmsched — the two set-up commands are `make demo` and `make test`.
# Both install what they need (idempotently) first.

CARGO ?= cargo
PYTHON ?= python3
export CARGO_TERM_COLOR ?= never

.PHONY: c-compat handoff-test size demo demo-simulate test soak deps rust-components py-deps c-tools kotlin-tools fmt clippy cargo-test header header-check c-test c-sample kotlin-test jni-test android-test swift-test interop install bench fuzz-tools fuzz-build fuzz-smoke fuzz

TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
CBINDGEN_VERSION := 0.29.4

## The libraries' build variant: VARIANT=full (the default: the engine and
## full-client mode, the SDK's own DM client with its HTTPS transport) or
## VARIANT=handoff (engine, store, tree and MO only: no DM client
## transport, HTTP, TLS or tokio; the C header then needs -DDMS_NO_AGENT,
## which the installed pkg-config file and CMake package carry).
VARIANT ?= full
HANDOFF := $(filter handoff,$(VARIANT))
VARIANT_FEATURES := $(if $(HANDOFF),--no-default-features)
VARIANT_CFLAGS := $(if $(HANDOFF),-DDMS_NO_AGENT)
C_FLAGS := -std=c99 -Wall -Wextra -Werror -pedantic -g -Iinclude $(VARIANT_CFLAGS)
C_OUT := $(TARGET_DIR)/c-tests
VALGRIND := valgrind --error-exitcode=1 --leak-check=full --num-callers=50 \
	--suppressions=bindings/c/tests/valgrind.supp -q

## Run the main job: a DM server installs a schedule on a device over
## HTTPS; the device runs it offline and reports (about 35 s).
demo: rust-components
	$(CARGO) build -q -p dmsched-cli
	./target/debug/dmsched demo --svg target/demo-timeline.svg

## The engine alone on a simulated clock: four days of a realistic schedule set.
demo-simulate: rust-components
	$(CARGO) build -q -p dmsched-cli
	./target/debug/dmsched validate examples/fleet.json
	./target/debug/dmsched simulate examples/fleet.json \
		--from 2026-03-06T00:00:00Z --until 2026-03-10T00:00:00Z \
		--tree examples/fleet-tree.json --events examples/fleet-events.jsonl \
		--time-zone America/New_York --svg target/demo-simulate-timeline.svg
	@echo "timeline picture: target/demo-simulate-timeline.svg"

## Run every test suite.
test: deps fmt clippy cargo-test header-check c-test c-sample kotlin-test jni-test android-test swift-test handoff-test fuzz-smoke

deps: rust-components py-deps c-tools kotlin-tools

rust-components:
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

# python-dateutil is the independent oracle for calendar expansion; jsonschema
# checks docs/schedule.schema.json against the parser.
py-deps:
	@$(PYTHON) -c "import dateutil, jsonschema" 2>/dev/null \
		|| $(PYTHON) -m pip install --quiet --disable-pip-version-check python-dateutil jsonschema \
		|| $(PYTHON) -m pip install --quiet --disable-pip-version-check --break-system-packages python-dateutil jsonschema

# The C ABI needs cbindgen (pinned), gcc/g++ and valgrind; the Swift
# checks need clang (FFI header, modulemap) and shellcheck; the WBXML
# interop tests need libwbxml2-utils (wbxml2xml, xml2wbxml); the CLI's
# picture tests render SVG to PNG with librsvg2-bin (rsvg-convert).
c-tools:
	@cbindgen --version 2>/dev/null | grep -q "$(CBINDGEN_VERSION)" \
		|| $(CARGO) install cbindgen --version $(CBINDGEN_VERSION) --locked
	@command -v valgrind >/dev/null && command -v g++ >/dev/null && command -v cmake >/dev/null \
		&& command -v pkg-config >/dev/null && command -v clang >/dev/null \
		&& command -v shellcheck >/dev/null && command -v wbxml2xml >/dev/null \
		&& command -v rsvg-convert >/dev/null \
		|| (apt-get update -qq && apt-get install -y -qq valgrind gcc g++ cmake pkg-config clang shellcheck libwbxml2-utils librsvg2-bin)

# Kotlin on the host JVM: the compiler from the npm package kotlin-compiler,
# JNA from Debian's libjna-java (Java itself is on the machine).
KOTLIN_VERSION := 2.4.20
KOTLIN_HOME := .tools/kotlin-$(KOTLIN_VERSION)
KOTLINC := $(KOTLIN_HOME)/package/bin/kotlinc
JNA := /usr/share/java/jna.jar
kotlin-tools:
	@test -x $(KOTLINC) || (mkdir -p $(KOTLIN_HOME) && cd $(KOTLIN_HOME) \
		&& npm pack --silent kotlin-compiler@$(KOTLIN_VERSION) >/dev/null \
		&& tar xzf kotlin-compiler-$(KOTLIN_VERSION).tgz && rm kotlin-compiler-$(KOTLIN_VERSION).tgz)
	@test -f $(JNA) || (apt-get update -qq && apt-get install -y -qq libjna-java)

fmt:
	$(CARGO) fmt --all --check
	cd fuzz && $(CARGO) fmt --check

# Without the `interop` feature: the interop suite (the only code that reads
# ../shared) is neither built nor run by `make test`; `make interop` lints it.
clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p dmsched-c -p dmsched-uniffi --no-default-features --all-targets -- -D warnings

# The interop suite (../shared) is not built here (feature `interop` off);
# the corpus variable points nowhere so that any read of it would fail loudly
# even on a machine that has ../shared.
# Checked here: no Rust source outside the Makefile's interop target names
# ../shared, and the test run contains no interop_corpus target.
cargo-test:
	@! grep -rn --include='*.rs' --include='*.toml' '\.\./shared' core bindings cli samples \
		|| (echo "make test: Rust sources above name ../shared; only make interop may"; exit 1)
	mkdir -p $(TARGET_DIR)
	DMSCHED_CORPUS=/nonexistent/make-test-reads-no-corpus $(CARGO) test --workspace \
		> $(TARGET_DIR)/cargo-test.log 2>&1; rc=$$?; cat $(TARGET_DIR)/cargo-test.log; exit $$rc
	@! grep -n 'interop_corpus' $(TARGET_DIR)/cargo-test.log \
		|| (echo "make test ran the interop suite (above)"; exit 1)

## Regenerate include/dmsched.h from bindings/c (checked in).
header: c-tools
	cbindgen --config bindings/c/cbindgen.toml --crate dmsched-c --output include/dmsched.h bindings/c

# The checked-in header must be exactly what cbindgen generates, and must
# compile as C99 and as C++17.
header-check: c-tools
	cbindgen --config bindings/c/cbindgen.toml --crate dmsched-c --output include/dmsched.h --verify bindings/c
	for d in "" -DDMS_NO_AGENT; do \
		gcc -std=c99 -Wall -Wextra -Werror -pedantic $$d -fsyntax-only -x c include/dmsched.h && \
		g++ -std=c++17 -Wall -Wextra -Werror -pedantic $$d -fsyntax-only -x c++ include/dmsched.h || exit 1; \
	done
	# With DMS_NO_AGENT nothing of full-client mode is declared.
	! gcc -E -DDMS_NO_AGENT -x c include/dmsched.h | grep -E 'dms_agent|dms_notification|dms_ui_answer'
	gcc -E -x c include/dmsched.h | grep -q 'dms_agent_open' 

# The C test suite against the static and the shared library, under
# AddressSanitizer and under valgrind.
# test_agent.c (full-client mode) starts the test DM server
# (samples/dm-server) itself, once per run, on a free loopback port.
C_TESTS := api $(if $(HANDOFF),,agent)
export DMS_DM_SERVER := $(abspath $(TARGET_DIR))/debug/dm-server
c-test: c-tools
	$(CARGO) build -p dmsched-c $(VARIANT_FEATURES) $(if $(HANDOFF),,-p dmsched-dm-server)
	$(if $(HANDOFF),! nm -D --defined-only $(TARGET_DIR)/debug/libdmsched.so | grep -E ' dms_(agent|notification)_')
	mkdir -p $(C_OUT)
	readelf -d $(TARGET_DIR)/debug/libdmsched.so | grep -q 'SONAME.*\[libdmsched.so.$(C_MAJOR)\]' \
		|| (echo "libdmsched.so has no SONAME libdmsched.so.$(C_MAJOR)"; exit 1)
	ln -sf libdmsched.so $(TARGET_DIR)/debug/libdmsched.so.$(C_MAJOR)
	for t in $(C_TESTS); do \
		gcc $(C_FLAGS) bindings/c/tests/test_$$t.c $(TARGET_DIR)/debug/libdmsched.a -lpthread -ldl -lm -o $(C_OUT)/test_$${t}_static && \
		gcc $(C_FLAGS) bindings/c/tests/test_$$t.c -L$(TARGET_DIR)/debug -ldmsched -lpthread -o $(C_OUT)/test_$${t}_shared && \
		gcc $(C_FLAGS) -fsanitize=address -fno-omit-frame-pointer bindings/c/tests/test_$$t.c \
			$(TARGET_DIR)/debug/libdmsched.a -lpthread -ldl -lm -o $(C_OUT)/test_$${t}_asan || exit 1; \
	done
	for t in $(C_TESTS); do \
		echo "== test_$$t: static, shared, ASan, valgrind static, valgrind shared" && \
		$(C_OUT)/test_$${t}_static && \
		LD_LIBRARY_PATH=$(TARGET_DIR)/debug $(C_OUT)/test_$${t}_shared && \
		$(C_OUT)/test_$${t}_asan && \
		$(VALGRIND) $(C_OUT)/test_$${t}_static && \
		LD_LIBRARY_PATH=$(TARGET_DIR)/debug $(VALGRIND) $(C_OUT)/test_$${t}_shared || exit 1; \
	done
	$(if $(HANDOFF),,$(MAKE) --no-print-directory c-compat)

# ABI compatibility: a program built against the frozen 0.1 header, run
# against this library (static; shared through the SONAME link). The 0.1
# program uses full-client mode, so not with the hand-off library.
c-compat:
	gcc $(C_FLAGS:-Iinclude=) -Ibindings/c/tests/compat/0.1 bindings/c/tests/compat/test_compat.c \
		$(TARGET_DIR)/debug/libdmsched.a -lpthread -ldl -lm -o $(C_OUT)/test_compat_static
	gcc $(C_FLAGS:-Iinclude=) -Ibindings/c/tests/compat/0.1 bindings/c/tests/compat/test_compat.c \
		-L$(TARGET_DIR)/debug -ldmsched -lpthread -o $(C_OUT)/test_compat_shared
	readelf -d $(C_OUT)/test_compat_shared | grep -q 'NEEDED.*\[libdmsched.so.$(C_MAJOR)\]'
	$(C_OUT)/test_compat_static
	LD_LIBRARY_PATH=$(TARGET_DIR)/debug $(VALGRIND) $(C_OUT)/test_compat_shared

# UniFFI: generate Kotlin from the built library (library mode, with the
# workspace's pinned uniffi-bindgen), compile it with the tests under
# -Werror and run them on the host JVM with JNA.
UNIFFI_LIB := $(TARGET_DIR)/debug/libdmsched_uniffi.so
UNIFFI_OUT := $(TARGET_DIR)/uniffi
# The Agent tests (full-client mode) run the test DM server
# (samples/dm-server) as a child process.
DM_SERVER := $(TARGET_DIR)/debug/dm-server
UNIFFI_BINDGEN ?= $(TARGET_DIR)/debug/uniffi-bindgen
# The hand-off variant: the engine tests only (NoAgent.kt stands in for
# AgentTest.kt), and the generated API has no Agent.
KOTLIN_AGENT_TESTS := $(if $(HANDOFF),bindings/uniffi/tests/kotlin/NoAgent.kt,\
	bindings/uniffi/tests/kotlin/AgentTest.kt bindings/uniffi/tests/common/DmServer.kt)
kotlin-test: kotlin-tools
	$(CARGO) build -p dmsched-uniffi $(VARIANT_FEATURES) $(if $(HANDOFF),,-p dmsched-dm-server)
	$(if $(HANDOFF),,$(CARGO) build -p uniffi-bindgen)
	rm -rf $(UNIFFI_OUT)/kotlin && mkdir -p $(UNIFFI_OUT)
	$(UNIFFI_BINDGEN) generate --library $(UNIFFI_LIB) --language kotlin --out-dir $(UNIFFI_OUT)/kotlin --no-format
	$(if $(HANDOFF),! grep -nE '^(open )?class (Agent|AcceptedNotification)\b' $(UNIFFI_OUT)/kotlin/org/dmsched/dmsched_uniffi.kt)
	@# Java and Kotlin hosts: no unsigned type anywhere in the public API.
	@! grep -nE 'kotlin\.U(Int|Long|Short|Byte)\b' $(UNIFFI_OUT)/kotlin/org/dmsched/dmsched_uniffi.kt \
		|| (echo "unsigned types in the Kotlin API (above)"; exit 1)
	$(KOTLINC) -Werror -cp $(JNA) $(UNIFFI_OUT)/kotlin/org/dmsched/dmsched_uniffi.kt \
		bindings/uniffi/tests/kotlin/EngineTest.kt $(KOTLIN_AGENT_TESTS) -d $(UNIFFI_OUT)/kotlin-tests.jar
	java -Djna.library.path=$(TARGET_DIR)/debug -Ddmsched.dmServer=$(abspath $(DM_SERVER)) \
		-cp $(UNIFFI_OUT)/kotlin-tests.jar:$(JNA):$(KOTLIN_HOME)/package/lib/kotlin-stdlib.jar \
		org.dmsched.test.EngineTestKt

## The hand-off variant (VARIANT=handoff) in its own target directory: the
## C suite (API tests under ASan and valgrind, no dms_agent_* exported, the
## C sample through pkg-config and CMake) and the Kotlin engine tests.
HANDOFF_TARGET := $(abspath $(TARGET_DIR))/handoff
handoff-test: c-tools kotlin-tools
	$(CARGO) build -p uniffi-bindgen
	$(MAKE) --no-print-directory c-test c-sample kotlin-test VARIANT=handoff \
		CARGO_TARGET_DIR=$(HANDOFF_TARGET) UNIFFI_BINDGEN=$(abspath $(TARGET_DIR))/debug/uniffi-bindgen

# The JNI bridge (org.dmsched.jni.NativeEngine, for system services): the
# Kotlin classes and their test, loaded with System.load under -Xcheck:jni;
# any JNI warning fails the run.
KOTLIN_STDLIB := $(KOTLIN_HOME)/package/lib/kotlin-stdlib.jar
jni-test: kotlin-tools
	$(CARGO) build -p dmsched-uniffi -p dmsched-dm-server
	mkdir -p $(UNIFFI_OUT)
	$(KOTLINC) -Werror bindings/uniffi/jni/org/dmsched/jni/*.kt bindings/uniffi/tests/jni/JniTest.kt \
		bindings/uniffi/tests/jni/JniAgentTest.kt bindings/uniffi/tests/common/DmServer.kt \
		-d $(UNIFFI_OUT)/jni-tests.jar
	java -Xcheck:jni -Ddmsched.lib=$(abspath $(UNIFFI_LIB)) -Ddmsched.dmServer=$(abspath $(DM_SERVER)) \
		-cp $(UNIFFI_OUT)/jni-tests.jar:$(KOTLIN_STDLIB) org.dmsched.jni.test.JniTestKt \
		> $(UNIFFI_OUT)/jni-test.log 2>&1 || (cat $(UNIFFI_OUT)/jni-test.log; exit 1)
	@cat $(UNIFFI_OUT)/jni-test.log
	@! grep -q "WARNING in native method" $(UNIFFI_OUT)/jni-test.log

# The Android facade's logic (no android.* in it) with fakes, on the host JVM.
android-test: kotlin-tools
	KOTLINC=$(KOTLINC) KOTLIN_STDLIB=$(KOTLIN_STDLIB) OUT=$(TARGET_DIR)/android-host-tests android/host-test.sh

# Swift 6.0.3 on Linux (a Debian 13 root, built once per machine under
# ~/.cache/dmsched by ios/linux/swift-root.sh): the package compiled with
# warnings as errors against the generated bindings and the built library,
# and every XCTest suite run (ios/linux/swift-test.sh); ios/check.sh checks
# what the compiler does not (the FFI header as strict C11, the scripts).
swift-test: c-tools
	$(CARGO) build -p dmsched-uniffi -p uniffi-bindgen
	UNIFFI_BINDGEN=$(TARGET_DIR)/debug/uniffi-bindgen UNIFFI_LIB=$(UNIFFI_LIB) OUT=$(UNIFFI_OUT)/ios ios/check.sh
	UNIFFI_BINDGEN=$(TARGET_DIR)/debug/uniffi-bindgen UNIFFI_LIB=$(UNIFFI_LIB) OUT=$(UNIFFI_OUT)/swift-linux ios/linux/swift-test.sh

## The interop suite: the real-world SyncML DM corpus (captures, spec
## examples; ../shared/corpus/syncml, or CORPUS=DIR) through our codec and
## libwbxml's tools. Not part of `make test`: a user's clone has no corpus.
CORPUS ?= $(abspath ../shared/corpus/syncml)
interop: c-tools
	@test -d "$(CORPUS)" || { echo "make interop: the real-world corpus is not at $(CORPUS); put ../shared next to the clone or pass CORPUS=DIR" >&2; exit 1; }
	$(CARGO) clippy -p dmsched --features interop --test interop_corpus_xml --test interop_corpus_wbxml -- -D warnings
	DMSCHED_CORPUS="$(CORPUS)" $(CARGO) test -p dmsched --features interop --test interop_corpus_xml --test interop_corpus_wbxml

## Install the C library, header, pkg-config file and CMake package:
##   make install PREFIX=/usr/local [PROFILE=release|debug]
PREFIX ?= /usr/local
PROFILE ?= release
# The shared library's file names: libdmsched.so.<version>, its SONAME
# libdmsched.so.<major> (bindings/c/build.rs) and libdmsched.so.
C_VERSION := 0.1.0
C_MAJOR := 0
install:
	$(CARGO) build -p dmsched-c $(VARIANT_FEATURES) $(if $(filter release,$(PROFILE)),--release)
	install -d $(PREFIX)/include $(PREFIX)/lib/pkgconfig $(PREFIX)/lib/cmake/dmsched
	install -m 644 include/dmsched.h $(PREFIX)/include/
	install -m 644 $(TARGET_DIR)/$(PROFILE)/libdmsched.a $(PREFIX)/lib/
	install -m 755 $(TARGET_DIR)/$(PROFILE)/libdmsched.so $(PREFIX)/lib/libdmsched.so.$(C_VERSION)
	ln -sf libdmsched.so.$(C_VERSION) $(PREFIX)/lib/libdmsched.so.$(C_MAJOR)
	ln -sf libdmsched.so.$(C_MAJOR) $(PREFIX)/lib/libdmsched.so
	sed -e 's|@PREFIX@|$(abspath $(PREFIX))|' -e 's|@VERSION@|$(C_VERSION)|' \
		-e 's|@CFLAGS@|$(VARIANT_CFLAGS)|' bindings/c/pkg/dmsched.pc.in > $(PREFIX)/lib/pkgconfig/dmsched.pc
	install -m 644 bindings/c/pkg/dmschedConfig.cmake bindings/c/pkg/dmschedConfigVersion.cmake \
		$(PREFIX)/lib/cmake/dmsched/
	echo 'set(dmsched_COMPILE_DEFINITIONS "$(patsubst -D%,%,$(VARIANT_CFLAGS))")' \
		> $(PREFIX)/lib/cmake/dmsched/dmschedVariant.cmake

# The C legacy-client sample, built three ways against an installed tree
# (static library, shared library via pkg-config, CMake package) and run.
C_PREFIX := $(abspath $(TARGET_DIR))/c-install
c-sample: c-tools
	$(MAKE) --no-print-directory install PREFIX=$(C_PREFIX) PROFILE=debug
	$(MAKE) --no-print-directory -C samples/c-legacy-client clean legacy-client shared PREFIX=$(C_PREFIX)
	cmake -S samples/c-legacy-client -B $(TARGET_DIR)/c-sample-cmake -DCMAKE_PREFIX_PATH=$(C_PREFIX) >/dev/null
	cmake --build $(TARGET_DIR)/c-sample-cmake >/dev/null
	cd samples/c-legacy-client && ./legacy-client schedule.json > $(abspath $(TARGET_DIR))/c-sample.out
	cd samples/c-legacy-client && LD_LIBRARY_PATH=$(C_PREFIX)/lib ./legacy-client-shared schedule.json > /dev/null
	$(TARGET_DIR)/c-sample-cmake/legacy-client samples/c-legacy-client/schedule.json > /dev/null
	grep -q '"task":"power-saver","seq":0' $(TARGET_DIR)/c-sample.out
	grep -q 'would send to legacy-server' $(TARGET_DIR)/c-sample.out
	grep -q '^done: [1-9][0-9]* commands run' $(TARGET_DIR)/c-sample.out
	@echo "c-sample: 3 builds ran, output checked"
	$(MAKE) --no-print-directory -C samples/c-legacy-client clean

## The shipped libraries' sizes (release profile, stripped, this host's
## target) per variant, each built in its own target directory.
size:
	@for v in full handoff; do \
		d=$(abspath $(TARGET_DIR))/size-$$v; \
		$(CARGO) build -q --release -p dmsched-c -p dmsched-uniffi \
			$$( [ $$v = handoff ] && echo --no-default-features ) --target-dir $$d || exit 1; \
		for l in libdmsched.so libdmsched_uniffi.so; do \
			strip -o $$d/$$l.stripped $$d/release/$$l && \
			stat -c %s $$d/$$l.stripped | awk -v v=$$v -v l=$$l \
				'{ printf "%-8s %-22s %9d bytes stripped (%.2f MB)\n", v, l, $$1, $$1 / 1e6 }'; \
		done; \
	done

## The long versions (not part of `make test`): SOAK_CASES random
## histories of the accounting test, the crash torture, and 1000 SIGKILLs
## through the C ABI.
SOAK_CASES ?= 2000
soak:
	DMSCHED_SOAK_CASES=$(SOAK_CASES) $(CARGO) test --release -p dmsched --test accounting_property --test crash_safety
	DMSCHED_TORTURE_KILLS=1000 $(CARGO) test --release -p dmsched-c --test crash_torture -- --nocapture

## Benchmarks (not part of `make test`); figures go to docs/performance.md.
bench:
	$(CARGO) bench -p dmsched

## Fuzzing (fuzz/: cargo-fuzz, libFuzzer, AddressSanitizer), one target per
## parser of untrusted bytes. Stable toolchain: RUSTC_BOOTSTRAP=1 lets it
## take cargo-fuzz's -Z sanitizer flags (stable rust-std ships the ASan
## runtime). cargo-fuzz goes to a cache outside the clone, shared by clones.
## fuzz-smoke (in `make test`): FUZZ_SMOKE_SECS per target; `make fuzz`:
## FUZZ_RUNS executions per target (FUZZ_TARGETS="a b" to pick). Any crash,
## timeout (1 s) or OOM (2 GB) fails; the input is in fuzz/artifacts/<target>/.
CARGO_FUZZ_VERSION := 0.13.2
CARGO_FUZZ_ROOT ?= $(HOME)/.cache/dmsched/cargo-bin
FUZZ_ENV := PATH="$(CARGO_FUZZ_ROOT)/bin:$$PATH" RUSTC_BOOTSTRAP=1
FUZZ_TARGETS ?= syncml_xml syncml_wbxml syncml_roundtrip notification schedule expr rrule tnds uri acl account
FUZZ_BIN = fuzz/target/$(shell rustc -vV | sed -n 's/host: //p')/release
FUZZ_FLAGS := -timeout=1 -rss_limit_mb=2048
FUZZ_SMOKE_SECS ?= 15
FUZZ_RUNS ?= 10000000
fuzz-tools:
	@$(FUZZ_ENV) $(CARGO) fuzz --version 2>/dev/null | grep -q "$(CARGO_FUZZ_VERSION)" \
		|| $(CARGO) install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked --root "$(CARGO_FUZZ_ROOT)"

# Seeds fuzz/corpus/ from fixtures, examples, docs and fuzz/regressions/.
fuzz-build: fuzz-tools
	$(PYTHON) fuzz/seed.py
	cd fuzz && $(FUZZ_ENV) $(CARGO) fuzz build -O $(if $(filter 1,$(words $(FUZZ_TARGETS))),$(FUZZ_TARGETS))

fuzz-smoke: FUZZ_LIMIT = -max_total_time=$(FUZZ_SMOKE_SECS)
fuzz: FUZZ_LIMIT = -runs=$(FUZZ_RUNS) -print_final_stats=1
fuzz-smoke fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/artifacts/$$t && log=fuzz/artifacts/$$t/$@.log && \
		echo "== $@ $$t" && \
		$(FUZZ_BIN)/$$t fuzz/corpus/$$t $(FUZZ_FLAGS) $(FUZZ_LIMIT) -artifact_prefix=fuzz/artifacts/$$t/ \
			> $$log 2>&1 || { tail -40 $$log; echo "$@: $$t: crash, timeout or OOM; input in fuzz/artifacts/$$t/, log $$log" >&2; exit 1; }; \
		grep -E '^#[0-9]+' $$log | tail -1; \
	done
