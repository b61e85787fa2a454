#!/bin/sh
# fixture_cli: `provium fixture list|clean|stale|build` and `provium list`
# through the library entry point (build/tests/tools/provium_fixture).
set -eu
T="$BUILD/tests/tools/provium_fixture"
W=$(mktemp -d "${TMPDIR:-/tmp}/fixture_cli.XXXXXX")
trap 'rm -rf "$W"' EXIT
fail() { echo "fixture_cli: FAIL: $*" >&2; exit 1; }
expect() { # expect NAME WANT GOT
	[ "$2" = "$3" ] || fail "$1: expected [$2], got [$3]"
}

mkdir -p "$W/root/net" "$W/root/lib" "$W/other"
cat >"$W/root/net/base.fixture.lua" <<'L'
local vm = provium:vm("b", "linux")
vm:boot()
return vm:snapshot()
L
cat >"$W/root/net/web.fixture.lua" <<'L'
local h = require("lib.h")
return provium:vm_fixture("net/base"):snapshot()
L
echo 'return {}' >"$W/root/lib/h.lua"
echo 'test("x", function() end)' >"$W/root/a.test.lua"
echo 'test("y", function() end)' >"$W/root/net/b.test.lua"
echo 'kernel' >"$W/vmlinux"
C="$W/cache"
O="--root $W/root --cache-dir $C --kernel $W/vmlinux"
unset PROVIUM_FIXTURE_CACHE || true

# provium list / list --fixtures
got=$(cd "$W/root" && "$T" list)
expect "list" "$(printf 'a.test.lua\nnet/b.test.lua\n\n2 test(s) found')" "$got"
got=$("$T" list --fixtures --root "$W/root")
expect "list --fixtures" "$(printf '%s\n%s\n\n2 fixture(s) found' \
	"$W/root/net/base.fixture.lua" "$W/root/net/web.fixture.lua")" "$got"
"$T" list --bogus >/dev/null 2>&1 && fail "list --bogus accepted"

# No cache dir yet.
got=$("$T" fixture list $O)
expect "list, no dir" "(no cache directory at $C)" "$got"
got=$("$T" fixture clean $O)
expect "clean, no dir" "cache directory does not exist" "$got"

# Everything is stale; build without a backend says so (exit 2) and
# prints the key it would use.
got=$("$T" fixture stale $O)
expect "stale" "$(printf '%s\n%s\n\n2 stale fixture(s)' \
	"$W/root/net/base.fixture.lua" "$W/root/net/web.fixture.lua")" "$got"
set +e
err=$("$T" fixture build net/base $O 2>&1); rc=$?
set -e
expect "build rc" 2 "$rc"
key=${err##*(key }; key=${key%)}
[ ${#key} -eq 64 ] || fail "no key in [$err]"

# Install a fake entry under that key: base is no longer stale.
mkdir -p "$C"
printf 'QEVM' >"$C/$key.snap"
head -c 2044 /dev/zero >>"$C/$key.snap"
got=$("$T" fixture stale $O)
expect "stale after build" "$(printf '%s\n\n1 stale fixture(s)' \
	"$W/root/net/web.fixture.lua")" "$got"
# A kernel change makes it stale again.
echo 'kernel v2' >"$W/vmlinux"
got=$("$T" fixture stale $O | tail -n 1)
expect "stale after kernel change" "2 stale fixture(s)" "$got"

mkdir "$C/$(printf 'f%.0s' $(seq 64)).lab"
printf '{}' >"$C/$(printf 'f%.0s' $(seq 64)).lab/lab.json"
got=$("$T" fixture list $O)
expect "list" "$(printf '  %10s  %-3s  %s\n  %10s  %-3s  %s\n2 entries, 2.00 KiB' \
	"2.00 KiB" vm "$key" "2 B" lab "$(printf 'f%.0s' $(seq 64))")" "$got"

# Missing fixture: the error names it and the roots.
set +e
err=$("$T" fixture build nope $O 2>&1); rc=$?
set -e
expect "missing rc" 1 "$rc"
expect "missing msg" "provium fixture build: fixture \`nope\` not found: no nope.fixture.lua under root: $W/root" "$err"

got=$("$T" fixture clean $O)
expect "clean" "removed 2 cache entries" "$got"
got=$("$T" fixture list $O)
expect "list after clean" "0 entries, 0 B" "$got"

# PROVIUM_FIXTURE_CACHE beats --cache-dir (the config's cache_dir).
mkdir -p "$W/envcache"
got=$(PROVIUM_FIXTURE_CACHE="$W/envcache" "$T" fixture list $O)
expect "env cache" "0 entries, 0 B" "$got"
"$T" fixture frobnicate $O >/dev/null 2>&1 && fail "unknown subcommand accepted"

# provium.toml gives roots, cache_dir and the profiles' kernels (relative
# to the config's directory), as for a run.
mkdir -p "$W/proj/suite/fx"
printf '[provium]\nroots = ["suite"]\ncache_dir = "cache"\n\n[profiles.p]\nkernel = "k"\ninitrd = ""\ncmdline = "console=ttyS0"\n' >"$W/proj/provium.toml"
echo 'return 1' >"$W/proj/suite/fx/a.fixture.lua"
echo k >"$W/proj/k"
got=$(cd "$W/proj" && "$T" list --fixtures)
expect "config list" "$(printf '%s\n\n1 fixture(s) found' "$W/proj/suite/fx/a.fixture.lua")" "$got"
got=$("$T" fixture list --config "$W/proj/provium.toml")
expect "config cache_dir" "(no cache directory at $W/proj/cache)" "$got"
got=$("$T" fixture stale --config "$W/proj/provium.toml" | tail -n 1)
expect "config stale" "1 stale fixture(s)" "$got"
set +e
err=$("$T" fixture stale --config "$W/nope.toml" 2>&1); rc=$?
set -e
expect "bad config rc" 2 "$rc"
expect "bad config msg" "provium: $W/nope.toml: No such file or directory (check --config)" "$err"
echo "fixture_cli: ok"
