#!/usr/bin/env bash
# promtool 3.16: `promtool test rules` in make test, and the baseline of
# make bench (`promtool push metrics`). Prints its path.
exec "$(dirname "$0")/build-prometheus-cmd.sh" promtool
