#!/usr/bin/python3
"""gen.py: hand-made event streams for the events suite.

usage: gen.py NAME OUT   (NAME: one of STREAMS below)
Frames are built with the python msgpack module (an independent encoder),
4-byte big-endian length + one map {ts, kind, payload}.
"""
import struct
import sys

import msgpack

T0 = 1_700_000_000_000_000_000
MB = 1 << 20


def res(mem, cpus):
    return {"memory_bytes": mem, "cpus": cpus}


class S:
    def __init__(self):
        self.frames = []
        self.t = T0

    def ev(self, kind, dt_ms=1, **payload):
        self.t += dt_ms * 1_000_000
        self.frames.append({"ts": self.t, "kind": kind, "payload": payload})
        return self

    def raw(self, obj):
        self.frames.append(obj)
        return self

    def bytes(self):
        out = []
        for f in self.frames:
            body = f if isinstance(f, bytes) else msgpack.packb(f, use_bin_type=True)
            out.append(struct.pack(">I", len(body)) + body)
        return b"".join(out)


def discovered(s, path, refs=()):
    return s.ev("file_discovered", path=path, fixture_refs=list(refs),
                declared_claim=None)


def test(s, path, name, result="passed", meta=None, dur_ms=5, reason="",
         excerpt=""):
    meta = {} if meta is None else meta
    s.ev("test_started", path=path, name=name, meta=meta)
    if result == "passed":
        s.ev("test_passed", dur_ms, path=path, name=name,
             duration_ns=dur_ms * 1_000_000, meta=meta)
    elif result == "failed":
        s.ev("test_failed", dur_ms, path=path, name=name,
             duration_ns=dur_ms * 1_000_000, reason=reason,
             console_excerpt=excerpt, meta=meta)
    else:
        s.ev("test_skipped", path=path, name=name, reason=reason, meta=meta)


def good():
    """A complete, valid run: 3 files, fixtures, VMs, claims, blocking."""
    s = S()
    discovered(s, "net/ping.test.lua", ["fx/base"])
    discovered(s, "fs/open.test.lua", ["fx/base"])
    discovered(s, "boot.test.lua")
    s.ev("pool_state", used=res(0, 0), available=res(4096 * MB, 4))
    s.ev("file_dispatched", path="boot.test.lua", reservation=res(256 * MB, 1))
    s.ev("file_blocked", path="net/ping.test.lua", waiting_for=res(256 * MB, 1),
         reason="pool_full")
    s.ev("vm_spawned", file="boot.test.lua", vm_name="a", profile="linux",
         memory_bytes=512 * MB, cid=3)
    test(s, "boot.test.lua", "boots", meta={"spec": "4.1"}, dur_ms=120)
    test(s, "boot.test.lua", "reboots", meta={"spec": ["4.1", "4.2.1"]},
         dur_ms=300)
    test(s, "boot.test.lua", "todo later", "skipped", meta={"spec": "4.2.2"},
         reason="todo: not yet")
    s.ev("vm_shutdown", 10, file="boot.test.lua", vm_name="a",
         duration_ns=450_000_000)
    s.ev("file_completed", path="boot.test.lua", status="passed",
         duration_ns=480_000_000)
    s.ev("file_dispatched", 200, path="net/ping.test.lua",
         reservation=res(256 * MB, 1))
    s.ev("fixture_build_started", path="fx/base")
    s.ev("file_dispatched", path="fs/open.test.lua", reservation=res(256 * MB, 1))
    s.ev("fixture_build_waiting", path="fx/base", held_by_file="net/ping.test.lua")
    s.ev("fixture_build_done", 900, path="fx/base", duration_ns=900_000_000,
         snapshot_bytes=12 * MB)
    s.ev("fixture_cache_hit", path="fx/base")
    s.ev("claim_acquired", path="net/ping.test.lua", amount=res(1024 * MB, 2))
    s.ev("vm_spawned", file="net/ping.test.lua", vm_name="client",
         profile="linux", memory_bytes=512 * MB, cid=4)
    s.ev("vm_spawned", file="fs/open.test.lua", vm_name="fs", profile="linux",
         memory_bytes=256 * MB, cid=5)
    test(s, "net/ping.test.lua", "ping answers", meta={"spec": "§5.1"}, dur_ms=40)
    test(s, "net/ping.test.lua", "ping floods", "failed",
         meta={"spec": "§5.2", "tags": ["net"]}, dur_ms=2500,
         reason="expected 0 lost packets, got 3",
         excerpt="---- vm client (last 64 bytes) ----\n[   1.2] eth0: link up\n"
                 "ping: 3 packets lost\n")
    test(s, "fs/open.test.lua", "open O_EXCL", meta={"spec": "6.3"}, dur_ms=30)
    test(s, "fs/open.test.lua", "untagged", meta={"owner": "x"}, dur_ms=10)
    test(s, "fs/open.test.lua", "bytes meta", meta={"spec": b"6.4"}, dur_ms=10)
    s.ev("vm_shutdown", file="fs/open.test.lua", vm_name="fs",
         duration_ns=70_000_000)
    s.ev("file_completed", path="fs/open.test.lua", status="passed",
         duration_ns=1_000_000_000)
    s.ev("vm_shutdown", file="net/ping.test.lua", vm_name="client",
         duration_ns=2_600_000_000)
    s.ev("claim_released", path="net/ping.test.lua", amount=res(1024 * MB, 2))
    s.ev("file_completed", path="net/ping.test.lua", status="timed_out",
         duration_ns=3_500_000_000)
    return s


def incomplete():
    """Like good, but one discovered file never completes (Ctrl-C)."""
    s = S()
    discovered(s, "a.test.lua")
    discovered(s, "b.test.lua")
    s.ev("file_dispatched", path="a.test.lua", reservation=res(MB, 1))
    test(s, "a.test.lua", "one", meta={"spec": "1.1"})
    s.ev("file_completed", path="a.test.lua", status="passed", duration_ns=9)
    s.ev("file_dispatched", path="b.test.lua", reservation=res(MB, 1))
    s.ev("test_started", path="b.test.lua", name="hangs", meta={"spec": "1.2"})
    return s


def violations():
    """One of each guarantee broken; see expected/check-violations.txt."""
    s = S()
    discovered(s, "a.test.lua")
    discovered(s, "b.test.lua")
    s.ev("file_dispatched", path="a.test.lua", reservation=res(MB, 1))    # 2
    discovered(s, "late.test.lua")                                         # 3
    s.ev("file_dispatched", path="a.test.lua", reservation=res(MB, 1))    # 4
    s.ev("file_blocked", path="a.test.lua", waiting_for=res(MB, 1),
         reason="pool_full")                                               # 5
    s.ev("test_passed", path="a.test.lua", name="no start", duration_ns=1,
         meta={})                                                          # 6
    s.ev("test_started", path="a.test.lua", name="t", meta={})            # 7
    s.ev("test_passed", path="a.test.lua", name="t", duration_ns=1, meta={})
    s.ev("test_failed", path="a.test.lua", name="t", duration_ns=1,
         reason="r", console_excerpt="", meta={})                          # 9
    s.ev("test_started", path="a.test.lua", name="t", meta={})            # 10
    s.ev("test_started", path="a.test.lua", name="unfinished", meta={})   # 11
    s.ev("claim_released", path="a.test.lua", amount=res(MB, 1))          # 12
    s.ev("claim_acquired", path="a.test.lua", amount=res(MB, 1))          # 13
    s.ev("fixture_build_done", path="fx/x", duration_ns=1,
         snapshot_bytes=1)                                                 # 14
    s.ev("fixture_build_started", path="fx/y")                            # 15
    s.ev("fixture_cache_hit", path="fx/y")                                # 16
    s.ev("fixture_cache_hit", path="fx/z")                                # 17
    s.ev("fixture_build_started", path="fx/z")                            # 18
    s.ev("fixture_build_done", path="fx/z", duration_ns=1, snapshot_bytes=1)
    s.ev("vm_spawned", file="a.test.lua", vm_name="v", profile="p",
         memory_bytes=1, cid=3)                                            # 20
    s.ev("file_completed", path="a.test.lua", status="passed",
         duration_ns=1)                                                    # 21
    s.ev("file_completed", path="a.test.lua", status="passed",
         duration_ns=1)                                                    # 22
    s.ev("test_started", path="a.test.lua", name="after", meta={})        # 23
    s.ev("file_dispatched", path="ghost.test.lua", reservation=res(1, 1)) # 24
    s.raw({"ts": 1, "kind": "file_exploded", "payload": {}})              # 25
    s.ev("file_completed", path="b.test.lua", status="passed",
         duration_ns=1)                                                    # 26
    return s


def truncated():
    b = good().bytes()
    return b[:-7]


def corrupt():
    """Valid frames, then a body that is not msgpack, then more frames."""
    s = S()
    discovered(s, "a.test.lua")
    s.raw(b"\xc1\xc1\xc1")
    s.ev("file_dispatched", path="a.test.lua", reservation=res(1, 1))
    return s


def oversize():
    b = S()
    discovered(b, "a.test.lua")
    return b.bytes() + struct.pack(">I", 0xFFFFFFF0) + b"x"


def big():
    """2000 files x 10 tests: ~46k frames, a few MB, for socket pressure."""
    s = S()
    files = ["f%04d.test.lua" % i for i in range(2000)]
    for f in files:
        discovered(s, f)
    for f in files:
        s.ev("file_dispatched", path=f, reservation=res(MB, 1))
        for t in range(10):
            test(s, f, "test %d" % t, meta={"spec": "%d.%d" % (t % 3, t)},
                 dur_ms=1)
        s.ev("file_completed", path=f, status="passed", duration_ns=10)
    return s


def empty():
    return S()


STREAMS = {"good": good, "incomplete": incomplete, "violations": violations,
           "truncated": truncated, "corrupt": corrupt, "oversize": oversize,
           "empty": empty, "big": big}


def main():
    name, out = sys.argv[1], sys.argv[2]
    data = STREAMS[name]()
    if isinstance(data, S):
        data = data.bytes()
    with open(out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
