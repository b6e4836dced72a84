#!/usr/bin/env bash
# run.sh - the revocation suite: every tests/revocation/t-*.sh in turn
# (make revocation). ONLY=pattern is passed to each; REVOCATION_ONLY=t-ocsp
# runs the scripts whose name contains it.
# Ends with "revocation: N passed, N failed" (N = scripts).
set -u
cd "$(dirname "$0")/../.." || exit 1
pass=0
failed=0
for t in tests/revocation/t-*.sh; do
    case $t in *"${REVOCATION_ONLY:-}"*) ;; *) continue ;; esac
    echo "== $t"
    if "$t"; then pass=$((pass + 1)); else failed=$((failed + 1)); fi
done
echo "revocation: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
