#!/bin/sh
# Real VMs through the qemu backend (vm/qemu.c), driven by the qemu-boot
# tool: boot to hello_ok, boot files, fail-fast on a kernel panic and on
# QEMU exiting, snapshot/restore, and nothing left behind.  Skipped (exit 0)
# when qemu-system-x86_64 or the guest image is missing.
set -eu
root=$(cd ../.. && pwd)
tool=$BUILD/tests/tools/qemu-boot
export PROVIUM_GUEST="${PROVIUM_GUEST:-$root/build/guest/current}"
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: qemu-system-x86_64 not installed"; exit 0
fi
if [ ! -f "$PROVIUM_GUEST/vmlinux" ]; then
	echo "SKIP: no guest image at $PROVIUM_GUEST (make guest)"; exit 0
fi
fail() { echo "FAIL: $*" >&2; exit 1; }

# A stand-in agent, so this suite tests the backend on its own.
musl-gcc -static -Os -o "$TMPDIR/fake-agent" "$root/tests/guest/fake-agent.c"
real_agent=$PROVIUM_AGENT

echo "== boot to hello_ok (fake agent)"
out=$(PROVIUM_AGENT=$TMPDIR/fake-agent "$tool" hello)
echo "$out"
echo "$out" | grep -q '^hello_ok: ' || fail "no hello_ok"

echo "== pause / resume"
out=$(PROVIUM_AGENT=$TMPDIR/fake-agent "$tool" hello --pause)
echo "$out"
echo "$out" | grep -q '^pause: silent' || fail "pause/resume"

echo "== boot files + snapshot/restore"
out=$(PROVIUM_AGENT=$TMPDIR/fake-agent "$tool" hello --file /etc/provium-test=hi \
	--snapshot "$TMPDIR/snap.zst")
echo "$out"
echo "$out" | grep -q '^restore hello_ok: ' || fail "no hello_ok after restore"
[ -s "$TMPDIR/snap.zst" ] || fail "no snapshot file"

echo "== kernel panic fails fast, with the console"
# No panic=-1 here: the console scan must catch it, not QEMU exiting.
out=$(PROVIUM_AGENT=$TMPDIR/fake-agent "$tool" hello \
	--cmdline "console=ttyS0 quiet fake-exit" --expect-fail "guest kernel panic")
echo "$out"
echo "$out" | grep -q -- '--- guest console (last bytes) ---' || fail "no console markers"
echo "$out" | grep -q 'Kernel panic' || fail "no panic text in the excerpt"
secs=$(echo "$out" | sed -n 's/^failed as expected after \([0-9]*\)\..*/\1/p')
[ "$secs" -lt 20 ] || fail "panic took ${secs}s to detect"

echo "== QEMU SIGKILLed mid-boot fails fast"
out=$(PROVIUM_AGENT=$TMPDIR/fake-agent "$tool" hello --append "fake-hang" \
	--kill-after 0.3 --expect-fail "QEMU killed by signal 9")
echo "$out" | head -n 3

echo "== a rdinit= of the profile's own is refused"
out=$(PROVIUM_AGENT=$TMPDIR/fake-agent "$tool" hello --append "rdinit=/init" \
	--expect-fail "already has \`rdinit=/init\`")
echo "$out" | head -n 2

echo "== runner SIGKILLed mid-boot: its QEMU dies too"
PROVIUM_AGENT=$TMPDIR/fake-agent "$tool" hello >/dev/null 2>&1 &
pid=$!
sleep 1
kill -9 "$pid"
wait "$pid" || true
sleep 0.5
if pgrep -f "qemu-system-x86_64.*$TMPDIR" >/dev/null; then
	fail "QEMU outlived its runner"
fi
# Its scratch dir stays until the next boot sweeps it (below).

echo "== the real agent: hello_ok, boot files read back"
if PROVIUM_AGENT=$real_agent "$tool" hello --check-files \
	--file /etc/provium-boot-file="content 1" --file /root/deep/dir/f2=x \
	>"$TMPDIR/real.out" 2>&1; then
	cat "$TMPDIR/real.out"
	[ "$(grep -c ': ok$' "$TMPDIR/real.out")" = 2 ] || fail "boot files"
elif [ "${PROVIUM_SMOKE_REQUIRE_AGENT:-1}" = 1 ]; then
	cat "$TMPDIR/real.out"; fail "the real agent did not answer"
else
	echo "(real agent not ready; PROVIUM_SMOKE_REQUIRE_AGENT=0)"
fi

echo "== nothing left behind"
left=$(ls "$TMPDIR/provium-qemu" | grep '^vm-' || true)
[ -z "$left" ] || fail "scratch dirs left: $left"
if pgrep -f "qemu-system-x86_64.*$TMPDIR" >/dev/null; then
	fail "qemu processes left"
fi
echo "ok"
