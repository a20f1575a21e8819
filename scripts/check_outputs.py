#!/usr/bin/env python3
"""Validates output records against the published JSON Schemas in
docs/schemas/, independently of the Rust types that generated them: every
line of every file must name a schema id that docs/schemas/index.json knows
(its `schema` field) and validate against that schema. Also checks that the
record's `kind`, where it has one, agrees with its schema id (alert
records' `kind` is the alert's kind, not the record's).

Usage: check_outputs.py SCHEMA_DIR FILE.ndjson [FILE.ndjson ...]
"""
import json
import os
import sys

import jsonschema


def main(schema_dir, paths):
    index = json.load(open(os.path.join(schema_dir, "index.json")))
    validators = {}
    for sid, file in index.items():
        schema = json.load(open(os.path.join(schema_dir, file)))
        jsonschema.Draft7Validator.check_schema(schema)
        validators[sid] = jsonschema.Draft7Validator(schema)
    counts = {}
    for path in paths:
        for n, line in enumerate(open(path), 1):
            record = json.loads(line)
            sid = record.get("schema")
            if sid not in validators:
                sys.exit(f"{path}:{n}: schema {sid!r} is not one of {sorted(validators)}")
            errors = sorted(validators[sid].iter_errors(record), key=lambda e: list(e.path))
            if errors:
                e = errors[0]
                where = "/".join(str(p) for p in e.path)
                sys.exit(f"{path}:{n}: {sid} at /{where}: {e.message[:300]}")
            kind = record.get("kind")
            if kind is not None and not sid.startswith("alert/") and not sid.startswith(f"{kind}/"):
                sys.exit(f"{path}:{n}: kind {kind!r} under schema {sid!r}")
            counts[sid] = counts.get(sid, 0) + 1
    if not counts:
        sys.exit("no records to check")
    summary = ", ".join(f"{n} {sid}" for sid, n in sorted(counts.items()))
    print(f"output schema check: {summary} valid")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
