#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, one after another, seeded with the
# sample logs, the hostile-input fixtures and the configs. Crashes land in fuzz/artifacts/.
# Needs cargo-fuzz; on a stable toolchain RUSTC_BOOTSTRAP=1 lets it use the flags it needs.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-600}
export RUSTC_BOOTSTRAP=1
seed() {
  local target=$1; shift
  mkdir -p "corpus/$target"
  for f in "$@"; do
    [ -f "$f" ] && cp -n "$f" "corpus/$target/$(echo "$f" | tr '/' '_')" || true
  done
}
logs=$(find ../sample_logs ../tests/fixtures -type f \( -name '*.jsonl' -o -name '*.json' -o -name '*.log' \) -size -200k)
csvs=$(find ../sample_logs ../tests/fixtures -type f -name '*.csv' -size -200k)
for t in parse_json_lines parse_envelope parse_batch parse_claude_code parse_gemini_batch parse_usage_pages parse_litellm_spend; do seed "$t" $logs; done
seed parse_csv $csvs
seed catalog_toml ../src/catalog/default.toml ../tests/fixtures/catalog/*.toml
seed catalog_litellm ../tests/fixtures/catalog/*.json
seed scenarios_toml ../examples/scenarios.toml
for t in ${TARGETS:-parse_json_lines parse_envelope parse_batch parse_claude_code parse_gemini_batch parse_usage_pages parse_litellm_spend parse_csv catalog_toml catalog_litellm scenarios_toml}; do
  echo "== $t for ${SECONDS_EACH}s"
  cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 2>&1 | tail -n 4
done
