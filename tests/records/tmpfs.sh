#!/bin/sh
# Part of run.sh, in a private mount namespace: --junit to a tmpfs that is
# full (the previous JUnit file stays as it was, no temporary file is left)
# and to one that is read-only (refused at start, like --save-events).
set -u
w=$W
m=$w/mnt
fail=0
FAIL() { echo "FAIL $*"; fail=1; }
same() { # what want-text file
	printf '%s\n' "$2" >"$w/want"
	diff -u "$w/want" "$3" >"$w/diff" || { FAIL "$1:"; cat "$w/diff"; }
}
mkdir -p "$m" && mount -t tmpfs -o size=64k,mode=0755 provium-records "$m" ||
	{ echo "FAIL tmpfs: cannot mount a tmpfs"; exit 1; }
cd "$w/t" || exit 1

# full: a good JUnit file from before, then the disk fills up
echo "the previous report" >"$m/j.xml"
dd if=/dev/zero of="$m/fill" bs=4096 2>/dev/null
[ "$(df --output=avail "$m" | tail -n 1)" -eq 0 ] || FAIL "tmpfs: not full"
"$PROVIUM" --vmm local --junit "$m/j.xml" --save-events "$w/ev3" \
	pass.test.lua fail.test.lua >"$w/out" 2>"$w/err"
rc=$?
[ $rc -eq 2 ] || FAIL "tmpfs-full: exit $rc, want 2"
same tmpfs-full-stderr "provium: --junit $m/j.xml: writing failed (No space left on device); $m/j.xml is unchanged; exit status 2" "$w/err"
tail -n 1 "$w/out" | sed 's/; [0-9.]*s$//' >"$w/s"
same tmpfs-full-summary "2 file(s); 2 passed, 1 failed, 0 skipped" "$w/s"
same tmpfs-full-kept "the previous report" "$m/j.xml"
ls "$m" >"$w/ls"
same tmpfs-full-no-temp "fill
j.xml" "$w/ls"
"$PROVIUM" events check "$w/ev3" >"$w/check" 2>&1 && grep -q ', complete run$' "$w/check" ||
	{ FAIL "tmpfs-full: events check"; cat "$w/check"; }
# --save-events on the full disk: the run completes, the first lost
# frame is named, exit 2
"$PROVIUM" --vmm local --save-events "$m/ev" pass.test.lua >"$w/out" 2>"$w/err"
rc=$?
[ $rc -eq 2 ] || FAIL "tmpfs-full-events: exit $rc, want 2"
same tmpfs-full-events-stderr "provium: --save-events $m/ev: write failed at frame 0 (No space left on device); events from frame 0 on are lost there
provium: the saved record is incomplete (see above); exit status 2" "$w/err"
tail -n 1 "$w/out" | sed 's/; [0-9.]*s$//' >"$w/s"
same tmpfs-full-events-summary "1 file(s); 2 passed, 0 failed, 0 skipped" "$w/s"
rm -f "$m/fill" "$m/ev"

# read-only: both records refused before anything runs, in the same form
mount -o remount,ro "$m" || { FAIL "tmpfs: cannot remount read-only"; exit 1; }
rm -f "$w/ev4"
"$PROVIUM" --vmm local --junit "$m/new.xml" --save-events "$w/ev4" pass.test.lua \
	>"$w/out" 2>"$w/err"
rc=$?
[ $rc -eq 2 ] || FAIL "tmpfs-ro: exit $rc, want 2"
same tmpfs-ro-stderr "provium: --junit $m/new.xml: cannot create a file in $m: Read-only file system" "$w/err"
[ -s "$w/out" ] && { FAIL "tmpfs-ro: something ran:"; cat "$w/out"; }
[ -e "$w/ev4" ] && FAIL "tmpfs-ro: the events file was created"
"$PROVIUM" --vmm local --save-events "$m/ev" pass.test.lua >"$w/out" 2>"$w/err"
rc=$?
[ $rc -eq 2 ] || FAIL "tmpfs-ro-events: exit $rc, want 2"
same tmpfs-ro-events-stderr "provium: --save-events $m/ev: Read-only file system" "$w/err"
[ -s "$w/out" ] && { FAIL "tmpfs-ro-events: something ran:"; cat "$w/out"; }
"$PROVIUM" events junit "$w/ev3" "$m/x.xml" >"$w/out" 2>"$w/err"
rc=$?
[ $rc -eq 1 ] || FAIL "tmpfs-ro events junit: exit $rc, want 1"
same tmpfs-ro-events-junit "provium events junit: $m/x.xml: cannot create a file in $m: Read-only file system" "$w/err"
umount "$m"
exit $fail
