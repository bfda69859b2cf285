#!/usr/bin/env bash
# Checks bin/memmgr as a user meets it: every command's exit status, messages and usage for bad
# options (2, never a stack trace), --help (0, the command's own usage), MEMMGR_JAVA_HOME (used,
# or refused with status 2), and a 3-second stress run (one progress line per second, latencies
# with units). Run by bench/pom.xml in the integration-test phase, after benchmarks.jar is built
# (MEMMGR_NO_BUILD=1: the launcher must not start another build); by hand:
#   bench/src/it/check-launcher.sh
# Prints one line per failed check with the command and its output, then "N passed, N failed";
# exits 1 if any check failed.
set -uo pipefail

# shellcheck source=expect.sh
source "$(dirname "${BASH_SOURCE[0]}")/expect.sh"

# the launcher itself
expect 2 "" "memmgr: a command is needed" "$memmgr"
expect 2 "" "memmgr: unknown command 'frobnicate'" "$memmgr" frobnicate
expect 0 "bin/memmgr demo" "" "$memmgr" help

# bad options: message, the command's usage, status 2
expect 2 "" "demo: --capacity needs a value" "$memmgr" demo --capacity
expect 2 "" "usage: bin/memmgr demo" "$memmgr" demo --capacity
expect 2 "" "demo: --capacity: not a size: 'abc'" "$memmgr" demo --capacity abc
expect 2 "" "demo: --overcommit: not a number: 'abc'" "$memmgr" demo --overcommit abc
expect 2 "" "demo: --overcommit must be greater than 0 and at most 2.75: '-1'" "$memmgr" demo --overcommit -1
expect 2 "" "demo: unknown option '--fast'" "$memmgr" demo --fast
expect 2 "" "stress: --threads must be between 1 and 256: '0'" "$memmgr" stress --threads 0
expect 2 "" "soak: --seconds: not a whole number: 'ten'" "$memmgr" soak --seconds ten
expect 2 "" "quick: --out: the directory of '/nonexistent/dir/x.md' does not exist" "$memmgr" quick --out /nonexistent/dir/x.md
expect 2 "" "usage: bin/memmgr bench" "$memmgr" bench -f many
expect 2 "" "top: unknown option '--fast'" "$memmgr" top --fast
expect 2 "" "top: not a process id: 'abc'" "$memmgr" top --once abc
expect 2 "" "jfr: a recording FILE is needed" "$memmgr" jfr
expect 2 "" "usage: bin/memmgr jfr FILE" "$memmgr" jfr --fast

# --help: the command's own usage on stdout, status 0
expect 0 "usage: bin/memmgr demo" "" "$memmgr" demo --help
expect 0 "usage: bin/memmgr stress" "" "$memmgr" stress --help
expect 0 "usage: bin/memmgr soak" "" "$memmgr" soak -h
expect 0 "usage: bin/memmgr quick" "" "$memmgr" quick --help
expect 0 "usage: bin/memmgr bench" "" "$memmgr" bench --help
expect 0 "-prof" "" "$memmgr" bench --help
expect 0 "usage: bin/memmgr top" "" "$memmgr" top --help
expect 0 "usage: bin/memmgr jfr FILE" "" "$memmgr" jfr --help

# top and jfr on nothing: a message, not a failure; a process that publishes nothing: status 1
expect 0 "no process publishes memmgr counters in $tmp/none" "" "$memmgr" top --once --dir "$tmp/none"
expect 1 "" "top: process 999999999 publishes no memmgr counters" "$memmgr" top --once --dir "$tmp/none" 999999999
expect 1 "" "jfr: no such file: $tmp/missing.jfr" "$memmgr" jfr "$tmp/missing.jfr"

# MEMMGR_JAVA_HOME: used when it is a JDK 25+, refused (status 2, a message) otherwise
jdk=$("$memmgr" java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.home = //p')
mkdir -p "$tmp/jdk25/bin"
printf 'JAVA_VERSION="25"\n' >"$tmp/jdk25/release"
printf '#!/bin/sh\necho "the JDK of MEMMGR_JAVA_HOME runs" >&2\nexec "%s/bin/java" "$@"\n' "$jdk" >"$tmp/jdk25/bin/java"
chmod +x "$tmp/jdk25/bin/java"
expect 0 "" "the JDK of MEMMGR_JAVA_HOME runs" env MEMMGR_JAVA_HOME="$tmp/jdk25" "$memmgr" java -version
mkdir -p "$tmp/jdk17/bin"
printf 'JAVA_VERSION="17.0.9"\n' >"$tmp/jdk17/release"
printf '#!/bin/sh\necho "a JDK 17 must not be run" >&2\nexit 99\n' >"$tmp/jdk17/bin/java"
chmod +x "$tmp/jdk17/bin/java"
expect 2 "" "memmgr: MEMMGR_JAVA_HOME=$tmp/jdk17 is a JDK 17; memmgr needs 25 or later" \
    env MEMMGR_JAVA_HOME="$tmp/jdk17" "$memmgr" demo --help
expect 2 "" "memmgr: MEMMGR_JAVA_HOME=/nonexistent/jdk is not a JDK" \
    env MEMMGR_JAVA_HOME=/nonexistent/jdk "$memmgr" demo --help

# a short stress run: progress lines labelled 1, 2, 3 once each; latencies with their units
expect 0 "result: OK" "" "$memmgr" stress --seconds 3 --capacity 16m --swap 64m --threads 1 --objects 32 --seed 7
labels=$(sed -n 's/^\[ *\([0-9]*\) s\].*/\1/p' "$tmp/out" | tr '\n' ' ')
if [ "$labels" = "1 2 3 " ]; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    echo "FAILED: stress progress labels are '$labels', expected '1 2 3 '"
fi
units='[0-9.]+ (ns|us|ms|s)'
if [ "$(grep -cE "^(pin|read) p50: $units p99: $units\$" "$tmp/out")" -eq 2 ]; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    echo "FAILED: stress latency lines:"
    grep -E 'p50' "$tmp/out" | sed 's/^/  /'
fi

echo "bin/memmgr check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
