#!/usr/bin/python3
"""Validate plantfit's JSON outputs against the schemas in this directory.

    validate.py --base DIR        every artifact of a training base directory that
                                  has a schema (model/manifest.json, model/metrics.json,
                                  output/data/metrics.json, output/data/model-package.json)
    validate.py SCHEMA FILE...    the files against one schema (a name in this
                                  directory, e.g. inspect.schema.json, or a path)

Exit 0 when every file is valid; else 1, one line per error on stderr naming
the file and the JSON path.  Needs python3-jsonschema (scripts/deps.sh)."""
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
BASE_FILES = [("model/manifest.json", "manifest.schema.json"),
              ("model/metrics.json", "metrics.schema.json"),
              ("output/data/metrics.json", "metrics.schema.json"),
              ("output/data/model-package.json", "model-package.schema.json")]


def load_schema(name):
    path = name if os.sep in name else os.path.join(HERE, name)
    with open(path) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def reject_constant(s):
    raise ValueError("non-JSON number %s" % s)


def check(validator, path):
    try:
        with open(path) as f:
            doc = json.load(f, parse_constant=reject_constant)
    except (OSError, ValueError) as e:
        print("%s: not valid JSON: %s" % (path, e), file=sys.stderr)
        return 1
    bad = 0
    for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in e.absolute_path) or "(document)"
        print("%s: %s: %s" % (path, where, e.message), file=sys.stderr)
        bad = 1
    return bad


def main(argv):
    if len(argv) == 3 and argv[1] == "--base":
        bad, seen = 0, 0
        for rel, schema in BASE_FILES:
            p = os.path.join(argv[2], rel)
            if os.path.exists(p):
                seen += 1
                bad |= check(load_schema(schema), p)
        if seen == 0:
            print("%s: no plantfit JSON output to validate" % argv[2], file=sys.stderr)
            return 1
        return bad
    if len(argv) >= 3:
        v = load_schema(argv[1])
        return max(check(v, p) for p in argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
