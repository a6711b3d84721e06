#!/usr/bin/env python3
"""Validates schedule documents against docs/schedule.schema.json.

Reads a JSON list of documents on stdin and prints a JSON list of booleans
(valid or not), so that the Rust test can check that the published schema and
the engine's parser agree. Needs the PyPI package jsonschema.
"""
import json
import pathlib
import sys

try:
    from jsonschema import Draft202012Validator
except ImportError:
    sys.exit("jsonschema is missing: pip install jsonschema (make test installs it)")

schema_path = pathlib.Path(__file__).resolve().parents[3] / "docs" / "schedule.schema.json"
schema = json.loads(schema_path.read_text())
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema)
docs = json.load(sys.stdin)
json.dump([validator.is_valid(d) for d in docs], sys.stdout)
