# Shared by the launcher checks (bench/src/it/check-launcher.sh, vulkan/src/it/check-launcher.sh):
# sourced, it sets root, memmgr (the launcher), a scratch directory removed on exit, the passed
# and failed counters, and defines expect. The launcher must not start a build
# (MEMMGR_NO_BUILD=1) and finds its JDK on its own (MEMMGR_JAVA_HOME unset).

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
memmgr="$root/bin/memmgr"
export MEMMGR_NO_BUILD=1
unset MEMMGR_JAVA_HOME
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# expect STATUS STDOUT_TEXT STDERR_TEXT COMMAND...: runs COMMAND; checks its exit status, that
# stdout and stderr contain the given texts (fixed strings; empty: no check), and that stderr
# holds no stack trace.
expect() {
    local status=$1 out_text=$2 err_text=$3 rc why=""
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    [ "$rc" -eq "$status" ] || why="exit status $rc, expected $status"
    if [ -n "$out_text" ] && ! grep -qF -- "$out_text" "$tmp/out"; then
        why="$why; stdout lacks '$out_text'"
    fi
    if [ -n "$err_text" ] && ! grep -qF -- "$err_text" "$tmp/err"; then
        why="$why; stderr lacks '$err_text'"
    fi
    if grep -qE 'Exception|^[[:space:]]+at [[:alnum:]_$./]+\(' "$tmp/err"; then
        why="$why; a stack trace on stderr"
    fi
    if [ -z "$why" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: ${*#"$root/"}: ${why#; }"
        sed 's/^/  stdout: /' "$tmp/out" | head -20
        sed 's/^/  stderr: /' "$tmp/err" | head -20
    fi
}
