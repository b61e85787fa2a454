"""The supervisor suite: runs `provium` on the cases/ trees and asserts the
exact event sequences, human output, --json output and exit codes."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import events

PROVIUM = os.environ["PROVIUM"]
BUILD = os.environ["BUILD"]
TMP = os.environ.get("TMPDIR", "/tmp")
HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(TMP, "cases")
SCRIPT_RUNNER = os.path.join(BUILD, "tests", "tools", "script_runner")
# Sleeps in the cases carry @ID@, replaced by this suite's pid, so that the
# leftover checks below only ever see this instance's processes.
ID = str(os.getpid())
failures = []
current = ["?"]


def fail(msg):
    failures.append(f"[{current[0]}] {msg}")
    print(f"FAIL [{current[0]}] {msg}", file=sys.stderr)


def eq(actual, expected, what):
    if actual != expected:
        fail(f"{what}:\n--- expected\n{fmt(expected)}\n--- actual\n{fmt(actual)}")


def fmt(v):
    if isinstance(v, list):
        return "\n".join(str(x) for x in v)
    return str(v)


def run(case, args, env=None, timeout=60, events_file=True):
    """Runs provium in WORK/case; returns (rc, stdout, stderr, frames)."""
    cwd = os.path.join(WORK, case)
    ev = os.path.join(TMP, "events.bin")
    if os.path.exists(ev):
        os.unlink(ev)
    full = [PROVIUM] + (["--save-events", ev] if events_file else []) + args
    e = dict(os.environ)
    # under ASan a SIGSEGV would become "exited with status 1": let it kill
    e["ASAN_OPTIONS"] = e.get("ASAN_OPTIONS", "") + ":handle_segv=0"
    e.update(env or {})
    p = subprocess.run(full, cwd=cwd, env=e, capture_output=True, timeout=timeout)
    frames = []
    if events_file and os.path.exists(ev):
        frames = check_stream(open(ev, "rb").read())
    return p.returncode, p.stdout.decode(), p.stderr.decode(), frames


def check_stream(data):
    try:
        frames = events.decode(data)
    except events.StreamError as e:
        fail(f"event stream does not decode: {e}")
        return []
    for b in events.guarantees(frames):
        fail(f"guarantee violated: {b}")
    return frames


def human(out):
    """Human output with the elapsed time normalised."""
    return re.sub(r"; \d+\.\d\ds$", "; T", out.rstrip("\n"), flags=re.M).split("\n")


def case(name):
    current[0] = name
    print(f"-- {name}", file=sys.stderr)


# ---------------------------------------------------------------- cases

def t_basic():
    case("basic: pass/fail/skip/todo/tags/chunk errors")
    rc, out, err, fr = run("basic", ["-v"])
    eq(rc, 1, "exit code")
    eq([f["kind"] for f in fr[:7]], ["file_discovered"] * 7, "discovered first")
    pf = events.per_file(fr)
    R = "file_dispatched 52428800/0"
    eq(pf["pass.test.lua"], [
        "file_discovered refs=[] claim=nil", R,
        "test_started adds", "test_passed adds",
        "test_started logs", "test_passed logs",
        "file_completed passed"], "pass.test.lua events")
    eq(pf["fail.test.lua"], [
        "file_discovered refs=[] claim=nil", R,
        "test_started good", "test_passed good",
        "test_started bad", "test_failed bad: fail.test.lua:2: assert_eq failed: 1 ~= 2",
        "test_started multi", "test_failed multi: fail.test.lua:3: line one\nline two",
        "file_completed failed"], "fail.test.lua events")
    eq(pf["skip.test.lua"], [
        "file_discovered refs=[] claim=nil", R,
        "test_started declared meta={'skip': 'not today'}",
        "test_skipped declared: skipped: not today",
        "test_started inline", "test_skipped inline: later",
        "test_started slow meta={'slow': True}",
        "test_skipped slow: filtered: slow tests skipped (pass --include-slow)",
        "file_completed passed"], "skip.test.lua events")
    eq(pf["todo.test.lua"], [
        "file_discovered refs=[] claim=nil", R, "file_completed passed"],
        "todo.test.lua events")
    eq(pf["syntax.test.lua"], [
        "file_discovered refs=[] claim=nil", R, "file_completed crashed"],
        "syntax.test.lua events")
    eq(pf["runtime.test.lua"], [
        "file_discovered refs=[] claim=nil", R, "file_completed crashed"],
        "runtime.test.lua events")
    eq(human(out), [
        "FAIL fail.test.lua (1 passed, 2 failed, 0 skipped)",
        "    PASS good",
        "    FAIL bad",
        "        fail.test.lua:2: assert_eq failed: 1 ~= 2",
        "    FAIL multi",
        "        fail.test.lua:3: line one",
        "        line two",
        "PASS pass.test.lua (2 passed, 0 failed, 0 skipped)",
        "    PASS adds",
        "    PASS logs",
        "FAIL runtime.test.lua",
        "  chunk_error: runtime.test.lua:2: boom at file scope",
        "    stack traceback:",
        "    \t[C]: in function 'error'",
        "    \truntime.test.lua:2: in main chunk",
        "PASS skip.test.lua (0 passed, 0 failed, 3 skipped)",
        "    SKIP declared (skipped: not today)",
        "    SKIP inline (later)",
        "    SKIP slow (filtered: slow tests skipped (pass --include-slow))",
        "FAIL syntax.test.lua",
        "  chunk_error: syntax.test.lua:2: syntax error near 'is'",
        "PASS tags.test.lua (3 passed, 0 failed, 0 skipped)",
        "    PASS net",
        "    PASS disk",
        "    PASS plain",
        "PASS todo.test.lua (0 passed, 0 failed, 0 skipped)",
        "",
        "7 file(s); 6 passed, 2 failed, 3 skipped, 2 file(s) errored; T"],
        "human -v output")

    case("basic: -q prints only failing files")
    rc, out, err, fr = run("basic", ["-q", "pass.test.lua", "fail.test.lua"])
    eq(rc, 1, "exit code")
    eq(human(out), [
        "FAIL fail.test.lua (1 passed, 2 failed, 0 skipped)",
        "    FAIL bad",
        "        fail.test.lua:2: assert_eq failed: 1 ~= 2",
        "    FAIL multi",
        "        fail.test.lua:3: line one",
        "        line two",
        "",
        "2 file(s); 3 passed, 2 failed, 0 skipped; T"], "-q output")

    case("basic: all passing exits 0")
    rc, out, err, fr = run("basic", ["pass.test.lua", "skip.test.lua"])
    eq(rc, 0, "exit code")
    eq(human(out), [
        "PASS pass.test.lua (2 passed, 0 failed, 0 skipped)",
        "PASS skip.test.lua (0 passed, 0 failed, 3 skipped)",
        "",
        "2 file(s); 2 passed, 0 failed, 3 skipped; T"], "plain output")

    case("basic: --json, one object per file in input order")
    rc, out, err, fr = run("basic", ["--json", "pass.test.lua", "syntax.test.lua",
                                      "fail.test.lua"])
    eq(rc, 1, "exit code")
    objs = [json.loads(x) for x in out.splitlines()]
    eq([o["path"] for o in objs], ["fail.test.lua", "pass.test.lua", "syntax.test.lua"],
       "json order (sorted discovery)")
    eq(objs[1], {"path": "pass.test.lua", "timeout": "in_time", "passed": True,
                 "chunk_error": None, "tests": [
                     {"name": "adds", "status": "passed", "message": None, "log": []},
                     {"name": "logs", "status": "passed", "message": None,
                      "log": ["hello from logs"]}]}, "json pass object")
    eq(objs[0]["tests"][1], {"name": "bad", "status": "failed",
                             "message": "fail.test.lua:2: assert_eq failed: 1 ~= 2",
                             "log": []}, "json failed test")
    eq((objs[2]["passed"], objs[2]["chunk_error"], objs[2]["tests"]),
       (False, "syntax.test.lua:2: syntax error near 'is'", []), "json chunk error")

    case("selection: --tag / --no-tag / --include-slow reach the runner")
    rc, out, err, fr = run("basic", ["--tag", "net", "--no-tag", "fast", "tags.test.lua"])
    pf = events.per_file(fr)
    eq([x for x in pf["tags.test.lua"] if x.startswith("test_skipped") or
        x.startswith("test_passed")], [
        "test_skipped net: filtered: matched --no-tag ([\"fast\"])",
        "test_skipped disk: filtered: did not match --tag ([\"net\"])",
        "test_skipped plain: filtered: did not match --tag ([\"net\"])"],
       "tag filtering")
    rc, out, err, fr = run("basic", ["--include-slow", "skip.test.lua"])
    pf = events.per_file(fr)
    eq([x for x in pf["skip.test.lua"] if x.startswith("test_skipped slow") or
        x.startswith("test_passed slow")], ["test_passed slow"], "--include-slow")


def t_crash():
    case("crash: SIGSEGV and SIGKILL mid-test")
    rc, out, err, fr = run("crash", [])
    eq(rc, 1, "exit code")
    pf = events.per_file(fr)
    R = "file_dispatched 52428800/0"
    eq(pf["segv.test.lua"], [
        "file_discovered refs=[] claim=nil", R,
        "test_started before", "test_passed before",
        "test_started boom", "test_failed boom: runner crashed: killed by SIGSEGV",
        "test_started after",
        "test_failed after: failed-due-to-poisoned-state (runner crashed: killed by SIGSEGV)",
        "file_completed crashed"], "segv events")
    eq(pf["kill.test.lua"], [
        "file_discovered refs=[] claim=nil", R,
        "test_started killed", "test_failed killed: runner crashed: killed by SIGKILL",
        "test_started after",
        "test_failed after: failed-due-to-poisoned-state (runner crashed: killed by SIGKILL)",
        "file_completed crashed"], "kill events")
    eq(human(out), [
        "FAIL kill.test.lua (0 passed, 2 failed, 0 skipped)",
        "    FAIL killed",
        "        runner crashed: killed by SIGKILL",
        "    FAIL after",
        "        failed-due-to-poisoned-state (runner crashed: killed by SIGKILL)",
        "FAIL segv.test.lua (1 passed, 2 failed, 0 skipped)",
        "    FAIL boom",
        "        runner crashed: killed by SIGSEGV",
        "    FAIL after",
        "        failed-due-to-poisoned-state (runner crashed: killed by SIGSEGV)",
        "",
        "2 file(s); 1 passed, 4 failed, 0 skipped, 2 file(s) errored; T"], "human")
    no_leftovers(f"sleep 5.{ID}")


def t_hang():
    case("hang: per-test timeout stops a Lua loop; --timeout kills a sleeper")
    t0 = time.monotonic()
    rc, out, err, fr = run("hang", ["--timeout", "1500ms"])
    took = time.monotonic() - t0
    eq(rc, 1, "exit code")
    if took > 10:
        fail(f"run took {took:.1f}s; --timeout 1500ms did not fire")
    pf = events.per_file(fr)
    eq(pf["spin.test.lua"][2:], [
        "test_started forever meta={'timeout': '300ms'}",
        "test_failed forever: test timeout exceeded (300ms)",
        "test_started next", "test_passed next", "file_completed failed"], "spin")
    eq(pf["sleep.test.lua"][2:], [
        "test_started sleepy", "test_failed sleepy: file timeout exceeded (1500ms)",
        "test_started after",
        "test_failed after: failed-due-to-poisoned-state (file timeout exceeded (1500ms))",
        "file_completed timed_out"], "sleep")
    eq(human(out)[:5], [
        "TIME sleep.test.lua (0 passed, 2 failed, 0 skipped)",
        "    FAIL sleepy",
        "        file timeout exceeded (1500ms)",
        "    FAIL after",
        "        failed-due-to-poisoned-state (file timeout exceeded (1500ms))"],
       "TIME line")
    rc, out, err, fr = run("hang", ["--json", "--timeout", "1s", "sleep.test.lua"])
    eq(json.loads(out)["timeout"], "timed_out", "json timeout field")
    no_leftovers(f"sleep 30.17{ID}")


def no_leftovers(pattern):
    time.sleep(0.2)
    p = subprocess.run(["pgrep", "-f", pattern], capture_output=True)
    if p.returncode == 0:
        fail(f"processes left behind matching `{pattern}`: {p.stdout.decode().split()}")
        subprocess.run(["pkill", "-KILL", "-f", pattern])


def t_interrupt():
    for sig, code, name in ((signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")):
        case(f"interrupt: {name} while tests sleep")
        ev = os.path.join(TMP, "events.bin")
        if os.path.exists(ev):
            os.unlink(ev)
        # a 150 MiB pool runs 3 files (50 MiB each); 2 wait and never start
        p = subprocess.Popen([PROVIUM, "--save-events", ev, "--mem", "150M"],
                             cwd=os.path.join(WORK, "interrupt"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = subprocess.run(["pgrep", "-f", f"^sleep 30.23{ID}"], capture_output=True)
            if len(r.stdout.split()) == 3:
                break
            time.sleep(0.05)
        else:
            fail(f"three tests never reached their sleep: {r.stdout.split()}")
        p.send_signal(sig)
        out, err = p.communicate(timeout=20)
        eq(p.returncode, code, "exit code")
        fr = check_stream(open(ev, "rb").read())
        pf = events.per_file(fr)
        for i in (1, 2, 3):
            eq(pf[f"n{i}.test.lua"], [
                "file_discovered refs=[] claim=nil", "file_dispatched 52428800/0",
                f"test_started nap{i}", f"test_failed nap{i}: interrupted ({name})",
                "test_started after",
                f"test_failed after: failed-due-to-poisoned-state (interrupted ({name}))",
                "file_completed crashed"], f"n{i} events")
        for i in (4, 5):
            k = f"n{i}.test.lua"
            # never started: dispatched reserving nothing, then completed
            eq(pf[k], ["file_discovered refs=[] claim=nil", f"file_blocked {k}",
                       "file_dispatched 0/0", "file_completed crashed"],
               f"{k} never dispatched")
            if f"FAIL {k}\n  chunk_error: not run: interrupted ({name})\n" not in out.decode():
                fail(f"human output lacks the not-run line for {k}:\n{out.decode()}")
        no_leftovers(f"sleep 30.23{ID}")


def t_protocol():
    env = {"PROVIUM_RUNNER": SCRIPT_RUNNER}
    R = "file_dispatched 52428800/0"
    D = "file_discovered refs=[] claim=nil"
    expect = {
        "unknown.test.lua": [D, R, "file_completed crashed"],
        "notmap.test.lua": [D, R, "file_completed crashed"],
        "oversize.test.lua": [D, R, "file_completed crashed"],
        "abort_before_hello.test.lua": [D, R, "file_completed crashed"],
        "unregistered.test.lua": [D, R,
            "test_started x",
            "test_failed x: failed-due-to-poisoned-state (runner protocol error: "
            "`test_started` for unregistered test `z`)",
            "test_started y",
            "test_failed y: failed-due-to-poisoned-state (runner protocol error: "
            "`test_started` for unregistered test `z`)",
            "file_completed crashed"],
        "early_done.test.lua": [D, R, "test_started x", "test_passed x",
            "test_started y",
            "test_failed y: failed-due-to-poisoned-state (runner protocol error: "
            "`done` but test `y` never ran)",
            "file_completed crashed"],
        "twice.test.lua": [D, R, "test_started x", "test_passed x",
                           "file_completed crashed"],
        "no_done.test.lua": [D, R, "test_started x", "test_passed x",
                             "file_completed crashed"],
        "clean.test.lua": [D, R, "test_started x", "test_failed x: it broke",
                           "vm_spawned v linux 536870912 101", "vm_shutdown v",
                           "file_completed failed"],
    }
    case("protocol: violations kill the runner, file crashed")
    rc, out, err, fr = run("protocol", ["--json"] + sorted(expect), env=env)
    eq(rc, 1, "exit code")
    pf = events.per_file(fr)
    for k, v in expect.items():
        eq(pf.get(k), v, f"{k} events")
    chunk = {o["path"]: o["chunk_error"] for o in map(json.loads, out.splitlines())}
    eq(chunk, {
        "abort_before_hello.test.lua": "runner crashed: killed by SIGABRT",
        "clean.test.lua": None,
        "early_done.test.lua": None,
        "no_done.test.lua": "runner crashed: exited with status 0 before `done`",
        "notmap.test.lua": "runner protocol error: malformed msgpack frame",
        "oversize.test.lua": "runner protocol error: channel: frame exceeds maximum size",
        "twice.test.lua": "runner protocol error: `test_started` for `x` twice",
        "unknown.test.lua": "runner protocol error: unknown message `bogus`",
        "unregistered.test.lua": None}, "chunk errors")

    case("protocol: runner exits with a VM, a build and a claim open")
    rc, out, err, fr = run("protocol", ["open_then_exit.test.lua"], env=env)
    eq(events.lines(fr), [
        D, R, "claim_acquired 1024/1", "vm_spawned v1 linux 536870912 100",
        "fixture_build_started images/base", "test_started x",
        "test_failed x: runner crashed: exited with status 3",
        "vm_shutdown v1", "fixture_build_done images/base 0",
        "claim_released 1024/1", "file_completed crashed"], "synthesised closes")

    case("protocol: a runner that cannot be exec'd")
    rc, out, err, fr = run("protocol", ["--json", "clean.test.lua"],
                           env={"PROVIUM_RUNNER": "/nonexistent/runner"})
    eq(rc, 1, "exit code")
    eq(json.loads(out)["chunk_error"],
       "could not start runner: exec /nonexistent/runner: No such file or directory",
       "exec failure is its own message")
    eq(events.lines(fr), [D, R, "file_completed crashed"], "events")


def runner_pids(sup_pid):
    """Runner processes (`--runner`) whose parent is sup_pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open(f"/proc/{d}/stat").read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmd = open(f"/proc/{d}/cmdline", "rb").read()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == sup_pid and b"--runner" in cmd:
            out.append(int(d))
    return out


def our_processes():
    """Live processes of this build's provium working in this suite's tree."""
    me = os.path.realpath(PROVIUM)
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink(f"/proc/{d}/exe") == me and \
                        os.readlink(f"/proc/{d}/cwd").startswith(WORK):
                    out.append(int(d))
            except OSError:
                pass
    return out


def t_chaos():
    import random
    case("chaos: runners killed at random moments keep every guarantee")
    d = os.path.join(WORK, "chaos")
    os.makedirs(d)
    for i in range(40):
        with open(os.path.join(d, f"c{i:02d}.test.lua"), "w") as f:
            for j in range(6):
                f.write(f'test("t{j}", function(t) os.execute("sleep 0.0{j + 1}{ID}") end)\n')
    rng = random.Random(int(os.environ.get("CHAOS_SEED", "1")))
    ev = os.path.join(TMP, "chaos.bin")
    if os.path.exists(ev):
        os.unlink(ev)
    p = subprocess.Popen([PROVIUM, "--save-events", ev, "--json", "--mem", "200M"], cwd=d,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed = 0
    while p.poll() is None:
        time.sleep(rng.uniform(0.005, 0.08))
        pids = runner_pids(p.pid)
        if pids and rng.random() < 0.6:
            try:
                os.kill(rng.choice(pids), rng.choice([signal.SIGKILL, signal.SIGSEGV,
                                                      signal.SIGTERM]))
                killed += 1
            except ProcessLookupError:
                pass
    out, err = p.communicate()
    fr = check_stream(open(ev, "rb").read())
    done = [f for f in fr if f["kind"] == "file_completed"]
    eq(len(done), 40, "every file completed once")
    objs = [json.loads(x) for x in out.decode().splitlines()]
    eq(len(objs), 40, "one json object per file")
    crashed = sum(1 for f in done if f["payload"]["status"] == "crashed")
    print(f"   chaos: {killed} kills, {crashed} files crashed", file=sys.stderr)
    if killed and not crashed:
        fail("kills happened but no file crashed")
    eq(p.returncode, 1 if crashed else 0, "exit code")

    case("chaos: SIGINT to the supervisor at random moments")
    for it in range(6):
        if os.path.exists(ev):
            os.unlink(ev)
        p = subprocess.Popen([PROVIUM, "--save-events", ev, "--mem", "200M"], cwd=d,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.0, 0.4))
        p.send_signal(signal.SIGINT)
        p.communicate()
        # -SIGINT: the signal beat the supervisor's setup (nothing started yet)
        if p.returncode not in (130, 0, 1, -signal.SIGINT):
            fail(f"iteration {it}: exit code {p.returncode}")
        if os.path.exists(ev):     # a signal before the sink opened: no stream
            fr = check_stream(open(ev, "rb").read())
            if fr:
                eq(sum(1 for f in fr if f["kind"] == "file_completed"), 40,
                   f"iteration {it}: every file completed")
        if our_processes():
            fail(f"iteration {it}: processes left behind: {our_processes()}")
    no_leftovers(f"sleep 0\\.0[0-9]{ID}")


def t_pool():
    case("pool: declared claims serialise files; an impossible claim fails at once")
    rc, out, err, fr = run("pool", ["--cpus", "2", "--mem", "1G", "--json"])
    eq(rc, 1, "exit code")
    huge = [json.loads(x) for x in out.splitlines()
            if json.loads(x)["path"] == "huge.test.lua"][0]
    eq(huge["chunk_error"], "file `huge.test.lua`: runner overhead and provium:claim "
       "1 GiB/64 cpus requested 1.0 GiB/64 cpus which exceeds pool total 1 GiB/2 cpus",
       "impossible claim")
    pf = events.per_file(fr)
    eq(pf["huge.test.lua"], ["file_discovered refs=[] claim=1073741824/64",
                             "file_dispatched 0/0", "file_completed crashed"],
       "huge never dispatched")
    live, peak, blocked = set(), 0, 0
    for f in fr:
        k, p = f["kind"], f["payload"]
        if k == "file_dispatched" and p["path"] != "huge.test.lua":
            live.add(p["path"])
            peak = max(peak, len(live))
            eq(p["reservation"], {"memory_bytes": (64 + 50) << 20, "cpus": 2},
               "reservation = overhead + claim")
        elif k == "file_completed":
            live.discard(p["path"])
        elif k == "file_blocked":
            blocked += 1
            eq((p["reason"], p["waiting_for"]),
               ("pool_full", {"memory_bytes": (64 + 50) << 20, "cpus": 2}),
               "file_blocked payload")
    eq(peak, 1, "2-CPU claims on a 2-CPU pool never overlap")
    eq(blocked, 2, "two files waited")
    eq(pf["claim2.test.lua"][:3], ["file_discovered refs=[] claim=67108864/2",
                                   "file_blocked claim2.test.lua",
                                   "file_dispatched 119537664/2"],
       "blocked, then dispatched")
    states = [f for f in fr if f["kind"] == "pool_state"]
    if len(states) < 2:
        fail("pool_state at start and end missing")
    else:
        eq(states[0]["payload"]["used"], {"memory_bytes": 0, "cpus": 0}, "start: empty pool")
        eq(states[-1]["payload"]["used"], {"memory_bytes": 0, "cpus": 0}, "end: empty pool")
        eq(states[-1]["payload"]["available"], {"memory_bytes": 1 << 30, "cpus": 2},
           "end: everything back")

    case("pool: PSI pressure holds the second file")
    psi = os.path.join(TMP, "psi")
    os.makedirs(psi, exist_ok=True)
    for r in ("memory", "cpu", "io"):
        with open(os.path.join(psi, r), "w") as f:
            f.write("some avg10=55.00 avg60=0.00 avg300=0.00 total=0\n")
    rc, out, err, fr = run("pool", ["--cpus", "8", "claim1.test.lua", "claim2.test.lua"],
                           env={"PROVIUM_PSI_DIR": psi})
    eq(rc, 0, "exit code")
    kinds = [events.line(f) for f in fr if f["kind"] != "pool_state"]
    eq([k for k in kinds if k.startswith("file_")], [
        "file_discovered refs=[] claim=67108864/2", "file_discovered refs=[] claim=67108864/2",
        "file_dispatched 119537664/2", "file_blocked claim2.test.lua",
        "file_completed passed", "file_dispatched 119537664/2", "file_completed passed"],
       "second file held while the first runs")
    bl = [f["payload"] for f in fr if f["kind"] == "file_blocked"]
    eq(bl[0]["reason"], "psi_pressure", "reason")


def t_discovery():
    d = os.path.join(WORK, "discovery")
    os.symlink("sub", os.path.join(d, "linkdir"))
    os.symlink("a.test.lua", os.path.join(d, "link.test.lua"))
    case("discovery: recursive, sorted, symlinks not followed")
    rc, out, err, fr = run("discovery", ["--json"])
    eq(rc, 0, "exit code")
    eq([json.loads(x)["path"] for x in out.splitlines()],
       ["a.test.lua", "b.test.lua", "sub/c.test.lua"], "files")
    rc, out, err, fr = run("discovery", ["--json", "./sub/", "b.test.lua", "./a.test.lua"])
    eq([json.loads(x)["path"] for x in out.splitlines()],
       ["a.test.lua", "b.test.lua", "sub/c.test.lua"], "paths relative to cwd, no ./")
    rc, out, err, fr = run("discovery", ["--json", os.path.join(d, "sub")])
    eq([json.loads(x)["path"] for x in out.splitlines()], ["sub/c.test.lua"],
       "absolute path under cwd made relative")

    case("discovery: --filter matches the path below the scan root")
    rc, out, err, fr = run("discovery", ["--json", "--filter", "c.test", "."])
    eq([json.loads(x)["path"] for x in out.splitlines()], ["sub/c.test.lua"], "filter")
    rc, out, err, fr = run("discovery", ["--json", "--filter", "sub", "sub"])
    eq(out, '{"type":"no_files","message":"no *.test.lua files found"}\n',
       "root name itself is not matched")

    case("discovery: a file argument must end in .test.lua")
    rc, out, err, fr = run("discovery", ["helper.lua"], events_file=False)
    eq((rc, err), (2, "provium: helper.lua: not a test file (a file argument must "
                      "end in .test.lua)\n"), "bad file argument")
    rc, out, err, fr = run("discovery", ["missing"], events_file=False)
    eq((rc, err), (2, "provium: missing: No such file or directory\n"), "missing path")

    case("discovery: a file the user cannot read fails alone")
    # As a user without CAP_DAC_OVERRIDE the supervisor's scan cannot open
    # it either; that used to abort the whole run at discovery.  Root
    # reads everything, so run a copy of provium as `nobody` from a world-
    # readable directory (the suite's TMPDIR is private).
    if os.geteuid() == 0 and shutil.which("setpriv"):
        import tempfile
        d = tempfile.mkdtemp(prefix="provium-nobody.", dir="/tmp")
        try:
            os.chmod(d, 0o777)
            exe = os.path.join(d, "provium")
            shutil.copy(PROVIUM, exe)
            os.chmod(exe, 0o755)
            for n in ("a", "b"):
                with open(os.path.join(d, n + ".test.lua"), "w") as f:
                    f.write('test("ok", function(t) end)\n')
            os.chmod(os.path.join(d, "a.test.lua"), 0)
            e = dict(os.environ, HOME=d, PROVIUM_RERUN_STATE=os.path.join(d, "rr"))
            p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                                "--clear-groups", exe, "--vmm", "local", "."],
                               cwd=d, env=e, capture_output=True, timeout=60)
            eq((p.returncode, human(p.stdout.decode())),
               (1, ["FAIL a.test.lua",
                    "  chunk_error: cannot open a.test.lua: Permission denied",
                    "PASS b.test.lua (1 passed, 0 failed, 0 skipped)", "",
                    "2 file(s); 1 passed, 0 failed, 0 skipped, 1 file(s) errored; T"]),
               "unreadable file as nobody")
        finally:
            shutil.rmtree(d, ignore_errors=True)

    case("discovery: nothing found")
    rc, out, err, fr = run("discovery", ["--filter", "zzz"])
    eq((rc, out), (0, "provium: no *.test.lua files found\n"), "no files, human")
    eq(fr, [], "no events")


def t_scan():
    case("scan: fixture_refs and declared_claim in file_discovered")
    rc, out, err, fr = run("scan", [])
    disc = {f["payload"]["path"]: f["payload"] for f in fr if f["kind"] == "file_discovered"}
    eq(disc["claim.test.lua"], {
        "path": "claim.test.lua",
        "fixture_refs": ["images/base", "net/two-hosts", "inner/one"],
        "declared_claim": {"memory_bytes": 256 << 20, "cpus": 2}}, "claim file")
    eq(disc["none.test.lua"], {"path": "none.test.lua", "fixture_refs": [],
                               "declared_claim": None}, "no literal refs")
    disp = [f["payload"] for f in fr if f["kind"] == "file_dispatched" and
            f["payload"]["path"] == "claim.test.lua"]
    eq(disp[0]["reservation"], {"memory_bytes": (256 + 50) << 20, "cpus": 2},
       "reservation = overhead + claim")


def t_cli():
    case("cli: --help, --version, conflicts, bad values")
    for args, code, text in (
            (["--json", "--events-stdout"], 2,
             "provium: --json and --events-stdout conflict: both write to stdout\n"
             "Try `provium --help`.\n"),
            (["--timeout", "5x"], 2,
             "provium: --timeout: cannot parse `5x` (use N, Nms, Ns, Nm or Nh; "
             "0 disables)\nTry `provium --help`.\n"),
            (["--tag-meta", "=v"], 2,
             "provium: --tag-meta expects KEY=VALUE with a non-empty KEY, got `=v`\n"
             "Try `provium --help`.\n"),
            (["--bogus"], 2, "provium: unknown option `--bogus`\nTry `provium --help`.\n"),
            (["-v", "-q"], 2,
             "provium: -v/--verbose and -q/--quiet conflict\nTry `provium --help`.\n"),
            (["--vmm", "xen"], 2,
             "provium: --vmm must be qemu or local, got `xen`\nTry `provium --help`.\n")):
        rc, out, err, fr = run("discovery", args, events_file=False)
        eq((rc, err), (code, text), f"provium {' '.join(args)}")
    rc, out, err, fr = run("discovery", ["--help"], events_file=False)
    eq(rc, 0, "--help exit")
    for flag in ("--json", "--filter", "--save-events", "--events-stdout", "--timeout",
                 "--tag", "--include-slow", "--vmm", "-v,", "-q,", "--version"):
        if flag not in out:
            fail(f"--help does not mention {flag}")
    rc, out, err, fr = run("discovery", ["--version"], events_file=False)
    eq((rc, out), (0, "provium 0.1.0 (protocol 1)\n"), "--version")

    case("cli: --events-stdout puts frames on stdout, human on stderr")
    p = subprocess.run([PROVIUM, "--events-stdout", "a.test.lua"],
                       cwd=os.path.join(WORK, "discovery"), capture_output=True)
    eq(p.returncode, 0, "exit code")
    fr = check_stream(p.stdout)
    eq(events.lines(fr), [
        "file_discovered refs=[] claim=nil", "file_dispatched 52428800/0",
        "test_started a", "test_passed a", "file_completed passed"], "stdout frames")
    eq([l for l in human(p.stderr.decode()) if "pressure-stall" not in l], [
        "PASS a.test.lua (1 passed, 0 failed, 0 skipped)", "",
        "1 file(s); 1 passed, 0 failed, 0 skipped; T"], "human on stderr")

    case("cli: --save-events appends")
    ev = os.path.join(TMP, "append.bin")
    if os.path.exists(ev):
        os.unlink(ev)
    for _ in range(2):
        subprocess.run([PROVIUM, "--save-events", ev, "a.test.lua"],
                       cwd=os.path.join(WORK, "discovery"), capture_output=True)
    fr = check_stream_appended(open(ev, "rb").read())
    eq(len(events.lines(fr)), 10, "two runs of 5 frames")


def t_output():
    case("output: runner stdout/stderr go to provium's stderr")
    p = subprocess.run([PROVIUM, "--events-stdout"], cwd=os.path.join(WORK, "output"),
                       capture_output=True)
    fr = check_stream(p.stdout)
    eq(len([f for f in fr if f["kind"] == "file_completed"]), 2, "stdout holds only frames")
    for s in ("printed by a test", "from-shell", "to-stderr"):
        if s not in p.stderr.decode():
            fail(f"`{s}` not on stderr: {p.stderr.decode()!r}")

    case("output: on a terminal, [i/N] lines and a progress line")
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(os.path.join(WORK, "output"))
        os.execv(PROVIUM, [PROVIUM])
    data = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    _, st = os.waitpid(pid, 0)
    eq(os.waitstatus_to_exitcode(st), 1, "exit code")
    text = data.decode().replace("\r\n", "\n")
    lines = [l for l in re.sub(r"\r\x1b\[K(\[\d\d:\d\d\] \d+/2 files · \d+ running)?",
                               "", text).split("\n") if l and "from-shell" not in l
             and "to-stderr" not in l and "printed by" not in l]
    if "\x1b[K[00:00] 0/2 files" not in text:
        fail(f"no progress line on the terminal: {text!r}")
    heads = sorted(re.sub(r"^\[[12]/2\] ", "", l) for l in lines if l.startswith("["))
    eq(heads, ["FAIL b.test.lua (0 passed, 1 failed, 0 skipped)",
               "PASS a.test.lua (1 passed, 0 failed, 0 skipped)"], "[i/N] lines")
    eq(sorted(l[:5] for l in lines if l.startswith("[")), ["[1/2]", "[2/2]"], "i/N numbering")
    eq(lines[-1], "2 file(s); 1 passed, 1 failed, 0 skipped; " + lines[-1].split("; ")[-1],
       "summary")
    p = subprocess.run([PROVIUM, "--json"], cwd=os.path.join(WORK, "output"),
                       capture_output=True)
    if "\x1b" in p.stdout.decode() + p.stderr.decode():
        fail("escape codes without a terminal")


def check_stream_appended(data):
    try:
        return events.decode(data)
    except events.StreamError as e:
        fail(f"event stream does not decode: {e}")
        return []


def main():
    if os.path.exists(WORK):
        shutil.rmtree(WORK)
    shutil.copytree(os.path.join(HERE, "cases"), WORK, symlinks=True)
    for root, _, names in os.walk(WORK):
        for n in names:
            if n.endswith(".test.lua"):
                path = os.path.join(root, n)
                text = open(path).read()
                if "@ID@" in text:
                    open(path, "w").write(text.replace("@ID@", ID))
    # The host's own pressure would hold dispatches (psi.h) and make the
    # sequences depend on the machine's load: no PSI files, gate off.
    nopsi = os.path.join(TMP, "nopsi")
    os.makedirs(nopsi, exist_ok=True)
    os.environ["PROVIUM_PSI_DIR"] = nopsi
    only = sys.argv[1:]
    for name, fn in sorted(globals().items()):
        if name.startswith("t_") and (not only or name[2:] in only):
            fn()
    shutil.rmtree(WORK)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("supervisor suite: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
