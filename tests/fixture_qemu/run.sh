#!/bin/sh
# fixture_qemu: the fixture cache with real VMs (fixtures/flow.h driving
# vm/qemu.c through tests/tools/fixture_bench): build on a miss, hit on the
# next file, a corrupt entry evicted and rebuilt (never a hit), and two
# files at once (one builds, the other waits, then hits).  Skipped (exit 0)
# when qemu-system-x86_64 or the guest image is missing.
set -eu
root=$(cd ../.. && pwd)
T=$BUILD/tests/tools/fixture_bench
export PROVIUM_GUEST="${PROVIUM_GUEST:-$root/build/guest/current}"
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: qemu-system-x86_64 not installed"; exit 0
fi
if [ ! -f "$PROVIUM_GUEST/vmlinux" ]; then
	echo "SKIP: no guest image at $PROVIUM_GUEST (make guest)"; exit 0
fi
fail() { echo "FAIL: $*" >&2; exit 1; }
C=$TMPDIR/cache
key=b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0
get() { "$T" get --cache "$C" --file "$1" 2>"$TMPDIR/err.$1"; }

echo "== miss: build, install, restore"
out=$(get a.test.lua) || fail "build: $(cat "$TMPDIR/err.a.test.lua")"
echo "$out"
[ "$out" = "$(printf 'events: started done \noutcome: built')" ] || fail "miss: $out"
[ -s "$C/$key.snap" ] && [ -s "$C/$key.json" ] || fail "no entry installed"
[ ! -e "$C/$key.snap.tmp" ] || fail "temp file left"

echo "== hit: restored, no build"
out=$(get b.test.lua) || fail "hit: $(cat "$TMPDIR/err.b.test.lua")"
[ "$out" = "$(printf 'events: hit \noutcome: hit')" ] || fail "hit: $out"

echo "== corrupt entry: reported, evicted, rebuilt, never a hit"
head -c 100000 "$C/$key.snap" >"$TMPDIR/trunc" && cp "$TMPDIR/trunc" "$C/$key.snap"
out=$(get c.test.lua) || fail "corrupt: $(cat "$TMPDIR/err.c.test.lua")"
[ "$out" = "$(printf 'events: started done \noutcome: built')" ] || fail "corrupt: $out"
grep -q "^provium: fixture cache entry \`$key\` corrupt (truncated zstd stream); evicting and rebuilding\$" \
	"$TMPDIR/err.c.test.lua" || fail "no corrupt notice: $(cat "$TMPDIR/err.c.test.lua")"

echo "== two files at once: one builds, one waits then hits"
rm -f "$C/$key.snap" "$C/$key.json"
get d.test.lua >"$TMPDIR/d.out" &
pd=$!
# Start the second file once the first holds the build lock.
i=0
while ! grep -q 'file=d.test.lua' "$C/$key.lock" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "first file never took the lock"
	sleep 0.05
done
out=$(get e.test.lua) || fail "waiter: $(cat "$TMPDIR/err.e.test.lua")"
wait $pd || fail "builder: $(cat "$TMPDIR/err.d.test.lua")"
[ "$(cat "$TMPDIR/d.out")" = "$(printf 'events: started done \noutcome: built')" ] ||
	fail "builder: $(cat "$TMPDIR/d.out")"
[ "$out" = "$(printf 'events: waiting done hit \noutcome: hit')" ] || fail "waiter: $out"
[ "$(ls "$C" | grep -c '\.snap$')" -eq 1 ] || fail "not exactly one entry: $(ls "$C")"
if pgrep -f "$TMPDIR" >/dev/null 2>&1; then fail "processes left behind"; fi
echo "fixture_qemu: ok"
