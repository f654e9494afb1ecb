#!/usr/bin/env python3
"""Folds a JSON-lines change stream (ss-cat output) into table state, as a replay would, and prints
"rows md5" for one table: md5 over "id,col" rows in id order. Used by tests and the demo to check that
snapshot + stream (or an archive window) rebuild a table exactly.

usage: fold_state.py FILE TABLE VALUE_COLUMN
"""
import hashlib
import json
import sys


def main():
    path, table, column = sys.argv[1:4]
    rows = {}
    for line in open(path):
        r = json.loads(line)
        if r.get("table") != table:
            continue
        op = r["op"]
        if op in ("snapshot", "insert", "update"):
            cols = {c["name"]: c.get("text") for c in r["columns"]}
            if op == "update" and r.get("old_columns"):
                rows.pop(r["old_columns"][0]["text"], None)
            rows[cols["id"]] = "%s,%s" % (cols["id"], cols[column])
        elif op == "delete":
            rows.pop(r["old_columns"][0]["text"], None)
        elif op == "truncate":
            rows.clear()
    keys = sorted(rows, key=int)
    print(len(keys), hashlib.md5(";".join(rows[k] for k in keys).encode()).hexdigest())


main()
