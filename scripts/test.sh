#!/usr/bin/env bash
# The README's test command: sets up what the tests need, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/features.sh
bash scripts/setup.sh
cargo test --workspace --features "$FEATURES"
