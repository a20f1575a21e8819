#!/usr/bin/env python3
"""Cross-checks docs/event-schema.json against the Rust decoder, independently
of the Rust code that generated it: every line of a generated company must
validate, and in the golden input exactly the lines the decoder rejects for a
schema reason (not duplicate/too_late, which are stream rules) must fail.

Usage: check_schema.py SCHEMA EVENTS.ndjson GOLDEN.ndjson GOLDEN_DLQ.ndjson
"""
import json
import sys

import jsonschema

STREAM_RULES = {"duplicate", "too_late", "future_timestamp"}


def main(schema_path, events_path, golden_path, dlq_path):
    schema = json.load(open(schema_path))
    v = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    n = 0
    for line in open(events_path):
        n += 1
        errs = list(v.iter_errors(json.loads(line)))
        if errs:
            sys.exit(f"generated line {n} fails the schema: {errs[0].message[:300]}")
    rejected = {}
    for line in open(dlq_path):
        d = json.loads(line)
        rejected[d["line"]] = d["reason"]
    for i, line in enumerate(open(golden_path), 1):
        try:
            valid = v.is_valid(json.loads(line))
        except json.JSONDecodeError:
            valid = False
        decoder_rejects = i in rejected and rejected[i] not in STREAM_RULES
        if valid == decoder_rejects:
            sys.exit(f"golden line {i}: schema says valid={valid}, decoder says {rejected.get(i, 'ok')}")
    print(f"schema check: {n} generated lines valid; golden file agrees with the decoder")


if __name__ == "__main__":
    main(*sys.argv[1:5])
