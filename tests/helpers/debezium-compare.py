#!/usr/bin/python3
"""Compares Debezium's events with ss-cat --format debezium's, event by event.

Usage: debezium-compare.py DEBEZIUM.jsonl SHADOWSTREAM.jsonl

Both files hold one event value per line (Kafka Connect's JSON converter, schemas off). Run-dependent fields are
left out (times, txId, lsn, sequence, xmin, source.name and version, the transaction id), and so are Debezium's
transaction BEGIN/END events (ss-cat writes the transaction block only). Snapshot events (op r) are compared as a
set ordered by table and row, as two snapshots need not copy tables in the same order; the rest in stream order.

Prints one line per kind of difference, sorted: "PATH: debezium VALUE, ss-cat VALUE" (VALUE of the first event that
differs there; PATH like after.bits or source.origin, or "events" when the two streams differ in length or in an
event's op and table). Exit 0 whatever it finds: the test compares the lines with the list in ss-cat(1).
"""
import json
import sys

RUN_DEPENDENT = {
    (): ("ts_ms", "ts_us", "ts_ns"),
    ("source",): ("ts_ms", "ts_us", "ts_ns", "txId", "lsn", "sequence", "xmin", "name", "version"),
    ("transaction",): ("id",),
}


def load(path):
    events = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            e = json.loads(line)
            if "status" in e and "op" not in e:  # a transaction BEGIN/END event
                continue
            for where, keys in RUN_DEPENDENT.items():
                node = e
                for k in where:
                    node = node.get(k) if isinstance(node, dict) else None
                if isinstance(node, dict):
                    for k in keys:
                        node.pop(k, None)
            events.append(e)
    snap = sorted((e for e in events if e.get("op") == "r"),
                  key=lambda e: (e["source"].get("table", ""), json.dumps(e.get("after"), sort_keys=True)))
    return snap + [e for e in events if e.get("op") != "r"]


def short(v):
    s = json.dumps(v, sort_keys=True)
    return s if len(s) <= 80 else s[:60] + "...(" + str(len(s)) + " chars)"


def walk(path, a, b, found):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                found.setdefault(path + k, (short(a.get(k, "(absent)")) if k in a else "(absent)",
                                            short(b[k]) if k in b else "(absent)"))
            else:
                walk(path + k + ".", a[k], b[k], found)
        return
    if a != b:
        found.setdefault(path.rstrip("."), (short(a), short(b)))


def main():
    dbz, ss = load(sys.argv[1]), load(sys.argv[2])
    found = {}
    if len(dbz) != len(ss):
        found["events"] = (str(len(dbz)) + " events", str(len(ss)) + " events")
    for a, b in zip(dbz, ss):
        ka = (a.get("op"), a.get("source", {}).get("table"))
        kb = (b.get("op"), b.get("source", {}).get("table"))
        if ka != kb:
            found.setdefault("events", (short(list(ka)), short(list(kb))))
            continue
        walk("", a, b, found)
    for path in sorted(found):
        print(path + ": debezium " + found[path][0] + ", ss-cat " + found[path][1])


main()
