#!/usr/bin/env bash
# The test suite in two halves at once, one engine stack each (at most two at a time):
# the default stack with the unit tests, and the late stacks, the cluster and the
# engine checks (tests/conftest.py `--half`). The default half prints as it goes; the
# late half's log follows. Fails if either half fails. Extra arguments go to both.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp -t gemma-serve-late-XXXXXX.log)
# The late half's engines claim their cores (gemma_serve/serve/cores.py) and keep Ray's
# files in a temp dir of their own, as on a node of their own: the default half's engine
# holds this host's claims. Both halves' engines share the host's cores.
late_tmp=$(mktemp -d /tmp/gs-late-XXXX)
TMPDIR=$late_tmp .venv/bin/python -m pytest -q --half late "$@" >"$log" 2>&1 &
late=$!
trap 'kill "$late" 2>/dev/null' INT TERM
.venv/bin/python -m pytest -q --half default "$@"
first=$?
wait "$late"
second=$?
echo "==== the late half (tests/conftest.py --half late) ===="
cat "$log"
rm -rf "$log" "$late_tmp"
echo "default half: exit $first; late half: exit $second"
[ "$first" -eq 0 ] && [ "$second" -eq 0 ]
