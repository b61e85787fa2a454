#!/bin/sh
# fixture_lua: provium:vm_fixture and vm:snapshot end to end through
# `provium` with real VMs: build on a miss and hit on the next run (events
# prove it), two files needing the same fixture at once (one builds, one
# waits, both pass), stacked fixtures, a corrupted entry rebuilt (never a
# hit), a wrong return value and a missing fixture named in the error, and
# a snapshot refused with an open stream.  Skipped (exit 0) when
# qemu-system-x86_64 or the guest image is missing.
set -eu
: "${PROVIUM:?}" "${PROVIUM_AGENT:?}" "${TMPDIR:?}"
root=$(cd ../.. && pwd)
export PROVIUM_GUEST="${PROVIUM_GUEST:-$root/build/guest/current}"
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: qemu-system-x86_64 not installed"; exit 0
fi
if [ ! -f "$PROVIUM_GUEST/vmlinux" ]; then
	echo "SKIP: no guest image at $PROVIUM_GUEST (make guest)"; exit 0
fi
export PROVIUM_AGENT PROVIUM_FIXTURE_CACHE="$TMPDIR/cache"
fail() { echo "fixture_lua: FAIL: $*" >&2; exit 1; }
W=$TMPDIR/w
mkdir -p "$W/lib"

# "<file> <kind> [<path>]" per fixture/vm event, in stream order.
events() {
	/usr/bin/python3 - "$1" <<'PY'
import sys, struct, msgpack
d = open(sys.argv[1], "rb").read(); i = 0
while i < len(d):
    n = struct.unpack(">I", d[i:i+4])[0]
    m = msgpack.unpackb(d[i+4:i+4+n], raw=False); i += 4 + n
    k, p = m["kind"], m["payload"]
    if k.startswith("fixture_"):
        extra = " held_by=" + p["held_by_file"] if k == "fixture_build_waiting" else ""
        extra += " bytes>0" if k == "fixture_build_done" and p["snapshot_bytes"] > 0 else ""
        print(p.get("file", "?"), k, p["path"] + extra)
PY
}
run() {   # name, files...: runs provium in $W, events to $TMPDIR/<name>.ev
	n=$1; shift
	(cd "$W" && "$PROVIUM" --save-events "$TMPDIR/$n.ev" "$@") >"$TMPDIR/$n.out" 2>&1
}

cat >"$W/base.fixture.lua" <<'L'
local vm = provium:vm("base", "linux")
vm:boot()
vm:run("echo base > /tmp/base")
return vm:snapshot()
L
cat >"$W/lib/web.fixture.lua" <<'L'
local vm = provium:vm_fixture("base")
vm:run("echo web > /tmp/web")
return vm:snapshot()
L
cat >"$W/a.test.lua" <<'L'
local vm = provium.vm_fixture("base")          -- dot form
test("restored", function(t)
  t:assert_eq(vm:read_file("/tmp/base"), "base\n")
  t:assert_eq(vm:name(), "fixture:base")
end)
L
sed 's/"restored"/"restored too"/; s/provium.vm_fixture/provium:vm_fixture/' \
	"$W/a.test.lua" >"$W/b.test.lua"

echo "== miss: build, then the file runs on the restored VM"
run miss a.test.lua || fail "miss: $(cat "$TMPDIR/miss.out")"
got=$(events "$TMPDIR/miss.ev" | cut -d' ' -f2-)
[ "$got" = "$(printf 'fixture_build_started base\nfixture_build_done base bytes>0')" ] ||
	fail "miss events: $got"

echo "== hit on the next run"
run hit a.test.lua || fail "hit: $(cat "$TMPDIR/hit.out")"
got=$(events "$TMPDIR/hit.ev" | cut -d' ' -f2-)
[ "$got" = "fixture_cache_hit base" ] || fail "hit events: $got"

echo "== two files at once: one builds, one waits, both pass"
rm -rf "$PROVIUM_FIXTURE_CACHE"
run pair a.test.lua b.test.lua || fail "pair: $(cat "$TMPDIR/pair.out")"
events "$TMPDIR/pair.ev" >"$TMPDIR/pair.txt"
[ "$(grep -c 'fixture_build_started base' "$TMPDIR/pair.txt")" -eq 1 ] || fail "pair: $(cat "$TMPDIR/pair.txt")"
# The other file waited for the build (or, if it came late, hit the entry).
if grep -q fixture_build_waiting "$TMPDIR/pair.txt"; then
	grep -q 'fixture_build_waiting base held_by=[ab].test.lua' "$TMPDIR/pair.txt" || fail "pair: $(cat "$TMPDIR/pair.txt")"
	[ "$(grep -c 'fixture_build_done base bytes>0' "$TMPDIR/pair.txt")" -eq 2 ] || fail "pair: $(cat "$TMPDIR/pair.txt")"
fi
grep -q 'fixture_cache_hit base' "$TMPDIR/pair.txt" || fail "pair, no hit: $(cat "$TMPDIR/pair.txt")"
[ "$(ls "$PROVIUM_FIXTURE_CACHE" | grep -c '\.snap$')" -eq 1 ] || fail "pair: $(ls "$PROVIUM_FIXTURE_CACHE")"

echo "== provium fixture: the CLI keys fixtures exactly as a run does"
(cd "$W" && "$PROVIUM" fixture build base) >"$TMPDIR/cli.out" 2>&1 || fail "fixture build: $(cat "$TMPDIR/cli.out")"
grep -q '^already built: base (' "$TMPDIR/cli.out" || fail "fixture build after a run: $(cat "$TMPDIR/cli.out")"
(cd "$W" && "$PROVIUM" fixture stale) >"$TMPDIR/cli.out" 2>&1
grep -q '^1 stale fixture(s)$' "$TMPDIR/cli.out" && ! grep -q '^base' "$TMPDIR/cli.out" || fail "fixture stale (only lib/web is unbuilt): $(cat "$TMPDIR/cli.out")"
(cd "$W" && "$PROVIUM" fixture rebuild base) >"$TMPDIR/cli.out" 2>&1 || fail "fixture rebuild: $(cat "$TMPDIR/cli.out")"
grep -q '^rebuilt: base (' "$TMPDIR/cli.out" || fail "fixture rebuild: $(cat "$TMPDIR/cli.out")"
ls -a "$W" | grep -q provium-fixture-build && fail "fixture build left its scratch test file"
(cd "$W" && "$PROVIUM" list --fixtures) >"$TMPDIR/cli.out" 2>&1
grep -q '^2 fixture(s) found$' "$TMPDIR/cli.out" || fail "list --fixtures: $(cat "$TMPDIR/cli.out")"

echo "== stacked fixtures"
cat >"$W/web.test.lua" <<'L'
local vm = provium:vm_fixture("lib/web")
test("both layers", function(t)
  t:assert_eq(vm:read_file("/tmp/base"), "base\n")
  t:assert_eq(vm:read_file("/tmp/web"), "web\n")
  t:assert_eq(vm:name(), "fixture:lib_web")
end)
L
rm -rf "$PROVIUM_FIXTURE_CACHE"    # both layers miss: nested builds
run web web.test.lua || fail "stacked: $(cat "$TMPDIR/web.out")"
got=$(events "$TMPDIR/web.ev" | cut -d' ' -f2-)
[ "$got" = "$(printf 'fixture_build_started lib/web\nfixture_build_started base\nfixture_build_done base bytes>0\nfixture_build_done lib/web bytes>0')" ] ||
	fail "stacked events: $got"
run web2 web.test.lua || fail "stacked hit: $(cat "$TMPDIR/web2.out")"
got=$(events "$TMPDIR/web2.ev" | cut -d' ' -f2-)
[ "$got" = "fixture_cache_hit lib/web" ] || fail "stacked hit events: $got"

echo "== a corrupt entry is rebuilt, never a hit"
for s in "$PROVIUM_FIXTURE_CACHE"/*.snap; do
	head -c 65536 "$s" >"$s.cut" && mv "$s.cut" "$s"
done
run corrupt a.test.lua || fail "corrupt: $(cat "$TMPDIR/corrupt.out")"
got=$(events "$TMPDIR/corrupt.ev" | cut -d' ' -f2-)
[ "$got" = "$(printf 'fixture_build_started base\nfixture_build_done base bytes>0')" ] ||
	fail "corrupt events: $got"
grep -q "^provium: fixture cache entry \`[0-9a-f]*\` corrupt (truncated zstd stream); evicting and rebuilding\$" \
	"$TMPDIR/corrupt.out" || fail "no corrupt notice: $(cat "$TMPDIR/corrupt.out")"

echo "== errors name the fixture"
echo 'return 42' >"$W/bad.fixture.lua"
echo 'provium:vm_fixture("bad")' >"$W/bad.test.lua"
echo 'provium:vm_fixture("nope/missing")' >"$W/missing.test.lua"
run errs bad.test.lua missing.test.lua && fail "bad fixtures passed"
grep -q 'fixture `bad`: build failed: fixture `bad` must end with `return vm:snapshot()` (it returned number)' \
	"$TMPDIR/errs.out" || fail "bad return: $(cat "$TMPDIR/errs.out")"
grep -q "fixture \`nope/missing\` not found: no nope/missing.fixture.lua under root: \\." \
	"$TMPDIR/errs.out" || fail "missing: $(cat "$TMPDIR/errs.out")"

echo "== snapshot refused with an open stream"
cat >"$W/stream.test.lua" <<'L'
local vm = provium:vm("s", "linux")
vm:boot()
test("refused", function(t)
  local s = vm:tail_file("/proc/uptime")
  local ok, err = pcall(vm.snapshot, vm)
  t:assert(not ok)
  t:assert_contains(err, "cannot snapshot with 1 open stream(s)")
  t:assert_contains(err, "Close streams and files first\n  - vm `s`: tail_file(\"/proc/uptime\") created at stream.test.lua:4 (test \"refused\")")
  s:close()
end)
L
run stream stream.test.lua || fail "stream: $(cat "$TMPDIR/stream.out")"
echo "== restores: clones get the host's clock and fresh randomness; vm:restore"
# The fixture sets its clock to 2001: a restore that kept the snapshot's
# clock is caught.  (urandom alone would differ even without the reseed on
# this kernel, which reseeds itself early after boot; the clock cannot.)
cat >"$W/old.fixture.lua" <<'L'
local vm = provium:vm("old", "linux")
vm:boot()
vm:clock():set(1000000000)
return vm:snapshot()
L
cat >"$W/clone.test.lua" <<'L'
local a = provium:vm_fixture("old")
local b = provium:vm_fixture("old")
local cmd = "head -c16 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo; date +%s"
local function host_now()
  local p = io.popen("date +%s.%N")
  local s = tonumber(p:read("l")); p:close(); return s
end
test("clones share neither time nor randomness", function(t)
  local ra = a:run(cmd):assert_ok().stdout
  local rb = b:run(cmd):assert_ok().stdout
  local ua, ta = ra:match("^(%x+)\n(%d+)\n$")
  local ub, tb = rb:match("^(%x+)\n(%d+)\n$")
  t:assert_eq(#ua, 32)
  t:assert(ua ~= ub, "clones read the same urandom bytes: " .. ua)
  local now = os.time()
  t:assert(math.abs(tonumber(ta) - now) <= 3, "clone a clock " .. ta .. " vs host " .. now)
  t:assert(math.abs(tonumber(tb) - now) <= 3, "clone b clock " .. tb .. " vs host " .. now)
  t:log(string.format("skew %.3f", a:clock():get() - host_now()))
end)
test("vm:restore", function(t)
  local vm = provium:vm("r", "linux", {memory = "256M"})
  vm:boot()
  vm:write_file("/tmp/mark", "one")
  local cid1 = vm:cid()
  local snap = vm:snapshot()
  t:assert_eq(vm:state(), "shutdown")
  t:assert(snap:size() > 0)
  local t0 = host_now()
  t:assert_eq(vm:restore(snap), vm)
  t:log(string.format("restore %.3f", host_now() - t0))
  t:assert_eq(vm:state(), "booted")
  t:assert(vm:cid() ~= cid1)
  t:assert_eq(vm:read_file("/tmp/mark"), "one")
  vm:write_file("/tmp/mark", "two")
  vm:restore(snap:path())          -- booted: shut down, then restored
  t:assert_eq(vm:read_file("/tmp/mark"), "one")
  local d = tonumber(vm:run("date +%s"):assert_ok().stdout)
  t:assert(math.abs(d - os.time()) <= 3, "restored clock " .. d)
  local s = vm:tail_file("/proc/uptime")
  local ok, err = pcall(vm.restore, vm, snap)
  t:assert_contains(err, "vm `r`: cannot restore with 1 open stream(s) and 0 open file(s)")
  s:close()
  snap:delete()
  ok, err = pcall(vm.restore, vm, snap)
  t:assert(not ok)
  t:assert_contains(err, "vm `r`: restore: " .. snap:path() .. " was deleted")
  ok, err = pcall(vm.restore, vm, "/nonexistent.snap")
  t:assert_contains(err, "vm `r`: restore: /nonexistent.snap: No such file or directory")
  ok, err = pcall(vm.restore, vm, 42)
  t:assert_contains(err, "vm:restore(snapshot | path): expected a Snapshot (from vm:snapshot()) or a path, got number")
  t:assert_eq(vm:state(), "booted")
end)
L
run clone --cpus 8 --json clone.test.lua || fail "clone: $(cat "$TMPDIR/clone.out")"
# vm_spawned / vm_shutdown pair up across the restores: r spawned 3 times.
/usr/bin/python3 - "$TMPDIR/clone.ev" <<'PY' || fail "clone pairing"
import sys, struct, msgpack
d = open(sys.argv[1], "rb").read(); i = 0; up = {}; seq = []
while i < len(d):
    n = struct.unpack(">I", d[i:i+4])[0]
    m = msgpack.unpackb(d[i+4:i+4+n], raw=False); i += 4 + n
    k, p = m["kind"], m["payload"]
    if k in ("vm_spawned", "vm_shutdown"):
        key = p["vm_name"]
        if k == "vm_spawned":
            assert key not in up, key; up[key] = 1
        else:
            assert up.pop(key, None) == 1, key
        if p["vm_name"] == "r": seq.append(k)
assert not up, up
assert seq == ["vm_spawned", "vm_shutdown"] * 3, seq
PY
ls "$TMPDIR"/provium-snapshot-* 2>/dev/null && fail "a temp snapshot was left behind"
grep -oE '"(skew|restore) [-0-9.]+"' "$TMPDIR/clone.out" | sed 's/^/measured (s): /'
echo "== lab snapshots: reset_between_tests, lab:snapshot/restore, sub-labs"
cat >"$W/lab.test.lua" <<'L'
provium.reset_between_tests = true
local a = provium:vm("a", "linux", {memory = "256M"})
local b = provium:vm("b", "linux", {memory = "256M"})
provium:boot()
a:write_file("/tmp/state", "base")
test("first test dirties the lab", function(t)
  t:assert_eq(a:read_file("/tmp/state"), "base")
  a:write_file("/tmp/state", "dirty")
  b:write_file("/tmp/b", "x")
  t:log(string.format("cids %d %d", a:cid(), b:cid()))
end)
test("second test sees the baseline", function(t)
  t:assert_eq(a:read_file("/tmp/state"), "base")
  t:assert_eq(b:run("test -e /tmp/b"):ok(), false)
  local d = tonumber(a:run("date +%s"):assert_ok().stdout)
  t:assert(math.abs(d - os.time()) <= 3, "clock " .. d)
end)
test("lab:snapshot refused with a stream; restore into a sub-lab", function(t)
  local s = a:tail_file("/proc/uptime")
  local ok, err = pcall(file_lab.snapshot, file_lab)
  t:assert(not ok)
  t:assert_contains(err, "lab `provium`: snapshot refused: 0 open file handle(s), 1 open stream(s)\n  - vm `a`: tail_file(\"/proc/uptime\") created at lab.test.lua:20 (test")
  t:assert_contains(err, "(test \"lab:snapshot refused with a stream; restore into a sub-lab\")\n  Close streams and files before snapshotting.")
  s:close()
  local dir = os.tmpname(); os.remove(dir)
  t:assert_eq(file_lab:snapshot(dir), dir)
  -- VM names are unique along the lab chain, so the root's VMs cannot
  -- come back under it; a sub-lab's can.
  local sub = provium:lab("src")
  t:assert_eq(provium:lab("src"), sub)
  t:assert_eq(provium.src, sub)
  ok, err = pcall(sub.restore, sub, dir)
  t:assert_contains(err, "restore: vm name `a` already exists at a parent scope")
  sub:vm("c", "linux", {memory = "256M"}):boot()
  sub.c:write_file("/tmp/c", "c")
  local snap = sub:snapshot()
  t:assert_eq(sub.c:read_file("/tmp/c"), "c")      -- still running
  local copy = provium:lab("copy")
  t:assert_eq(copy:restore(snap), copy)
  t:assert_eq(copy.c:read_file("/tmp/c"), "c")
  t:assert(copy.c:cid() ~= sub.c:cid())
  ok, err = pcall(copy.restore, copy, snap)
  t:assert_contains(err, "/copy`: restore: vm name `c` already exists in this lab")
  os.execute("rm -rf " .. dir)
end)
L
# The file's root lab is reachable from a test only through a global.
sed -i '1a file_lab = provium' "$W/lab.test.lua"
run lab --cpus 16 --json lab.test.lua || fail "lab: $(cat "$TMPDIR/lab.out")"
ls "$TMPDIR"/provium-labsnap-* 2>/dev/null && fail "the baseline was left behind"

echo "== reset_between_tests refused with a file-scope stream, naming it"
cat >"$W/labstream.test.lua" <<'L'
provium.reset_between_tests = true
local a = provium:vm("a", "linux", {memory = "256M"})
a:boot()
local s = a:tail_file("/proc/uptime")
test("one", function(t) end)
test("two", function(t) end)
L
run labstream --cpus 16 labstream.test.lua && fail "labstream passed"
[ "$(grep -c 'labstream.test.lua: cannot use reset_between_tests with file-scope streams (1 open):' "$TMPDIR/labstream.out")" -eq 2 ] ||
	fail "labstream: $(cat "$TMPDIR/labstream.out")"
grep -q '  - vm `a`: tail_file("/proc/uptime") created at labstream.test.lua:4 (file scope)' "$TMPDIR/labstream.out" ||
	fail "labstream site: $(cat "$TMPDIR/labstream.out")"

echo "== lab fixtures: build, hit, wrong kinds"
cat >"$W/pair.fixture.lua" <<'L'
local a = provium:vm("a", "linux", {memory = "256M"})
local b = provium:vm("b", "linux", {memory = "256M"})
provium:boot()
a:write_file("/tmp/who", "a")
b:write_file("/tmp/who", "b")
return provium:snapshot()
L
cat >"$W/lf.test.lua" <<'L'
local lab = provium:lab_fixture("pair")
local lab2 = provium.lab_fixture("pair")
test("lab fixture", function(t)
  t:assert_eq(lab.a:read_file("/tmp/who"), "a")
  t:assert_eq(lab.b:read_file("/tmp/who"), "b")
  t:assert_eq(lab2.a:read_file("/tmp/who"), "a")
  t:assert(lab.a:cid() ~= lab2.a:cid())
  local d = tonumber(lab2.b:run("date +%s"):assert_ok().stdout)
  t:assert(math.abs(d - os.time()) <= 3, "clock " .. d)
end)
test("wrong kinds", function(t)
  lab:shutdown(); lab2:shutdown()
  local ok, err = pcall(provium.vm_fixture, provium, "pair")
  t:assert_contains(err, "fixture `pair` returned a lab snapshot; use lab_fixture instead")
  ok, err = pcall(provium.lab_fixture, provium, "base")
  t:assert_contains(err, "fixture `base` returned a VM snapshot; use vm_fixture instead")
end)
L
run lf --cpus 16 lf.test.lua || fail "lab fixture: $(cat "$TMPDIR/lf.out")"
got=$(events "$TMPDIR/lf.ev" | cut -d' ' -f2- | grep ' pair')
# build, then the second lab_fixture hits; then vm_fixture("pair") builds
# the VM kind and fails (snapshot_bytes 0).
[ "$got" = "$(printf 'fixture_build_started pair\nfixture_build_done pair bytes>0\nfixture_cache_hit pair\nfixture_build_started pair\nfixture_build_done pair')" ] ||
	fail "lab fixture events: $got"
echo "fixture_lua: ok"
