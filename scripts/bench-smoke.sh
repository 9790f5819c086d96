#!/usr/bin/env bash
# Proves that the benchmarks build and that the harness works, in a minute or two: the
# criterion benches are built (not run), then the harness runs in --quick mode (tiny durations
# and sizes) with the Node anchor installed from its committed lock file.
# The full run is in BENCHMARKS.md: `cargo run --release -p nhost-session-bench --bin harness`.
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --prefix bench/node-anchor --no-audit --no-fund --loglevel=error
cargo bench --no-run -p nhost-session-core -p nhost-session-cookie -p nhost-session-bench
cargo run --release -p nhost-session-bench --bin harness -- --quick --out target/bench-results/smoke
