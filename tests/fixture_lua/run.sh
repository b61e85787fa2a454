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
  t:assert_contains(err, "Close streams")
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
echo "fixture_lua: ok"
