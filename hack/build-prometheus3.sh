#!/usr/bin/env bash
# Prometheus 3.16, the remote-write 2.0 receiver of the e2e tests (Debian's
# 2.42 silently drops 2.0). Cold: about 8 minutes on 2 cores, 3.4 GB peak
# RSS; a minute with a warm Go cache. Prints its path.
exec "$(dirname "$0")/build-prometheus-cmd.sh" prometheus
