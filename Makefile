# dmsched — the two set-up commands are `make demo` and `make test`.
# Both install what they need (idempotently) first.

CARGO ?= cargo
PYTHON ?= python3
export CARGO_TERM_COLOR ?= never

.PHONY: demo test deps rust-components py-deps c-tools fmt clippy cargo-test header header-check c-test bench

TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
CBINDGEN_VERSION := 0.29.4
C_FLAGS := -std=c99 -Wall -Wextra -Werror -pedantic -g -Iinclude
C_OUT := $(TARGET_DIR)/c-tests
VALGRIND := valgrind --error-exitcode=1 --leak-check=full --num-callers=50 \
	--suppressions=bindings/c/tests/valgrind.supp -q

## Run the main job: simulate a realistic schedule set and show its timeline.
demo: rust-components
	$(CARGO) build -q -p dmsched-cli
	./target/debug/dmsched validate examples/fleet.json
	./target/debug/dmsched simulate examples/fleet.json \
		--from 2026-03-06T00:00:00Z --until 2026-03-10T00:00:00Z \
		--tree examples/fleet-tree.json --events examples/fleet-events.jsonl \
		--time-zone America/New_York --svg target/demo-timeline.svg
	@echo "timeline picture: target/demo-timeline.svg"

## Run every test suite.
test: deps fmt clippy cargo-test header-check c-test

deps: rust-components py-deps c-tools

rust-components:
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

# python-dateutil is the independent oracle for calendar expansion; jsonschema
# checks docs/schedule.schema.json against the parser.
py-deps:
	@$(PYTHON) -c "import dateutil, jsonschema" 2>/dev/null \
		|| $(PYTHON) -m pip install --quiet --disable-pip-version-check python-dateutil jsonschema \
		|| $(PYTHON) -m pip install --quiet --disable-pip-version-check --break-system-packages python-dateutil jsonschema

# The C ABI needs cbindgen (pinned), gcc/g++ and valgrind.
c-tools:
	@cbindgen --version 2>/dev/null | grep -q "$(CBINDGEN_VERSION)" \
		|| $(CARGO) install cbindgen --version $(CBINDGEN_VERSION) --locked
	@command -v valgrind >/dev/null && command -v g++ >/dev/null \
		|| (apt-get update -qq && apt-get install -y -qq valgrind gcc g++)

fmt:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

cargo-test:
	$(CARGO) test --workspace

## Regenerate include/dmsched.h from bindings/c (checked in).
header: c-tools
	cbindgen --config bindings/c/cbindgen.toml --crate dmsched-c --output include/dmsched.h bindings/c

# The checked-in header must be exactly what cbindgen generates, and must
# compile as C99 and as C++17.
header-check: c-tools
	cbindgen --config bindings/c/cbindgen.toml --crate dmsched-c --output include/dmsched.h --verify bindings/c
	gcc -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c include/dmsched.h
	g++ -std=c++17 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c++ include/dmsched.h

# The C test suite against the static and the shared library, under
# AddressSanitizer and under valgrind.
c-test: c-tools
	$(CARGO) build -p dmsched-c
	mkdir -p $(C_OUT)
	gcc $(C_FLAGS) bindings/c/tests/test_api.c $(TARGET_DIR)/debug/libdmsched.a -lpthread -ldl -lm -o $(C_OUT)/test_static
	gcc $(C_FLAGS) bindings/c/tests/test_api.c -L$(TARGET_DIR)/debug -ldmsched -lpthread -o $(C_OUT)/test_shared
	gcc $(C_FLAGS) -fsanitize=address -fno-omit-frame-pointer bindings/c/tests/test_api.c \
		$(TARGET_DIR)/debug/libdmsched.a -lpthread -ldl -lm -o $(C_OUT)/test_asan
	$(C_OUT)/test_static
	LD_LIBRARY_PATH=$(TARGET_DIR)/debug $(C_OUT)/test_shared
	$(C_OUT)/test_asan
	$(VALGRIND) $(C_OUT)/test_static
	LD_LIBRARY_PATH=$(TARGET_DIR)/debug $(VALGRIND) $(C_OUT)/test_shared

## Benchmarks (not part of `make test`); figures go to docs/performance.md.
bench:
	$(CARGO) bench -p dmsched
