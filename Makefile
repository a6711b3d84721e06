# dmsched — the two set-up commands are `make demo` and `make test`.
# Both install what they need (idempotently) first.

CARGO ?= cargo
PYTHON ?= python3
export CARGO_TERM_COLOR ?= never

.PHONY: demo test deps rust-components py-deps fmt clippy cargo-test bench

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
test: deps fmt clippy cargo-test

deps: rust-components py-deps

rust-components:
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

# python-dateutil is the independent oracle for calendar expansion; jsonschema
# checks docs/schedule.schema.json against the parser.
py-deps:
	@$(PYTHON) -c "import dateutil, jsonschema" 2>/dev/null \
		|| $(PYTHON) -m pip install --quiet --disable-pip-version-check python-dateutil jsonschema \
		|| $(PYTHON) -m pip install --quiet --disable-pip-version-check --break-system-packages python-dateutil jsonschema

fmt:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

cargo-test:
	$(CARGO) test --workspace

## Benchmarks (not part of `make test`); figures go to docs/performance.md.
bench:
	$(CARGO) bench -p dmsched
