"""Independent reader of provium event streams (python msgpack), with the
seed-001 shape and guarantee checks every supervisor test applies."""
import msgpack

RES = {"memory_bytes": int, "cpus": int}
KINDS = {
    "file_discovered": {"path": str, "fixture_refs": list, "declared_claim": "optres"},
    "file_dispatched": {"path": str, "reservation": RES},
    "file_blocked": {"path": str, "waiting_for": RES, "reason": str},
    "file_completed": {"path": str, "status": str, "duration_ns": int},
    "test_started": {"path": str, "name": str, "meta": dict},
    "test_passed": {"path": str, "name": str, "duration_ns": int, "meta": dict},
    "test_failed": {"path": str, "name": str, "duration_ns": int, "reason": str,
                    "console_excerpt": str, "meta": dict},
    "test_skipped": {"path": str, "name": str, "reason": str, "meta": dict},
    "vm_spawned": {"file": str, "vm_name": str, "profile": str, "memory_bytes": int,
                   "cid": int},
    "vm_shutdown": {"file": str, "vm_name": str, "duration_ns": int},
    "pool_state": {"used": RES, "available": RES},
    "claim_acquired": {"path": str, "amount": RES},
    "claim_released": {"path": str, "amount": RES},
    "fixture_build_started": {"path": str},
    "fixture_build_done": {"path": str, "duration_ns": int, "snapshot_bytes": int},
    "fixture_build_waiting": {"path": str, "held_by_file": str},
    "fixture_cache_hit": {"path": str},
}
STATUSES = {"passed", "failed", "timed_out", "crashed"}


class StreamError(Exception):
    pass


def _check_type(where, v, t):
    if t == "optres":
        if v is not None:
            _check_type(where, v, RES)
    elif isinstance(t, dict):
        if not isinstance(v, dict) or set(v) != set(t):
            raise StreamError(f"{where}: expected fields {sorted(t)}, got {v!r}")
        for k, tt in t.items():
            _check_type(f"{where}.{k}", v[k], tt)
    elif t is int:
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise StreamError(f"{where}: expected unsigned int, got {v!r}")
    elif not isinstance(v, t):
        raise StreamError(f"{where}: expected {t.__name__}, got {v!r}")


def decode(data):
    """Frames of a byte string; raises StreamError on any deviation."""
    out, i = [], 0
    while i < len(data):
        if i + 4 > len(data):
            raise StreamError(f"truncated header at byte {i}")
        n = int.from_bytes(data[i:i + 4], "big")
        i += 4
        if i + n > len(data):
            raise StreamError(f"truncated body at byte {i}")
        f = msgpack.unpackb(data[i:i + n], raw=False, strict_map_key=True)
        i += n
        if not isinstance(f, dict) or set(f) != {"ts", "kind", "payload"}:
            raise StreamError(f"frame is not {{ts, kind, payload}}: {f!r}")
        if not isinstance(f["ts"], int) or f["ts"] <= 0:
            raise StreamError(f"bad ts {f['ts']!r}")
        if f["kind"] not in KINDS:
            raise StreamError(f"unknown kind {f['kind']!r}")
        _check_type(f["kind"], f["payload"], KINDS[f["kind"]])
        if f["kind"] == "file_completed" and f["payload"]["status"] not in STATUSES:
            raise StreamError(f"bad status {f['payload']!r}")
        out.append(f)
    return out


def guarantees(frames):
    """Seed 001's guarantees; returns a list of violations (empty = ok)."""
    bad = []
    seen_dispatch = False
    discovered, dispatched, completed = [], {}, {}
    tests, vms, claims, builds = {}, {}, {}, {}
    ts_prev = 0
    for i, f in enumerate(frames):
        k, p = f["kind"], f["payload"]
        if f["ts"] < ts_prev:
            bad.append(f"#{i} ts goes backwards")
        ts_prev = f["ts"]
        path = p.get("path", p.get("file"))
        if k == "file_discovered":
            if seen_dispatch:
                bad.append(f"#{i} file_discovered {path} after a dispatch")
            if path in discovered:
                bad.append(f"#{i} {path} discovered twice")
            discovered.append(path)
        elif k == "file_dispatched":
            seen_dispatch = True
            if path in dispatched:
                bad.append(f"#{i} {path} dispatched twice")
            dispatched[path] = i
        elif k == "file_completed":
            if path in completed:
                bad.append(f"#{i} {path} completed twice")
            completed[path] = i
            for (tp, tn), st in tests.items():
                if tp == path and st != "done":
                    bad.append(f"#{i} {path} completed with test {tn} open")
            if claims.get(path):
                bad.append(f"#{i} {path} completed with its claim open")
            for cid, fp in vms.items():
                if fp == path:
                    bad.append(f"#{i} {path} completed with vm {cid} open")
        elif k == "test_started":
            key = (path, p["name"])
            if key in tests:
                bad.append(f"#{i} test {key} started twice")
            tests[key] = "open"
        elif k in ("test_passed", "test_failed", "test_skipped"):
            key = (path, p["name"])
            if tests.get(key) != "open":
                bad.append(f"#{i} {k} {key} without an open test_started")
            tests[key] = "done"
        elif k == "vm_spawned":
            vms[(path, p["vm_name"], p["cid"])] = path
        elif k == "vm_shutdown":
            match = [v for v in vms if v[0] == path and v[1] == p["vm_name"]]
            if not match:
                bad.append(f"#{i} vm_shutdown {path}/{p['vm_name']} without vm_spawned")
            else:
                del vms[match[0]]
        elif k == "claim_acquired":
            if claims.get(path):
                bad.append(f"#{i} second claim for {path}")
            claims[path] = True
        elif k == "claim_released":
            if not claims.get(path):
                bad.append(f"#{i} claim_released for {path} without claim")
            claims[path] = False
        elif k in ("fixture_build_started", "fixture_build_waiting"):
            builds[path] = builds.get(path, 0) + 1
        elif k == "fixture_build_done":
            if not builds.get(path):
                bad.append(f"#{i} fixture_build_done {path} without a start")
            else:
                builds[path] -= 1
        if k != "file_discovered" and k.startswith("file_") and path not in discovered:
            bad.append(f"#{i} {k} for undiscovered {path}")
    for d in discovered:
        if d not in completed:
            bad.append(f"{d} never completed")
    for key, st in tests.items():
        if st != "done":
            bad.append(f"test {key} never finished")
    if vms:
        bad.append(f"vms never shut down: {sorted(vms)}")
    if any(claims.values()):
        bad.append("claims never released")
    if any(builds.values()):
        bad.append(f"builds never done: {builds}")
    return bad


def line(f):
    """One compact, timing-free line per event, for exact sequence checks."""
    k, p = f["kind"], f["payload"]
    if k == "file_discovered":
        c = p["declared_claim"]
        return f"file_discovered refs={p['fixture_refs']} claim=" + (
            "nil" if c is None else f"{c['memory_bytes']}/{c['cpus']}")
    if k == "file_dispatched":
        r = p["reservation"]
        return f"file_dispatched {r['memory_bytes']}/{r['cpus']}"
    if k == "file_completed":
        return f"file_completed {p['status']}"
    if k == "test_started":
        return f"test_started {p['name']} meta={p['meta']}" if p["meta"] else \
            f"test_started {p['name']}"
    if k == "test_passed":
        return f"test_passed {p['name']}"
    if k == "test_failed":
        return f"test_failed {p['name']}: {p['reason']}"
    if k == "test_skipped":
        return f"test_skipped {p['name']}: {p['reason']}"
    if k == "vm_spawned":
        return f"vm_spawned {p['vm_name']} {p['profile']} {p['memory_bytes']} {p['cid']}"
    if k == "vm_shutdown":
        return f"vm_shutdown {p['vm_name']}"
    if k in ("claim_acquired", "claim_released"):
        a = p["amount"]
        return f"{k} {a['memory_bytes']}/{a['cpus']}"
    if k == "fixture_build_done":
        return f"fixture_build_done {p['path']} {p['snapshot_bytes']}"
    return f"{k} {p.get('path', '')}"


def per_file(frames):
    """{path: [line...]} for the events that name a file."""
    out = {}
    for f in frames:
        p = f["payload"]
        path = p.get("file") if f["kind"].startswith("vm_") else p.get("path")
        if f["kind"].startswith("fixture_") or f["kind"] == "pool_state":
            continue
        out.setdefault(path, []).append(line(f))
    return out


def lines(frames):
    """line() of every event but pool_state (its cadence is timing)."""
    return [line(f) for f in frames if f["kind"] != "pool_state"]
