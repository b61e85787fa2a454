#!/bin/sh
# The runner alone, driven by tests/tools/fake_supervisor over fd 3: each
# case's exact message sequence is compared with expected/<case>.out.
#   ./run.sh            check (BUILD defaults to ../../build)
#   ./run.sh --update   rewrite expected/ (review the diff before committing)
set -u
cd "$(dirname "$0")"
: "${BUILD:=../../build}"
: "${TMPDIR:=/tmp}"
work=$(mktemp -d "$TMPDIR/runner-suite.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
fake="$BUILD/tests/tools/fake_supervisor"
runner="$BUILD/tests/tools/provium_runner"
update=0
[ "${1:-}" = "--update" ] && update=1
fail=0

# case | fake_supervisor options | file | runner (default provium_runner)
# The runner's stdout+stderr must be empty, or equal expected/<case>.child
# when that file exists.
cases='
basic||basic
meta||meta
select||select
select_opts|--include-slow --tag a --tag b --no-tag c|select
select_meta|--tag-meta area=boot --tag-meta area=lab --tag-meta sub=y --no-tag-meta sub=x|select
select_no_tag_meta|--no-tag-meta sub=x|select
todo||todo
todo_default||todo_default
dup||dup
badargs||badargs
badargs2||badargs2
syntax||syntax
runtime||runtime
runtime_verbose|--verbose|runtime
nested||nested
timeout||timeout
config||config
config_refused||config_refused
json||json
wait_until||wait_until
require||require
claim||claim
claim_in_test||claim_in_test
claim_refused|--claim-err pool_too_small|claim_refused
print||print
start_v2|--start-v 2|basic
hangup|--close-after 4|long
ext||ext|provium_runner_demo
missing||missing
coroutine||coroutine
'

run_case() { # name opts file runner
	out="$work/$1.out"
	# shellcheck disable=SC2086
	"$fake" --timeout 20 --child-out "$work/$1.child" $2 "$BUILD/tests/tools/$4" \
		"cases/$3.test.lua" >"$out" 2>"$work/$1.err"
	rc=$?
	ok=0
	if [ $rc -ne 0 ]; then
		echo "FAIL $1: fake_supervisor exited $rc"; cat "$work/$1.err"
		ok=1
	fi
	# Sanitizer reports would land in the runner's stdout/stderr too.
	if [ -f "expected/$1.child" ]; then
		[ $update -eq 1 ] && cp "$work/$1.child" "expected/$1.child"
		diff -u "expected/$1.child" "$work/$1.child" ||
			{ echo "FAIL $1: runner stdout/stderr differs (above)"; ok=1; }
	elif [ -s "$work/$1.child" ]; then
		echo "FAIL $1: runner wrote to stdout/stderr:"; cat "$work/$1.child"
		ok=1
	fi
	if [ $update -eq 1 ]; then
		cp "$out" "expected/$1.out"
	elif ! diff -u "expected/$1.out" "$out"; then
		echo "FAIL $1: message sequence differs (above)"
		ok=1
	fi
	return $ok
}

mkdir -p expected
echo "$cases" | while IFS='|' read -r name opts file bin; do
	[ -n "$name" ] || continue
	run_case "$name" "$opts" "$file" "${bin:-provium_runner}" ||
		echo "$name" >>"$work/failed"
done
[ -f "$work/failed" ] && fail=1

# Timeouts are enforced promptly: the whole timeout file (5 x ~100-300 ms)
# must take well under the 5 s a missed deadline would cost.
start=$(date +%s%N)
"$fake" --child-out /dev/null "$runner" cases/timeout.test.lua >/dev/null 2>&1
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$ms" -gt 4000 ]; then
	echo "FAIL timeout: the file took ${ms} ms"; fail=1
fi

# Without the supervisor: usage error and no fd 3.
"$runner" >/dev/null 2>"$work/usage.err"; rc=$?
[ $rc -eq 100 ] || { echo "FAIL usage: exit $rc"; fail=1; }
"$runner" --runner 3>&- 2>"$work/nofd.err"; rc=$?
[ $rc -eq 100 ] && grep -q "fd 3 is not open" "$work/nofd.err" ||
	{ echo "FAIL no fd 3: exit $rc"; cat "$work/nofd.err"; fail=1; }

[ $fail -eq 0 ] && echo "runner suite: ok"
exit $fail
