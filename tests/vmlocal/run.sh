#!/bin/sh
# vmlocal: the Lua VM API end to end through `provium --vmm local`.
# Every *.test.lua here must pass; then the event stream must pair every
# vm_spawned with a vm_shutdown, and no process may be left whose cwd is
# under our private TMPDIR (agents run in scratch dirs there, and so do
# the processes they start).  crash/ checks the same after a runner dies.
set -eu
: "${PROVIUM:?}" "${PROVIUM_AGENT:?}" "${TMPDIR:?}" "${BUILD:?}"
export PROVIUM_AGENT
py=/usr/bin/python3
fail() { echo "vmlocal: FAIL: $*" >&2; exit 1; }

leftovers() {
	for p in /proc/[0-9]*; do
		c=$(readlink "$p/cwd" 2>/dev/null) || continue
		case "$c" in "$TMPDIR"/*) echo "${p#/proc/} $c $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" ;; esac
	done
}

check_events() {   # file, expected number of VMs
	"$py" - "$1" "$2" <<'PY'
import sys, struct, msgpack
d = open(sys.argv[1], "rb").read(); i = 0; spawned = {}; shut = {}
while i < len(d):
    n = struct.unpack(">I", d[i:i+4])[0]
    m = msgpack.unpackb(d[i+4:i+4+n], raw=False); i += 4 + n
    p = m["payload"]
    if m["kind"] == "vm_spawned":
        k = (p["file"], p["vm_name"]); spawned[k] = spawned.get(k, 0) + 1
        assert p["cid"] >= 100, p
    if m["kind"] == "vm_shutdown":
        k = (p["file"], p["vm_name"]); shut[k] = shut.get(k, 0) + 1
if spawned != shut:
    sys.exit("vm_spawned %r != vm_shutdown %r" % (spawned, shut))
if sum(spawned.values()) != int(sys.argv[2]):
    sys.exit("expected %s VMs, saw %d" % (sys.argv[2], sum(spawned.values())))
PY
}

cd "$(dirname "$0")"
ev="$TMPDIR/events"
if ! "$PROVIUM" --vmm local -v --save-events "$ev" ./*.test.lua >"$TMPDIR/out" 2>&1; then
	cat "$TMPDIR/out"; fail "a suite file failed"
fi
grep -q "0 failed" "$TMPDIR/out" || { cat "$TMPDIR/out"; fail "summary"; }
# run_forms 2, files 1, procs 1, workers 1, scope 3, dead 4, labboot 3
check_events "$ev" 15 || fail "vm events not paired"
sleep 0.2
l=$(leftovers); [ -z "$l" ] || fail "leftover processes: $l"
[ -z "$(ls -d "$TMPDIR"/provium-local-* 2>/dev/null)" ] || fail "scratch dirs left: $(ls -d "$TMPDIR"/provium-local-*)"

ev2="$TMPDIR/events-crash"
if "$PROVIUM" --vmm local --save-events "$ev2" crash/crash.test.lua >"$TMPDIR/out2" 2>&1; then
	cat "$TMPDIR/out2"; fail "crash file passed"
fi
check_events "$ev2" 1 || fail "crash: vm events not paired"
sleep 0.5
l=$(leftovers); [ -z "$l" ] || fail "crash: leftover processes: $l"
# the supervisor sweeps a dead runner's scratch dirs as soon as it is reaped
[ -z "$(ls -d "$TMPDIR"/provium-local-* 2>/dev/null)" ] || fail "crash: the dead runner's scratch dir was left: $(ls -d "$TMPDIR"/provium-local-*)"
"$PROVIUM" --vmm local aftercrash/sweep.test.lua >"$TMPDIR/out3" 2>&1 || { cat "$TMPDIR/out3"; fail "aftercrash"; }
[ -z "$(ls -d "$TMPDIR"/provium-local-* 2>/dev/null)" ] || fail "stale scratch dir not swept: $(ls -d "$TMPDIR"/provium-local-*)"
"$PROVIUM" --vmm local -v --save-events "$TMPDIR/ev3" timeout/timeout.test.lua >"$TMPDIR/out4" 2>&1 && fail "timeout file passed"
grep -q "test timeout exceeded (500ms)" "$TMPDIR/out4" || { cat "$TMPDIR/out4"; fail "timeout reason"; }
grep -q "test timeout exceeded (300ms)" "$TMPDIR/out4" || { cat "$TMPDIR/out4"; fail "timeout reason (stream)"; }
grep -q "PASS file lab was shut down" "$TMPDIR/out4" || { cat "$TMPDIR/out4"; fail "lab not shut down after a timeout"; }
check_events "$TMPDIR/ev3" 2 || fail "timeout: vm events not paired"
"$PROVIUM" --vmm local reset/reset.test.lua >"$TMPDIR/out5" 2>&1 && fail "reset file passed"
grep -q "provium.reset_between_tests: lab snapshots are not supported under --vmm local (there is no VM to snapshot); use --vmm qemu, or reset state in the test" "$TMPDIR/out5" || { cat "$TMPDIR/out5"; fail "reset message"; }
# An agent that never answers, and one that is missing.
printf '#!/bin/sh\nexec sleep 300\n' >"$TMPDIR/mute-agent"; chmod +x "$TMPDIR/mute-agent"
PROVIUM_AGENT="$TMPDIR/mute-agent" "$PROVIUM" --vmm local -v --save-events "$TMPDIR/ev6" hang/hang.test.lua >"$TMPDIR/out6" 2>&1 && fail "hang file passed"
grep -q "PASS agent_timeout" "$TMPDIR/out6" || { cat "$TMPDIR/out6"; fail "agent_timeout"; }
grep -q "test timeout exceeded (300ms)" "$TMPDIR/out6" || { cat "$TMPDIR/out6"; fail "boot cut by the test timeout"; }
check_events "$TMPDIR/ev6" 0 || fail "hang: a VM was reported"
PROVIUM_AGENT=/nonexistent/provium-agent "$PROVIUM" --vmm local hang/missing.test.lua >"$TMPDIR/out7" 2>&1 || { cat "$TMPDIR/out7"; fail "missing agent"; }
sleep 0.2
l=$(leftovers); [ -z "$l" ] || fail "hang: leftover processes: $l"

# The runner channel itself, through the runner suite's fake supervisor:
# exact reports, cids numbered in order of appearance (they hold the pid).
fake="$BUILD/tests/tools/fake_supervisor"
norm() {
	"$py" -c '
import re, sys
seen = {}
def cid(m):
    return "\"cid\":CID%d" % seen.setdefault(m.group(1), len(seen))
sys.stdout.write(re.sub(r"\"cid\":(\d+)", cid, sys.stdin.read()))'
}
"$fake" --reserve-err "exceeds pool total" "$PROVIUM" channel/refused.test.lua 2>&1 | norm >"$TMPDIR/ch.refused"
"$fake" "$PROVIUM" channel/reports.test.lua 2>&1 | norm >"$TMPDIR/ch.reports"
"$fake" "$PROVIUM" channel/labboot.test.lua 2>&1 | norm >"$TMPDIR/ch.labboot"
for f in refused reports labboot; do
	diff -u "channel/$f.expected" "$TMPDIR/ch.$f" || fail "channel/$f: reports differ"
done
echo "vmlocal: ok"
