#!/usr/bin/env bash
# Checks the Vulkan commands of bin/memmgr as a user meets them: --help (0, the command's own
# usage), bad options (2, a message and the usage, never a stack trace), and a 60-frame
# vulkan-demo on the machine's driver (evictions, swap-ins, move notices and re-imports happen,
# no wrong frame). Run by vulkan/pom.xml in the integration-test phase, after target/classes and
# target/tools.classpath exist (MEMMGR_NO_BUILD=1: no nested build); by hand:
#   vulkan/src/it/check-launcher.sh
# Without a Vulkan driver the demo run is left out with one line that says so, as the module's
# tests are, unless MEMMGR_VULKAN_REQUIRED is set (CI sets it): then it runs and must pass.
# Prints one line per failed check, then "N passed, N failed"; exits 1 if any check failed.
set -uo pipefail

# shellcheck source=../../../bench/src/it/expect.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../../bench/src/it/expect.sh"

# field NAME: the number after NAME at the start of a line of the last command's stdout
field() {
    awk -v k="$1" '$1 == k { print $2; exit }' "$tmp/out"
}

expect 0 "usage: bin/memmgr vulkan-demo" "" "$memmgr" vulkan-demo --help
expect 0 "usage: bin/memmgr vulkan-bench" "" "$memmgr" vulkan-bench --help
expect 2 "" "vulkan-demo: --frames: not a whole number: 'abc'" "$memmgr" vulkan-demo --frames abc
expect 2 "" "usage: bin/memmgr vulkan-demo" "$memmgr" vulkan-demo --frames abc
expect 2 "" "vulkan-demo: unknown option '--fast'" "$memmgr" vulkan-demo --fast
expect 2 "" "vulkan-bench takes no options: '--fast'" "$memmgr" vulkan-bench --fast

if compgen -G "/usr/share/vulkan/icd.d/*.json" >/dev/null || compgen -G "/etc/vulkan/icd.d/*.json" >/dev/null \
        || [ -n "${MEMMGR_VULKAN_REQUIRED:-}" ]; then
    expect 0 "wrong frames  0" "" "$memmgr" vulkan-demo --frames 60
    for k in evictions swap-ins moveNotify re-imports; do
        n=$(field "$k")
        if [ -n "$n" ] && [ "$n" -gt 0 ] 2>/dev/null; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "FAILED: vulkan-demo --frames 60: '$k' is '${n}', expected more than 0"
        fi
    done
else
    echo "vulkan-demo run left out: no Vulkan driver (install mesa-vulkan-drivers for lavapipe)"
fi

echo "vulkan launcher checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
