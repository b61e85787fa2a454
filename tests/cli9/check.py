"""Issue 9's CLI features, asserted on exact output, exit codes and events
(decoded by python's msgpack through tests/supervisor/events.py)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "supervisor"))
import events  # noqa: E402

PROVIUM = os.environ["PROVIUM"]
TMP = os.environ.get("TMPDIR", "/tmp")
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
failures = []
current = ["?"]

PASS = 'test("ok", function() end)\n'
FAIL = 'test("bad", function() error("boom") end)\n'


def fail(msg):
    failures.append(f"[{current[0]}] {msg}")
    print(f"FAIL [{current[0]}] {msg}", file=sys.stderr)


def eq(actual, expected, what):
    if actual != expected:
        fail(f"{what}:\n--- expected\n{expected!r}\n--- actual\n{actual!r}")


def case(name):
    current[0] = name
    print(f"-- {name}", file=sys.stderr)


def tree(name, files):
    d = os.path.join(TMP, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for rel, src in files.items():
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(src)
    return d


def env(**kw):
    e = dict(os.environ)
    e["PROVIUM_RERUN_STATE"] = os.path.join(TMP, "rerun.json")
    e.update(kw)
    return e


def fresh(path):
    if os.path.exists(path):
        os.unlink(path)
    return path


def run(cwd, args, e=None, timeout=60):
    # a loaded host must not hold files (PSI) and change the sequences
    if not args or args[0] not in ("lsp-setup", "console", "repl", "events"):
        args = ["--psi-threshold", "100"] + args
    p = subprocess.run([PROVIUM] + args, cwd=cwd, env=e or env(),
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def frames_of(path):
    fr = events.decode(open(path, "rb").read())
    for b in events.guarantees(fr):
        fail(f"guarantee violated: {b}")
    return fr


def summary(fr):
    """[(kind, path, status-or-name)] without pool_state."""
    out = []
    for f in fr:
        k, p = f["kind"], f["payload"]
        if k == "pool_state":
            continue
        extra = p.get("status") or p.get("name") or ""
        out.append(f"{k} {p.get('path')} {extra}".rstrip())
    return out


def human(out):
    import re
    return re.sub(r"; \d+\.\d\ds$", "; T", out.rstrip("\n"), flags=re.M).split("\n")


def events_check(path):
    p = subprocess.run([PROVIUM, "events", "check", path], capture_output=True)
    return p.returncode, p.stdout.decode()


# ---------------------------------------------------------------- cases

def t_fail_fast():
    case("--fail-fast: later files complete skipped, running ones finish")
    d = tree("ff", {
        "a.test.lua": 'test("bad", function() os.execute("sleep 0.2") error("boom") end)\n',
        "b.test.lua": 'test("slow", function() os.execute("sleep 0.8") end)\n',
        "c.test.lua": PASS,
        "d.test.lua": PASS,
    })
    ev = fresh(os.path.join(TMP, "ff.ev"))
    # room for two runners at once (50 MiB each): a and b run, c and d wait
    rc, out, err = run(d, ["--fail-fast", "--mem", "110M", "--save-events", ev])
    eq(rc, 1, "exit code")
    why = "skipped: --fail-fast (`a.test.lua` failed)"
    eq(human(out), [
        "FAIL a.test.lua (0 passed, 1 failed, 0 skipped)",
        "    FAIL bad",
        "        a.test.lua:1: boom",
        "PASS b.test.lua (1 passed, 0 failed, 0 skipped)",
        "FAIL c.test.lua", f"  chunk_error: {why}",
        "FAIL d.test.lua", f"  chunk_error: {why}",
        "",
        "4 file(s); 1 passed, 1 failed, 0 skipped, 2 file(s) errored; T"],
        "human output")
    fr = frames_of(ev)
    s = summary(fr)
    for f in ("c.test.lua", "d.test.lua"):
        eq([x for x in s if f" {f}" in x],
           [f"file_discovered {f}", f"file_blocked {f}", f"file_dispatched {f}",
            f"file_completed {f} crashed"], f"{f} short-circuited")
        eq([x["payload"]["reservation"] for x in fr if x["kind"] == "file_dispatched" and
            x["payload"]["path"] == f], [{"memory_bytes": 0, "cpus": 0}], "reserving nothing")
    eq([x for x in s if " b.test.lua" in x][-1], "file_completed b.test.lua passed",
       "running file finished")
    eq(events_check(ev), (0, "events check: ok: %d frames, 4 files, complete run\n"
                          % len(fr)), "events check")
    case("--fail-fast: no failure, everything runs")
    d = tree("ff2", {"a.test.lua": PASS, "b.test.lua": PASS})
    rc, out, err = run(d, ["--fail-fast"])
    eq((rc, human(out)[-1]), (0, "2 file(s); 2 passed, 0 failed, 0 skipped; T"), "all pass")


def t_rerun():
    case("--rerun-failed: no state is a notice and exit 0")
    state = os.path.join(TMP, "rerun.json")
    if os.path.exists(state):
        os.unlink(state)
    d = tree("rr", {"a.test.lua": FAIL, "b.test.lua": PASS, "sub/c.test.lua": FAIL})
    ev = fresh(os.path.join(TMP, "rr.ev"))
    rc, out, err = run(d, ["--rerun-failed", "--save-events", ev])
    eq((rc, out, err), (0, "", "provium --rerun-failed: no prior failure state at "
                           f"`{state}` — nothing to re-run\n"), "no state")
    eq(os.path.getsize(ev) if os.path.exists(ev) else 0, 0, "no events without a run")
    case("--rerun-failed: failures written atomically as canonical paths")
    rc, out, err = run(d, [])
    eq(rc, 1, "exit code")
    real = os.path.realpath(d)
    eq(json.load(open(state)), [f"{real}/a.test.lua", f"{real}/sub/c.test.lua"], "state")
    eq([x for x in os.listdir(TMP) if x.startswith("rerun.json.tmp")], [], "no temp left")
    case("--rerun-failed: only the failed files run")
    rc, out, err = run(d, ["--rerun-failed", "--save-events", ev])
    eq(rc, 1, "exit code")
    eq([f["payload"]["path"] for f in frames_of(ev) if f["kind"] == "file_discovered"],
       ["a.test.lua", "sub/c.test.lua"], "discovered")
    case("--rerun-failed: a passing run keeps the state; fixed files pass")
    open(os.path.join(d, "a.test.lua"), "w").write(PASS)
    open(os.path.join(d, "sub/c.test.lua"), "w").write(PASS)
    rc, out, err = run(d, ["--rerun-failed"])
    eq((rc, human(out)[-1]), (0, "2 file(s); 2 passed, 0 failed, 0 skipped; T"), "rerun")
    eq(json.load(open(state)), [f"{real}/a.test.lua", f"{real}/sub/c.test.lua"],
       "state kept")
    case("--rerun-failed: empty and malformed state")
    open(state, "w").write("[]")
    rc, out, err = run(d, ["--rerun-failed"])
    eq((rc, err), (0, "provium --rerun-failed: no prior failure state at "
                      f"`{state}` — nothing to re-run\n"), "empty state")
    open(state, "w").write("{")
    rc, out, err = run(d, ["--rerun-failed"])
    eq(rc, 2, "malformed: exit 2")
    eq(err.startswith(f"provium: --rerun-failed: state `{state}`: ") and
       err.endswith("(delete it to start over)\n"), True, f"malformed message: {err!r}")
    case("--rerun-failed: default path under XDG_CACHE_HOME / HOME")
    e = env(HOME=os.path.join(TMP, "home"), XDG_CACHE_HOME="")
    del e["PROVIUM_RERUN_STATE"]
    open(os.path.join(d, "a.test.lua"), "w").write(FAIL)
    run(d, [], e)
    eq(os.path.exists(os.path.join(TMP, "home/.cache/provium/rerun.json")), True,
       "~/.cache/provium/rerun.json")
    rc, out, err = run(d, ["--rerun-failed"], e)
    eq((rc, human(out)[-1]), (1, "1 file(s); 0 passed, 1 failed, 0 skipped; T"),
       "rerun from ~/.cache")
    e["XDG_CACHE_HOME"] = os.path.join(TMP, "xdg")
    run(d, [], e)
    eq(os.path.exists(os.path.join(TMP, "xdg/provium/rerun.json")), True,
       "$XDG_CACHE_HOME/provium/rerun.json wins over ~/.cache")


def t_since():
    case("--since PATH: only files modified after PATH")
    d = tree("since", {"old.test.lua": PASS, "new.test.lua": PASS, "ref": ""})
    os.utime(os.path.join(d, "old.test.lua"), (1000, 1000))
    os.utime(os.path.join(d, "ref"), (2000, 2000))
    rc, out, err = run(d, ["--since", "ref"])
    eq((rc, human(out)), (0, ["PASS new.test.lua (1 passed, 0 failed, 0 skipped)", "",
                              "1 file(s); 1 passed, 0 failed, 0 skipped; T"]), "since")
    rc, out, err = run(d, ["--since", "missing"])
    eq((rc, err), (0, "provium: --since missing: No such file or directory; not "
                      "filtering by it\n"), "unreadable reference")
    eq(human(out)[-1], "2 file(s); 2 passed, 0 failed, 0 skipped; T", "all run")


def fnv(s):
    h = 14695981039346656037
    for b in s.encode():
        h ^= b
        h = (h * 1099511628211) % (1 << 64)
    return h


def t_shard():
    case("--shard K/N: a disjoint cover, by path hash")
    names = [f"t{i}.test.lua" for i in range(9)] + ["sub/x.test.lua", "sub/y.test.lua"]
    files = {n: (FAIL if n == "t3.test.lua" else PASS) for n in names}
    files["t5.test.lua"] = 'test("slow", function() os.execute("sleep 0.3") end)\n'
    d = tree("shard", files)
    evs = []
    for k in (1, 2, 3):
        ev = fresh(os.path.join(TMP, f"shard{k}.ev"))
        evs.append(ev)
        run(d, ["--shard", f"{k}/3", "--save-events", ev])
        got = [f["payload"]["path"] for f in frames_of(ev) if f["kind"] == "file_discovered"]
        eq(got, sorted(n for n in names if fnv(n) % 3 == k - 1), f"shard {k}/3 files")
        eq(events_check(ev)[0], 0, f"shard {k} stands alone")
    case("events merge: the shards make one valid stream")
    allev = os.path.join(TMP, "all.ev")
    p = subprocess.run([PROVIUM, "events", "merge"] + evs + ["-o", allev],
                       capture_output=True)
    fr = frames_of(allev)
    eq((p.returncode, p.stdout.decode()),
       (0, f"events merge: {len(fr)} frames, 11 files from 3 streams into {allev}\n"),
       "merge output")
    eq(sorted(f["payload"]["path"] for f in fr if f["kind"] == "file_discovered"),
       sorted(names), "every file once")
    eq(set(f["kind"] for f in fr[:11]), {"file_discovered"}, "discovered first")
    eq(events_check(allev), (0, f"events check: ok: {len(fr)} frames, 11 files, "
                                "complete run\n"), "events check on the merge")
    j = os.path.join(TMP, "all.xml")
    p = subprocess.run([PROVIUM, "events", "junit", allev, j], capture_output=True)
    eq(p.returncode, 0, "junit over the merge")
    case("events merge: overlapping inputs are refused")
    p = subprocess.run([PROVIUM, "events", "merge", evs[0], evs[0], "-o",
                        os.path.join(TMP, "bad.ev")], capture_output=True)
    first = sorted(n for n in names if fnv(n) % 3 == 0)[0]
    eq((p.returncode, p.stderr.decode()),
       (1, f"provium events merge: `{first}` is discovered in both {evs[0]} and "
           f"{evs[0]}: the inputs overlap (shards of different splits?)\n"), "overlap")
    eq(os.path.exists(os.path.join(TMP, "bad.ev")), False, "nothing written")
    case("events merge: -o - to stdout, a missing input, usage")
    m = subprocess.run([PROVIUM, "events", "merge"] + evs + ["-o", "-"], capture_output=True)
    eq((m.returncode, m.stdout, m.stderr), (0, open(allev, "rb").read(), b""), "-o -")
    p = subprocess.run([PROVIUM, "events", "merge", evs[0], "/nonexistent.ev", "-o",
                        os.path.join(TMP, "bad.ev")], capture_output=True)
    eq((p.returncode, p.stderr.decode()),
       (1, "provium events merge: /nonexistent.ev: No such file or directory\n"), "missing")
    eq(os.path.exists(os.path.join(TMP, "bad.ev")), False, "nothing written")
    p = subprocess.run([PROVIUM, "events", "merge", evs[0]], capture_output=True)
    eq((p.returncode, p.stderr.decode().startswith("usage: provium events")), (2, True),
       "no -o: usage")
    case("--shard-durations: balanced by a previous run's durations")
    full = fresh(os.path.join(TMP, "full.ev"))
    run(d, ["--save-events", full])
    dur = {f["payload"]["path"]: f["payload"]["duration_ns"]
           for f in frames_of(full) if f["kind"] == "file_completed"}
    load, mine = [0, 0], [[], []]
    for n in sorted(names, key=lambda n: (-dur[n], n)):
        b = 0 if load[0] <= load[1] else 1
        load[b] += dur[n]
        mine[b].append(n)
    for k in (1, 2):
        ev = fresh(os.path.join(TMP, f"bal{k}.ev"))
        run(d, ["--shard", f"{k}/2", "--shard-durations", full, "--save-events", ev])
        got = [f["payload"]["path"] for f in frames_of(ev) if f["kind"] == "file_discovered"]
        eq(got, sorted(mine[k - 1]), f"balanced shard {k}/2")
    eq("t5.test.lua" in mine[0], True, "the slow file goes first, to shard 1")
    case("--shard: bad values")
    for bad in ("0/3", "4/3", "3", "a/b", "1/0", "1/3x"):
        rc, out, err = run(d, ["--shard", bad])
        eq((rc, err), (2, f"provium: --shard expects K/N with 1 <= K <= N, got `{bad}`\n"
                          "Try `provium --help`.\n"), f"--shard {bad}")
    rc, out, err = run(d, ["--shard-durations", full])
    eq((rc, err), (2, "provium: --shard-durations needs --shard K/N\n"
                      "Try `provium --help`.\n"), "durations without shard")
    rc, out, err = run(d, ["--shard", "1/2", "--shard-durations", "nope.ev"])
    eq((rc, err), (2, "provium: --shard-durations nope.ev: No such file or directory\n"),
       "missing durations file")


class Client:
    """A --events-socket client reading frames as they come."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.settimeout(0.1)
        self.buf = b""
        self.frames = []
        self.eof = False

    def pump(self):
        try:
            while True:
                b = self.s.recv(65536)
                if not b:
                    self.eof = True
                    break
                self.buf += b
        except socket.timeout:
            pass
        while len(self.buf) >= 4:
            n = int.from_bytes(self.buf[:4], "big")
            if len(self.buf) < 4 + n:
                break
            self.frames += events.decode(self.buf[:4 + n])
            self.buf = self.buf[4 + n:]

    def completed(self):
        return [f["payload"]["path"] for f in self.frames if f["kind"] == "file_completed"]


def wait_for(cond, what, secs=15):
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    fail(f"timed out waiting for {what}")
    return False


def t_watch():
    case("--watch: three runs, one socket client connected throughout")
    d = tree("watch", {"a.test.lua": PASS})
    sock = os.path.join(TMP, "w/ev.sock")
    ev = os.path.join(TMP, "watch.ev")
    p = subprocess.Popen([PROVIUM, "--watch", "--psi-threshold", "100", "--events-socket", sock,
                          "--save-events", ev], cwd=d, env=env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: os.path.exists(sock), "the socket")
        c = Client(sock)
        # the client may connect mid-run: it then gets that run from its start
        wait_for(lambda: (c.pump(), "a.test.lua" in c.completed())[1], "run 1")
        n1 = len(c.completed())
        time.sleep(0.2)
        os.utime(os.path.join(d, "a.test.lua"), (5000, 5000))     # an mtime
        wait_for(lambda: (c.pump(), len(c.completed()) == n1 + 1)[1], "run 2")
        open(os.path.join(d, "b.test.lua"), "w").write(FAIL)      # the set
        wait_for(lambda: (c.pump(), len(c.completed()) == n1 + 3)[1], "run 3")
        eq(c.eof, False, "client still connected after three runs")
        disc = [f["payload"]["path"] for f in c.frames if f["kind"] == "file_discovered"]
        eq(disc[-3:], ["a.test.lua", "a.test.lua", "b.test.lua"], "runs 2 and 3 seen live")
        # the saved file holds exactly the latest run
        fr = frames_of(ev)
        per = {}
        for x in summary(fr):
            if x.startswith("file_") and not x.startswith("file_blocked"):
                per.setdefault(x.split()[1], []).append(x.split()[0] + " " + " ".join(x.split()[2:]))
        eq(per, {"a.test.lua": ["file_discovered ", "file_dispatched ", "file_completed passed"],
                 "b.test.lua": ["file_discovered ", "file_dispatched ", "file_completed failed"]},
           "--save-events: the latest run only")
        case("--watch: an iteration that fails to start is reported, the loop goes on")
        open(os.path.join(d, "provium.toml"), "w").write("[[x]]\n")
        os.utime(os.path.join(d, "a.test.lua"), (6000, 6000))
        time.sleep(1.2)
        os.unlink(os.path.join(d, "provium.toml"))
        open(os.path.join(d, "b.test.lua"), "w").write(PASS)
        wait_for(lambda: (c.pump(), sorted(c.completed()[-2:]) == ["a.test.lua", "b.test.lua"]
                          and len(c.completed()) >= n1 + 5)[1], "run after the failure")
        eq(p.poll(), None, "still watching")
        case("--watch: Ctrl-C exits 0, removes the socket")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
        eq(p.returncode, 0, "exit code")
        eq(os.path.exists(sock), False, "socket removed")
        c.pump()
        eq(c.eof, True, "client sees the end")
        err = err.decode()
        eq("provium --watch: iteration failed (see above); watching for changes\n" in err,
           True, f"failed iteration reported: {err!r}")
        eq("provium: provium.toml:1: arrays of tables ([[...]]) are not supported" in err,
           True, "why")
        eq(out.decode().count("1 file(s); 1 passed"), 2, "runs 1 and 2 printed")
        eq(err.count("provium --watch: waiting for changes (Ctrl-C quits)\n"), 4,
           "after each of the four runs that started")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def registered_names():
    """Every Lua method/function name the runner registers (luaL_Reg tables
    and lua_register), except metamethods."""
    import glob
    import re
    names = set()
    for f in glob.glob(os.path.join(ROOT, "runner", "*.c")):
        src = open(f).read()
        names |= set(re.findall(r'\{ *"([a-z_]+)", *[a-z_]+ *\}', src))
        names |= set(re.findall(r'lua_register\(L, "([a-z_]+)"', src))
    return {n for n in names if not n.startswith("__")}


def t_lsp():
    case("lsp-setup: stubs and .luarc.json; refuses to overwrite without --force")
    d = tree("lsp", {})
    rc, out, err = run(ROOT, ["lsp-setup", d])
    types = os.path.join(d, ".provium-meta", "types.lua")
    luarc = os.path.join(d, ".luarc.json")
    eq((rc, out, err), (0, f"wrote {types}\nwrote {luarc}\n", ""), "first run")
    src = open(types).read()
    eq(src.startswith("---@meta provium\n"), True, "---@meta header")
    cfg = json.load(open(luarc))
    eq((cfg["workspace.library"], cfg["runtime.version"]), ([".provium-meta"], "Lua 5.4"),
       ".luarc.json")
    if shutil.which("lua-language-server"):
        p = subprocess.run(["lua-language-server", "--check", d], capture_output=True)
        eq(p.returncode, 0, f"lua-language-server --check: {p.stdout!r}")
    else:
        p = subprocess.run(["luac5.4", "-p", types], capture_output=True)
        eq((p.returncode, p.stderr), (0, b""), "luac5.4 -p types.lua")
    import re
    declared = set(re.findall(r"^function [A-Za-z.:]*[.:]([a-z_]+)\(", src, re.M))
    declared |= set(re.findall(r"^function ([a-z_]+)\(", src, re.M))
    eq(sorted(registered_names() - declared), [], "runner API names missing from the stubs")
    open(luarc, "w").write('{"mine": true}\n')
    rc, out, err = run(ROOT, ["lsp-setup", d])
    eq((rc, out), (1, ""), "refused")
    eq(err.startswith(f"provium lsp-setup: {luarc} exists; not overwriting it (pass "
                      "--force to replace it).\nAdd these settings to it:\n{"), True,
       f"refusal message {err!r}")
    eq(open(luarc).read(), '{"mine": true}\n', "user's file untouched")
    rc, out, err = run(ROOT, ["lsp-setup", "--force", d])
    eq((rc, json.load(open(luarc))["runtime.version"]), (0, "Lua 5.4"), "--force")
    rc, out, err = run(ROOT, ["lsp-setup", os.path.join(d, "nope")])
    eq((rc, err), (1, f"provium lsp-setup: {d}/nope: No such file or directory\n"),
       "missing dir")


def t_console():
    case("console --print-command: the test boot's argv, serial on stdio, no QMP")
    d = tree("con", {"vmlinuz": "", "initrd.img": "",
                     "provium.toml": '[profiles.tiny]\nkernel = "vmlinuz"\n'
                                     'initrd = "initrd.img"\ncmdline = "quiet"\n'})
    e = env(PROVIUM_MACHINE="q35", PROVIUM_ACCEL="tcg")
    rc, out, err = run(d, ["console", "tiny", "--print-command"], e)
    eq((rc, out, err), (0, "qemu-system-x86_64 -accel tcg -machine q35 -m 512M -smp 1 "
                           "-nodefaults -no-user-config -display none -no-reboot "
                           f"-kernel {d}/vmlinuz -initrd {d}/initrd.img "
                           "-append 'quiet console=ttyS0' -serial mon:stdio\n", ""),
       "default argv")
    rc, out, err = run(d, ["console", "tiny", "--print-command", "--mem", "1G", "--cpus",
                           "2", "--cmdline", "root=/dev/vda x='y'", "--qemu", "/opt/q",
                           "--", "-s", "-S"], e)
    eq((rc, out), (0, f"/opt/q -accel tcg -machine q35 -m 1024M -smp 2 -nodefaults "
                      "-no-user-config -display none -no-reboot "
                      f"-kernel {d}/vmlinuz -initrd {d}/initrd.img "
                      "-append 'root=/dev/vda x='\\''y'\\'' console=ttyS0' "
                      "-serial mon:stdio -s -S\n"), "options and extra QEMU args")
    rc, out, err = run(d, ["console", "tiny", "--print-command", "--agent"], e)
    eq((rc, " rdinit=/sbin/provium-agent' -serial mon:stdio -device virtio-serial-pci,id=vs0 "
            "-chardev socket,id=agent,path=agent.sock,server=on,wait=off -device "
            "virtserialport,bus=vs0.0,chardev=agent,name=agent\n" in out), (0, True),
       f"--agent: overlay and channel: {out!r}")
    case("console: errors and QEMU's exit status")
    rc, out, err = run(d, ["console", "nope", "--print-command"], e)
    eq((rc, err), (2, "provium console: profile `nope` not found in provium.toml\n"),
       "unknown profile")
    rc, out, err = run(d, ["console", "tiny", "--mem", "lots"], e)
    eq((rc, err), (2, "provium console: --mem: cannot parse size `lots` (expected bytes "
                      "or a number followed by K, M, G or T)\n"), "bad --mem")
    rc, out, err = run(d, ["console", "tiny", "--qemu", "/bin/true"], e)
    eq(rc, 0, "QEMU exit 0")
    rc, out, err = run(d, ["console", "tiny", "--qemu", "/bin/false"], e)
    eq(rc, 1, "QEMU failure: exit 1")
    os.unlink(os.path.join(d, "vmlinuz"))
    rc, out, err = run(d, ["console", "tiny", "--qemu", "/bin/true"], e)
    eq((rc, err), (2, f"provium console: missing path `{d}/vmlinuz` (profile `tiny` field "
                      "`kernel`)\n"), "no kernel")


class Pty:
    """provium on a pseudo-terminal, read until a text shows up."""

    def __init__(self, args, cwd, e):
        import pty
        self.master, slave = pty.openpty()
        import fcntl
        import termios

        def ctty():     # the pty becomes the controlling terminal: ^C is SIGINT
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        e = dict(e, TERM="dumb")
        self.p = subprocess.Popen([PROVIUM] + args, cwd=cwd, env=e, stdin=slave,
                                  stdout=slave, stderr=slave, preexec_fn=ctty)
        os.close(slave)
        self.out = b""

    def expect(self, text, secs=10):
        import select
        end = time.time() + secs
        while text.encode() not in self.out and time.time() < end:
            r, _, _ = select.select([self.master], [], [], 0.1)
            if r:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:
                    break
        if text.encode() not in self.out:
            fail(f"no {text!r} in the terminal output:\n{self.out.decode(errors='replace')}")
            return False
        i = self.out.index(text.encode()) + len(text)
        seen, self.out = self.out[:i], self.out[i:]
        return seen.decode(errors="replace")

    def send(self, data):
        os.write(self.master, data.encode())

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        os.close(self.master)


def t_repl():
    case("repl --vmm local: prompt, expressions, statements, ^C, ^D shuts the VM down")
    d = tree("repl", {})
    home = tree("replhome", {})
    scratch = os.path.join(TMP, "repltmp")
    os.makedirs(scratch, exist_ok=True)
    e = env(HOME=home, TMPDIR=scratch)
    t = Pty(["repl", "--vmm", "local"], d, e)
    try:
        eq(t.expect("provium> "), "provium repl: booting `repl` ...\r\n`vm` is booted; "
                                  "^D or exit() leaves\r\nprovium> ", "banner and prompt")
        eq([x for x in os.listdir(scratch) if x.startswith("provium-local-")] != [], True,
           "the VM's scratch dir exists")
        t.send("1 + 2\r")
        eq(t.expect("provium> "), "1 + 2\r\n3\r\nprovium> ", "an expression prints")
        t.send('vm:state(), vm:name(), vm:run("echo hi").stdout\r')
        eq(t.expect("provium> "), 'vm:state(), vm:name(), vm:run("echo hi").stdout\r\n'
                                  "booted\trepl\thi\r\n\r\nprovium> ", "vm is bound")
        t.send("for i = 1, 2 do\r")
        eq(t.expect(">> "), "for i = 1, 2 do\r\n>> ", "continuation prompt")
        t.send("print(i) end\r")
        eq(t.expect("provium> "), "print(i) end\r\n1\r\n2\r\nprovium> ", "statement ran")
        t.send("half a line")
        t.expect("half a line")
        t.send("\x03")
        eq(t.expect("provium> "), "^C\r\nprovium> ", "^C discards the line")
        t.send("x = = 1\r")
        eq(t.expect("provium> "), "x = = 1\r\nstdin:1: unexpected symbol near '='\r\n"
                                  "provium> ", "a syntax error, and the prompt goes on")
        t.send("\x04")
        eq(t.expect("bye\r\n"), "\r\nbye\r\n", "^D says bye")
        t.p.wait(timeout=10)
        eq(t.p.returncode, 0, "exit code")
        eq([x for x in os.listdir(scratch) if x.startswith("provium-local-")], [],
           "VM shut down (its scratch dir is gone)")
        eq(open(os.path.join(home, ".provium_history")).read().splitlines(),
           ["1 + 2", 'vm:state(), vm:name(), vm:run("echo hi").stdout', "for i = 1, 2 do",
            "print(i) end", "x = = 1"], "history")
    finally:
        t.close()
    case("repl --fixture: a fixture that cannot be restored means a cold boot, said once")
    p = subprocess.run([PROVIUM, "repl", "--vmm", "local", "--fixture", "images/base"],
                       cwd=d, env=e, input=b"vm:name()\n", capture_output=True, timeout=30)
    eq((p.returncode, p.stderr.decode()),
       (0, "provium repl: fixture `images/base` not restored (fixture `images/base` not "
           "found: no images/base.fixture.lua under root: .); booting cold\n"), "notice")
    eq(p.stdout.decode().split("\n")[2:4], ["provium> vm:name()", "repl"], "cold-booted vm")
    case("repl: exit() leaves too")
    t = Pty(["repl", "--vmm", "local", "--name", "box"], d, e)
    try:
        t.expect("provium> ")
        t.send("vm:name()\r")
        eq(t.expect("provium> "), "vm:name()\r\nbox\r\nprovium> ", "--name")
        t.send("exit()\r")
        eq(t.expect("bye\r\n"), "exit()\r\nbye\r\n", "exit()")
        t.p.wait(timeout=10)
        eq(t.p.returncode, 0, "exit code")
    finally:
        t.close()


def help_flags(text):
    """Long options of `provium --help`'s option lines."""
    import re
    return set(re.findall(r"^  (?:-[a-zA-Z], )?(--[a-z][a-z-]*)", text, re.M))


def doc_flags(md):
    """Long options in the first column of docs/cli.md's Options table."""
    import re
    sec = md.split("\n## Options\n", 1)[1].split("\n## ", 1)[0]
    out = set()
    for line in sec.splitlines():
        if line.startswith("| `-"):
            out |= set(re.findall(r"(--[a-z][a-z-]*)", line.split(" | ")[0]))
    return out


def t_help():
    case("--help lists exactly the options docs/cli.md documents")
    rc, out, err = run(ROOT, ["--help"])
    eq(rc, 0, "--help exit")
    md = open(os.path.join(ROOT, "docs", "cli.md")).read()
    h, dd = help_flags(out), doc_flags(md)
    eq(sorted(h - dd), [], "in --help, not in docs/cli.md")
    eq(sorted(dd - h), [], "in docs/cli.md, not in --help")
    for flag in ("--fail-fast", "--rerun-failed", "--since", "--shard", "--shard-durations",
                 "--watch", "--json", "--coverage", "--filter"):
        eq(flag in h, True, f"--help has {flag}")
    for sub in ("lsp-setup", "console", "repl", "events"):
        eq(f"provium {sub}" in out, True, f"--help names `provium {sub}`")
    man = os.path.join(ROOT, "docs", "provium.1")
    eq(os.path.exists(man), True, "docs/provium.1 exists")
    if os.path.exists(man):
        p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen-man"),
                            "--check"], capture_output=True, cwd=ROOT)
        eq((p.returncode, p.stderr.decode()), (0, ""), "provium.1 is up to date with docs")


def main():
    only = sys.argv[1:]
    for name, fn in list(globals().items()):
        if name.startswith("t_") and (not only or name[2:] in only):
            fn()
    if failures:
        print(f"\n{len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("cli9: ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
