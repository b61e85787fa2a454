#!/bin/sh
# events suite: provium-coverage, `provium events ...`, the events socket
# (two clients, a late client, a stalled client, SIGINT cleanup), JUnit,
# SQLite history, and the HTML report screenshotted in headless Chromium.
# Streams are hand-made by gen.py (python msgpack, an independent encoder).
set -eu
: "${BUILD:=../../build}"
: "${PROVIUM_COVERAGE:=$BUILD/bin/provium-coverage}"
: "${TMPDIR:=/tmp}"
PY=/usr/bin/python3
EV=$BUILD/tests/tools/provium_events
SERVE=$BUILD/tests/tools/evsock_serve
COV=$PROVIUM_COVERAGE
T=$(mktemp -d "$TMPDIR/events.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
same() {  # same EXPECTED ACTUAL
	diff -u "$1" "$2" >&2 || fail "$2 differs from $1"
}
exitcode() {  # exitcode WANT CMD...: runs CMD, checks its exit status
	want=$1; shift
	set +e; "$@"; got=$?; set -e
	[ "$got" -eq "$want" ] || fail "exit $got, want $want: $*"
}

for s in good incomplete violations truncated corrupt oversize empty big; do
	$PY gen.py $s "$T/$s.msgpack"
done

echo "== provium-coverage: text, json, --by, stdin, golden"
$COV --from "$T/good.msgpack" >"$T/out" ; same expected/coverage-good.txt "$T/out"
$COV --from "$T/good.msgpack" --json >"$T/out"; same expected/coverage-good.json "$T/out"
$COV --from - --by tags <"$T/good.msgpack" >"$T/out"; same expected/coverage-good-tags.txt "$T/out"
$COV --by tags <"$T/good.msgpack" >"$T/out"; same expected/coverage-good-tags.txt "$T/out"
$COV --from "$T/empty.msgpack" >"$T/out"; same expected/coverage-empty.txt "$T/out"
# the json is what python sees
$COV --from "$T/good.msgpack" --json | $PY -c '
import json, sys
j = json.load(sys.stdin)
assert j["buckets"]["4.1"] == {"passed": 2, "failed": 0, "skipped": 0}, j
assert j["uncategorised"] == {"passed": 2, "failed": 0, "skipped": 0}, j
assert j["complete"] is True and j["incomplete_files"] == []'

echo "== provium-coverage: incomplete run, corrupt input"
exitcode 1 $COV --from "$T/incomplete.msgpack" >"$T/out" 2>"$T/err"
same expected/coverage-incomplete.txt "$T/out"
echo "provium-coverage: incomplete run: some discovered files never completed" >"$T/want"
same "$T/want" "$T/err"
for s in truncated corrupt oversize; do
	exitcode 1 $COV --from "$T/$s.msgpack" >"$T/out" 2>"$T/err"
	[ ! -s "$T/out" ] || fail "$s: output on a corrupt stream"
	sed "s|@T@|$T|" "expected/coverage-$s.err" >"$T/want"
	same "$T/want" "$T/err"
done
exitcode 1 $COV --from "$T/nonexistent" 2>"$T/err"
echo "provium-coverage: $T/nonexistent: No such file or directory" >"$T/want"
same "$T/want" "$T/err"
exitcode 2 $COV --bogus 2>/dev/null
# random garbage never crashes (exit 1, never a signal)
$PY -c 'import os,sys; sys.stdout.buffer.write(os.urandom(5000))' >"$T/garbage"
for cut in 1 3 4 5 50 200 1000; do
	head -c $cut "$T/good.msgpack" >"$T/cut"
	exitcode 1 $COV --from "$T/cut" >/dev/null 2>&1
	exitcode 1 $EV check "$T/cut" >/dev/null 2>&1
done
exitcode 1 $COV --from "$T/garbage" >/dev/null 2>&1
exitcode 1 $EV cat "$T/garbage" >/dev/null 2>&1

echo "== events check"
$EV check "$T/good.msgpack" >"$T/out"; same expected/check-good.txt "$T/out"
exitcode 1 $EV check "$T/violations.msgpack" >"$T/out"
same expected/check-violations.txt "$T/out"
exitcode 1 $EV check "$T/incomplete.msgpack" >"$T/out"
same expected/check-incomplete.txt "$T/out"
exitcode 1 $EV check "$T/corrupt.msgpack" >"$T/out"
same expected/check-corrupt.txt "$T/out"
exitcode 1 $EV check "$T/truncated.msgpack" >"$T/out"
sed "s|@T@|$T|" expected/check-truncated.txt >"$T/want"; same "$T/want" "$T/out"
exitcode 2 $EV check 2>/dev/null

echo "== events cat: one JSON object per frame, equal to python's decode"
$EV cat "$T/good.msgpack" >"$T/cat.jsonl"
$EV cat - <"$T/good.msgpack" | cmp - "$T/cat.jsonl"
$PY - "$T/good.msgpack" "$T/cat.jsonl" <<'PYEOF'
import base64, json, struct, sys
import msgpack
data = open(sys.argv[1], "rb").read()
lines = open(sys.argv[2]).read().splitlines()
def norm(o):
    if isinstance(o, bytes):
        return base64.b64encode(o).decode()
    if isinstance(o, dict):
        return {k: norm(v) for k, v in o.items()}
    if isinstance(o, list):
        return [norm(v) for v in o]
    return o
pos = n = 0
while pos < len(data):
    (l,) = struct.unpack(">I", data[pos:pos + 4])
    frame = msgpack.unpackb(data[pos + 4:pos + 4 + l], raw=False)
    pos += 4 + l
    got = json.loads(lines[n])
    assert list(got) == ["ts", "kind", "payload"], got
    assert got == norm(frame), (n, got, frame)
    n += 1
assert n == len(lines) == 39, (n, len(lines))
PYEOF
grep -q '"spec":"Ni40"' "$T/cat.jsonl" || fail "bin meta not base64"
exitcode 1 $EV cat "$T/truncated.msgpack" >"$T/out" 2>"$T/err"
[ "$(wc -l <"$T/out")" -eq 38 ] || fail "cat printed $(wc -l <"$T/out") frames before the truncation, want 38"

echo "== events summary"
$EV summary "$T/good.msgpack" >"$T/out"; same expected/summary-good.txt "$T/out"
$EV summary "$T/incomplete.msgpack" >"$T/out"; same expected/summary-incomplete.txt "$T/out"

echo "== junit"
$EV junit "$T/good.msgpack" "$T/junit.xml"
same expected/junit-good.xml "$T/junit.xml"
$EV junit "$T/incomplete.msgpack" "$T/junit-inc.xml"
same expected/junit-incomplete.xml "$T/junit-inc.xml"
$PY -c '
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
assert r.tag == "testsuites" and r.get("failures") == "1" and r.get("errors") == "1"
s = {x.get("name"): x for x in r}
f = s["net/ping.test.lua"].find("testcase[@name=\"ping floods\"]")
assert f.find("failure").get("message") == "expected 0 lost packets, got 3"
assert "3 packets lost" in f.find("system-out").text
assert s["net/ping.test.lua"].find("testcase/error").get("type") == "timed_out"
assert s["boot.test.lua"].find("testcase/skipped").get("message") == "todo: not yet"
' "$T/junit.xml"
ls "$T" | grep -q tmp && fail "junit left a temp file"

echo "== events import (SQLite), idempotent"
$EV import "$T/good.msgpack" --db "$T/h.db" >"$T/out"
$EV import "$T/good.msgpack" --db "$T/h.db" >>"$T/out"
$EV import "$T/incomplete.msgpack" --db "$T/h.db" >>"$T/out"
same expected/import.txt "$T/out"
sqlite3 "$T/h.db" "SELECT count(*), sum(complete) FROM runs;
SELECT count(*) FROM files; SELECT count(*) FROM tests; SELECT count(*) FROM vms;
SELECT kind, count(*) FROM fixture_builds GROUP BY kind ORDER BY kind;
SELECT path, status, duration_ns FROM files WHERE run_id = 1 ORDER BY duration_ns DESC LIMIT 1;
SELECT name FROM tests WHERE json_extract(meta, '\$.spec') = '4.1' ORDER BY name;
SELECT path FROM files WHERE status IS NULL;" >"$T/out"
same expected/import-queries.txt "$T/out"
exitcode 1 $EV import "$T/truncated.msgpack" --db "$T/h.db" 2>/dev/null
[ "$(sqlite3 "$T/h.db" 'SELECT count(*) FROM runs')" -eq 2 ] || fail "truncated import added rows"

echo "== events socket: two clients at once"
S=$T/sock/dir/ev.sock
$SERVE "$S" "$T/good.msgpack" --wait-clients 2 --delay-ms 2 2>"$T/serve.err" & sp=$!; pids="$pids $sp"
i=0; while [ ! -S "$S" ]; do i=$((i+1)); [ $i -lt 200 ] || fail "no socket"; sleep 0.05; done
[ "$(stat -c %a "$S")" = 600 ] || fail "socket mode $(stat -c %a "$S")"
$COV --from-socket "$S" >"$T/c1" & c1=$!
$COV --from-socket "$S" --json >"$T/c2" & c2=$!
wait $c1 || fail "client 1 failed"; wait $c2 || fail "client 2 failed"
wait $sp || fail "server failed"
same expected/coverage-good.txt "$T/c1"
same expected/coverage-good.json "$T/c2"
[ ! -e "$S" ] || fail "socket file left behind"

echo "== events socket: a late client still sees the whole run"
$SERVE "$S" "$T/good.msgpack" --wait-clients 1 --delay-ms 25 2>"$T/serve.err" & sp=$!; pids="$pids $sp"
i=0; while [ ! -S "$S" ]; do i=$((i+1)); [ $i -lt 200 ] || fail "no socket"; sleep 0.05; done
$COV --from-socket "$S" >"$T/c1" & c1=$!
sleep 0.5    # about 20 of 39 frames published
$COV --from-socket "$S" >"$T/c2" & c2=$!
wait $c1 || fail "early client failed"; wait $c2 || fail "late client failed"
wait $sp || fail "server failed"
same expected/coverage-good.txt "$T/c1"
same expected/coverage-good.txt "$T/c2"

echo "== events socket: a stalled client is dropped, the run finishes on time"
$SERVE "$S" "$T/big.msgpack" --wait-clients 2 --client-max 524288 --delay-us 50 2>"$T/serve.err" & sp=$!; pids="$pids $sp"
i=0; while [ ! -S "$S" ]; do i=$((i+1)); [ $i -lt 200 ] || fail "no socket"; sleep 0.05; done
$PY -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(30)' "$S" & st=$!; pids="$pids $st"
sleep 0.2
start=$(date +%s)
$COV --from-socket "$S" >"$T/c1" || fail "live client failed"
wait $sp || fail "server failed"
limit=10; [ "${SAN:-0}" = 1 ] && limit=60
[ $(( $(date +%s) - start )) -le $limit ] || fail "run stalled behind the stuck client ($(( $(date +%s) - start ))s)"
grep -c 'disconnected' "$T/serve.err" | grep -qx 1 || { cat "$T/serve.err" >&2; fail "want one disconnect line"; }
grep -q "^provium: events socket $S: client [0-9]* is [0-9]* bytes behind (cap 524288); disconnected\$" "$T/serve.err" \
	|| { cat "$T/serve.err" >&2; fail "disconnect line"; }
grep -q 'served 46000 frames' "$T/serve.err" || { cat "$T/serve.err" >&2; fail "server summary"; }
tail -1 "$T/c1" | grep -qx '  buckets: 10; 20000 passed, 0 failed, 0 skipped' || fail "live client missed frames: $(tail -1 "$T/c1")"
kill $st 2>/dev/null || true

echo "== events socket: SIGINT removes the socket file"
$SERVE "$S" "$T/good.msgpack" --wait-clients 5 2>/dev/null & sp=$!
i=0; while [ ! -S "$S" ]; do i=$((i+1)); [ $i -lt 200 ] || fail "no socket"; sleep 0.05; done
kill -INT $sp
set +e; wait $sp; rc=$?; set -e
[ $rc -eq 130 ] || fail "server exit $rc after SIGINT"
[ ! -e "$S" ] || fail "socket left after SIGINT"
: >"$S"   # a regular file there is never replaced
exitcode 1 $SERVE "$S" "$T/good.msgpack" 2>"$T/err"
grep -q "exists and is not a socket; refusing to replace it" "$T/err" || fail "non-socket replaced"
rm -f "$S"

echo "== a real run (provium --vmm local): --save-events, --events-stdout"
if [ -x "${PROVIUM:-}" ] && "$PROVIUM" --help 2>&1 | grep -q -- '--vmm'; then
	mkdir -p "$T/real"
	cat >"$T/real/a.test.lua" <<'LUA'
test("one", {spec = "1.1"}, function(t) end)
test("two", {spec = {"1.2", "2.1"}}, function(t) error("boom") end)
test("three", {skip = "later", spec = "2"}, function(t) end)
LUA
	echo 'test("b1", {spec = "3.1"}, function(t) end)' >"$T/real/b.test.lua"
	(cd "$T/real" && exitcode 1 timeout 120 "$PROVIUM" --vmm local --save-events ev.msgpack . >/dev/null 2>&1)
	$EV check "$T/real/ev.msgpack" | grep -q '^events check: ok: .* 2 files, complete run$' || fail "real run does not pass events check"
	$COV --from "$T/real/ev.msgpack" >"$T/real/cov"
	same expected/coverage-real.txt "$T/real/cov"
	(cd "$T/real" && timeout 120 "$PROVIUM" --vmm local --events-stdout . 2>/dev/null | $COV --from - >"$T/real/cov2") || true
	same expected/coverage-real.txt "$T/real/cov2"
	$EV junit "$T/real/ev.msgpack" "$T/real/j.xml"
	grep -q '<failure message="a.test.lua:2: boom"' "$T/real/j.xml" || fail "real junit"
else
	echo "SKIP: \$PROVIUM has no --vmm (supervisor not built)"
fi

echo "== HTML report in headless Chromium"
$COV --from "$T/good.msgpack" --html "$T/cov.html" >/dev/null
grep -q '<details class=fail open><summary>net/ping.test.lua :: ping floods' "$T/cov.html" || fail "failing test missing"
grep -q '3 packets lost' "$T/cov.html" || fail "console excerpt missing"
grep -q 'rollup' "$T/cov.html" || fail "no rollup rows"
grep -Eq 'src=|href=' "$T/cov.html" && fail "HTML is not self-contained"
if command -v chromium >/dev/null 2>&1; then
	timeout 60 chromium --headless --no-sandbox --disable-gpu \
		--disable-background-networking --disable-component-update \
		--no-first-run --disable-sync --user-data-dir="$T/chromium" \
		--window-size=1200,1100 --screenshot="$T/cov.png" \
		"file://$T/cov.html" >"$T/chromium.log" 2>&1 || { cat "$T/chromium.log" >&2; fail "chromium"; }
	$PY pngcheck.py "$T/cov.png"
else
	echo "SKIP: chromium not installed (scripts/install-deps installs it); HTML not screenshotted"
fi
echo "events suite: ok"
