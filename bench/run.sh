#!/usr/bin/env bash
# Devy's benchmark against Bolt for JavaScript and the bare slack-go floor
# (issue 8). Installs the Bolt app's locked dependencies, then runs the Go
# driver from the repository root; extra arguments go to the driver, e.g.
#   bash bench/run.sh -runs 1 -rates 50,1000 -duration 3s
# Needs Go and Node.js >= 20 with npm. Writes bench/results.json unless -out says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
(cd bench/bolt && npm ci --no-audit --no-fund --loglevel=error)
exec go run ./bench "$@"
