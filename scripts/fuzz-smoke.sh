#!/usr/bin/env bash
# A bounded smoke run of every fuzz target (fuzz/README.md): builds them with cargo-fuzz and runs
# each for FUZZ_SECONDS (default 20) from its committed seeds, failing on the first crash,
# assertion failure, timeout or out-of-memory. Installs cargo-fuzz when it is missing.
#
# cargo-fuzz needs nightly-only compiler flags; on the stable toolchain RUSTC_BOOTSTRAP=1 allows
# them. Environment:
#   FUZZ_SECONDS     seconds per target (default 20)
#   FUZZ_TARGETS     space-separated targets (default: every target in fuzz/fuzz_targets)
#   FUZZ_TARGET_DIR  cargo target directory of the fuzz build (default: a cache outside the
#                    checkout, so that later runs on the same machine rebuild only this
#                    project's crates)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
seconds="${FUZZ_SECONDS:-20}"
target_dir="${FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nhost-session/fuzz-target}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for file in fuzz/fuzz_targets/*.rs; do
    targets+=("$(basename "$file" .rs)")
  done
fi

# No sanitizer: the crates forbid unsafe code, and without ASan the build and every execution
# are about twice as fast. Debug assertions and overflow checks stay on (cargo-fuzz's default).
flags=(--fuzz-dir "$root/fuzz" --sanitizer none --target-dir "$target_dir")

start=$(date +%s)
echo "== building ${#targets[@]} fuzz targets"
cargo fuzz build "${flags[@]}"
echo "   built in $(($(date +%s) - start)) s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
  echo "== fuzz $target for ${seconds} s"
  # New inputs go to a scratch corpus; the committed seeds are only read.
  mkdir -p "$work/$target"
  log="$work/$target.log"
  if (cd "$work" && cargo fuzz run "${flags[@]}" "$target" "$work/$target" "$root/fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
  else
    echo "!! $target failed; the end of its log:"
    tail -n 60 "$log"
    echo "!! the input is in fuzz/artifacts/$target/; replay it with:"
    echo "   RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz -s none $target fuzz/artifacts/$target/<file>"
    failed+=("$target")
  fi
done

echo "== fuzz smoke run took $(($(date +%s) - start)) s"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz smoke: ${#targets[@]} targets ran clean"
