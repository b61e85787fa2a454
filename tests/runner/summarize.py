#!/usr/bin/python3
"""Summarizes fake_supervisor's JSON lines for cases too big to diff:
per message its type, test name (cut to 20 chars + length), number and
total size of log entries, the last entry, and reason length + tail."""
import json
import re
import sys

for line in sys.stdin:
    line = line.rstrip("\n")
    if not line.startswith("{"):
        print(line)
        continue
    m = json.loads(re.sub(r':(PID|DUR)\b', ':0', line))
    out = [m.get("t", "?")]
    def name(n):
        return n if len(n) <= 20 else "%s...(%d bytes)" % (n[:20], len(n.encode()))
    if "name" in m:
        out.append("name=" + name(m["name"]))
    if "tests" in m:
        out.append("tests=" + ",".join(name(t["name"]) for t in m["tests"]))
    if "log" in m:
        log = m["log"]
        out.append("log=%d entries, %d bytes, last=%r" % (
            len(log), sum(len(x.encode()) for x in log), log[-1] if log else None))
    for k in ("reason", "message"):
        if k in m:
            v = m[k]
            out.append("%s=%d bytes ending %r" % (k, len(v.encode()), v[-4:]))
    print(" ".join(out))
