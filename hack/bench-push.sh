#!/usr/bin/env bash
# Replaced by hack/bench.sh (make bench), which measures P1a-P4 side by side.
exec "$(dirname "$0")/bench.sh" "$@"
