#!/usr/bin/env bash
# The test command of the README: every test of the workspace, all features.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --all-features
