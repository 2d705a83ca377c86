#!/usr/bin/env bash
# End-to-end benchmark, side by side on the same generated files:
#   1. `reprice run` (the `dist` profile's build, 20 scenarios from benches/e2e-scenarios.toml) against the
#      same pricing in DuckDB SQL (tests/differential/price.sql via benches/e2e_duckdb.py) on a
#      2,000,000-record envelope log; the DuckDB totals must equal reprice's to the last digit.
#      That SQL re-implements every rule of reprice's pricing, which makes it slow; beside it, the
#      least any DuckDB query over the log does (read it into typed columns, sum tokens by day and
#      model) is timed as a reference for plain SQL.
#      The same run with `--records` (records.parquet as well) is timed beside the default run.
#   2. `reprice run` against `ccusage daily --json --offline` (the native binary) on Claude Code
#      logs of about 400,000 records; the daily token totals must be equal.
# Beside both, examples/parse_floor times the least a line-by-line parse of the same files does
# (parse the fields a price needs, sum tokens by day and model) with serde_json, which reprice
# uses, and with sonic-rs (SIMD), with the BLAKE3 of the input that reprice writes into run.json,
# with the SHA-256 it used before, and with no hash: how fast a run could be, whatever else it
# does, with either parser. Last, reprice's own reading alone (its reader and parsers, every
# field of every record, the records dropped): how much of a run is reading.
# Prints wall time, throughput and peak memory (/usr/bin/time -v) of each tool, and the ratios.
# Each tool runs once there, and on a shared machine two tools timed once each may meet slow
# spells of different length; so the ratios that matter are also taken in turns
# (benches/paired.py: A B A B ..., the median ratio pair by pair and its range).
#
# Environment: E2E_DIR (work dir, default /tmp/reprice-e2e), E2E_RECORDS (default 2000000),
# E2E_CC_RECORDS (default 400000), E2E_PAIRS (pairs per paired ratio, default 5; 0 leaves them
# out), REPRICE_BIN (a reprice binary to use instead of building the `dist` one). Generated
# files are reused when present. Exit status 1 when totals differ.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
E2E_DIR=${E2E_DIR:-/tmp/reprice-e2e}
RECORDS=${E2E_RECORDS:-2000000}
CC_RECORDS=${E2E_CC_RECORDS:-400000}
PAIRS=${E2E_PAIRS:-5}
DUCKDB_VERSION=1.5.6
CCUSAGE_VERSION=20.0.24
SEED=2026
FAIL=0

mkdir -p "$E2E_DIR"
E2E_DIR=$(cd "$E2E_DIR" && pwd)
RESULTS=$E2E_DIR/results.txt
# The outputs of an earlier run (of other variants, too) would be printed as this run's.
rm -f "$E2E_DIR"/floor-*.out "$E2E_DIR"/floor-*.err "$E2E_DIR"/floor-*.time
say() { echo "$*" | tee -a "$RESULTS"; }
: >"$RESULTS"

# ---------------------------------------------------------------- tools
if [ ! -x /usr/bin/time ] || ! /usr/bin/time -v true 2>/dev/null; then
    apt-get install -y -qq time >/dev/null
fi
if ! python3 -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$DUCKDB_VERSION')" 2>/dev/null; then
    python3 -m pip install --quiet "duckdb==$DUCKDB_VERSION"
fi
CCUSAGE=$E2E_DIR/ccusage/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage
if [ ! -f "$CCUSAGE" ] || ! "$CCUSAGE" --version 2>/dev/null | grep -q "$CCUSAGE_VERSION"; then
    mkdir -p "$E2E_DIR/ccusage"
    npm install --silent --no-audit --no-fund --prefix "$E2E_DIR/ccusage" \
        "ccusage@$CCUSAGE_VERSION" "@ccusage/ccusage-linux-x64@$CCUSAGE_VERSION"
fi
# The package ships the binary without its executable bit.
chmod +x "$CCUSAGE"
if [ -n "${REPRICE_BIN:-}" ]; then
    BIN=$REPRICE_BIN
else
    (cd "$ROOT" && cargo build --profile dist --quiet)
    BIN=$ROOT/target/dist/reprice
fi
(cd "$ROOT" && cargo build --profile dist --example parse_floor --quiet)
FLOOR=$ROOT/target/dist/examples/parse_floor

# ---------------------------------------------------------------- measuring
# measure NAME CMD...: runs CMD under /usr/bin/time -v; sets WALL (s) and RSS_MB.
measure() {
    local name=$1
    shift
    local rc=0
    /usr/bin/time -v -o "$E2E_DIR/$name.time" "$@" >"$E2E_DIR/$name.out" 2>"$E2E_DIR/$name.err" || rc=$?
    WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$E2E_DIR/$name.time")
    RSS_MB=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$E2E_DIR/$name.time")
    if [ "$rc" -ne 0 ]; then
        say "$name exited with $rc; see $E2E_DIR/$name.err and $name.out"
        tail -n 20 "$E2E_DIR/$name.out" "$E2E_DIR/$name.err" >&2
        return "$rc"
    fi
}

# warm PATH...: reads the inputs once before a tool is timed. Every tool starts with its input in
# the page cache: otherwise the order of the runs decides, as DuckDB's 11 GB peak evicts the
# Claude Code logs that reprice then reads first and ccusage after it.
warm() { find "$@" -type f -exec cat {} + >/dev/null; }

row() { # TOOL WALL RECORDS BYTES RSS_MB
    awk -v t="$1" -v w="$2" -v n="$3" -v b="$4" -v m="$5" 'BEGIN {
        printf "  %-30s %9.2f s %12.0f records/s %9.1f MB/s %8d MB peak RSS\n", t, w, n / w, b / 1e6 / w, m }' | tee -a "$RESULTS"
}
# floors LABEL FILE...: times examples/parse_floor's variants on FILE..., one row each; sets
# FLOOR_WALL to the first one's time (serde_json + blake3: the least reprice's own parser and
# hash do) and READ_WALL to reprice's own reading (every field of every record, then dropped).
# serde_json + sha256 shows what the hash reprice used before cost.
floors() {
    local label=$1 variant p s name
    shift
    FLOOR_WALL=
    for variant in "serde_json --blake3" "serde_json --sha256" "sonic-rs --blake3" "sonic-rs" "reprice"; do
        read -r p s <<<"$variant"
        name=floor-$label-$p${s:+-${s#--}}
        warm "$@"
        measure "$name" "$FLOOR" "$p" $s "$@"
        if [ "$p" = reprice ]; then
            row "reprice's reading only" "$WALL" "$FLOOR_N" "$FLOOR_BYTES" "$RSS_MB"
            READ_WALL=$WALL
        else
            row "parse only, $p${s:+ + ${s#--}}" "$WALL" "$FLOOR_N" "$FLOOR_BYTES" "$RSS_MB"
        fi
        FLOOR_WALL=${FLOOR_WALL:-$WALL}
    done
}
ratio() { awk -v a="$2" -v b="$3" -v l="$1" 'BEGIN { printf "  %-40s %.2fx\n", l, a / b }' | tee -a "$RESULTS"; }
# paired LABEL A-CMD... -- B-CMD...: the ratio of A's time to B's, taken in turns.
paired() {
    local label=$1
    shift
    [ "$PAIRS" -gt 0 ] || return 0
    python3 "$ROOT/benches/paired.py" "$label" "$PAIRS" "$@" | tee -a "$RESULTS"
}

# ---------------------------------------------------------------- 1. reprice vs DuckDB
ENV=$E2E_DIR/envelope-$RECORDS-s$SEED.jsonl
if [ ! -s "$ENV" ]; then
    echo "generating $RECORDS envelope records..."
    "$BIN" gen --records "$RECORDS" --seed "$SEED" --format envelope --out "$ENV.tmp"
    mv "$ENV.tmp" "$ENV"
fi
ENV_BYTES=$(stat -c %s "$ENV")
SCEN=$ROOT/benches/e2e-scenarios.toml
rm -rf "$E2E_DIR/reprice-out"

say "== envelope log: $ENV ($ENV_BYTES bytes), 20 scenarios; $(nproc) cores"
# The machine may be shared: the load says how far the figures can be trusted.
say "  load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
warm "$ENV"
measure reprice-run "$BIN" run "$ENV" --scenarios "$SCEN" --out "$E2E_DIR/reprice-out" --quiet
R_WALL=$WALL R_RSS=$RSS_MB
N=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['input']['records'])" "$E2E_DIR/reprice-out/summary.json")
warm "$ENV"
measure duckdb python3 "$ROOT/benches/e2e_duckdb.py" price --timings \
    --catalog "$ROOT/src/catalog/default.toml" --scenarios "$SCEN" \
    --envelope "$ENV" --reprice-out "$E2E_DIR/reprice-out" || FAIL=1
D_WALL=$WALL D_RSS=$RSS_MB
warm "$ENV"
measure duckdb-floor python3 "$ROOT/benches/e2e_duckdb.py" floor --envelope "$ENV"
F_WALL=$WALL F_RSS=$RSS_MB
say "  records: $N"
row "reprice run" "$R_WALL" "$N" "$ENV_BYTES" "$R_RSS"
row "duckdb $DUCKDB_VERSION (SQL+compare)" "$D_WALL" "$N" "$ENV_BYTES" "$D_RSS"
row "duckdb read+group, no pricing" "$F_WALL" "$N" "$ENV_BYTES" "$F_RSS"
warm "$ENV"
rm -rf "$E2E_DIR/reprice-out-records"
measure reprice-records "$BIN" run "$ENV" --scenarios "$SCEN" --out "$E2E_DIR/reprice-out-records" --quiet --records
row "reprice run --records" "$WALL" "$N" "$ENV_BYTES" "$RSS_MB"
say "  records.parquet: $(stat -c %s "$E2E_DIR/reprice-out-records/records.parquet") bytes"
RR_WALL=$WALL
FLOOR_N=$N FLOOR_BYTES=$ENV_BYTES floors envelope "$ENV"
ratio "time: reprice --records / reprice" "$RR_WALL" "$R_WALL"
ratio "time: duckdb / reprice" "$D_WALL" "$R_WALL"
ratio "peak memory: duckdb / reprice" "$D_RSS" "$R_RSS"
ratio "time: duckdb read+group / reprice" "$F_WALL" "$R_WALL"
ratio "time: parse-only floor / reprice" "$FLOOR_WALL" "$R_WALL"
ratio "time: reprice's reading / reprice" "$READ_WALL" "$R_WALL"
sed 's/^/  /' "$E2E_DIR/duckdb.out" "$E2E_DIR/duckdb-floor.out" "$E2E_DIR"/floor-envelope-*.out |
    tee -a "$RESULTS"
say "  taken in turns:"
R_CMD=("$BIN" run "$ENV" --scenarios "$SCEN" --out "$E2E_DIR/reprice-out-paired" --quiet)
paired "time: reprice --records / reprice" "$BIN" run "$ENV" --scenarios "$SCEN" \
    --out "$E2E_DIR/reprice-out-records" --quiet --records -- "${R_CMD[@]}"
paired "time: reprice / duckdb read+group" "${R_CMD[@]}" -- \
    python3 "$ROOT/benches/e2e_duckdb.py" floor --envelope "$ENV"
paired "time: reprice / parse floor (serde_json+blake3)" "${R_CMD[@]}" -- "$FLOOR" serde_json --blake3 "$ENV"
paired "time: reprice / reprice's reading" "${R_CMD[@]}" -- "$FLOOR" reprice "$ENV"
paired "time: reprice's reading / duckdb read+group" "$FLOOR" reprice "$ENV" -- \
    python3 "$ROOT/benches/e2e_duckdb.py" floor --envelope "$ENV"

# ---------------------------------------------------------------- 2. reprice vs ccusage
CC=$E2E_DIR/claude-code-$CC_RECORDS-s$SEED.jsonl
PROJ=$E2E_DIR/claude/projects/-home-dev-shop
if [ ! -s "$CC" ]; then
    echo "generating $CC_RECORDS Claude Code records..."
    "$BIN" gen --records "$CC_RECORDS" --seed "$SEED" --format claude-code --out "$CC.tmp"
    mv "$CC.tmp" "$CC"
    rm -rf "$E2E_DIR/claude"
fi
if [ ! -d "$PROJ" ]; then
    # ccusage reads $CLAUDE_CONFIG_DIR/projects/<project>/<session>.jsonl; 16 session files.
    mkdir -p "$PROJ"
    split -n l/16 -d --additional-suffix=.jsonl "$CC" "$PROJ/session-"
fi
CC_BYTES=$(stat -c %s "$CC")
rm -rf "$E2E_DIR/cc-out" "$E2E_DIR/cc-records"
mkdir -p "$E2E_DIR/home"

say ""
say "== Claude Code logs: $E2E_DIR/claude ($CC_BYTES bytes)"
say "  load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
warm "$E2E_DIR/claude"
measure reprice-cc "$BIN" run "$E2E_DIR/claude/projects" --out "$E2E_DIR/cc-out" --quiet
RC_WALL=$WALL RC_RSS=$RSS_MB
NC=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['input']['records'])" "$E2E_DIR/cc-out/summary.json")
# An empty HOME so that ccusage sees no other agent's logs; days in UTC like reprice's default.
warm "$E2E_DIR/claude"
measure ccusage env HOME="$E2E_DIR/home" CLAUDE_CONFIG_DIR="$E2E_DIR/claude" TZ=UTC \
    "$CCUSAGE" daily --json --offline --timezone UTC
C_WALL=$WALL C_RSS=$RSS_MB
say "  records (unique messages): $NC"
row "reprice run" "$RC_WALL" "$NC" "$CC_BYTES" "$RC_RSS"
row "ccusage $CCUSAGE_VERSION daily" "$C_WALL" "$NC" "$CC_BYTES" "$C_RSS"
FLOOR_N=$NC FLOOR_BYTES=$CC_BYTES floors claude "$PROJ"/*.jsonl
ratio "time: ccusage / reprice" "$C_WALL" "$RC_WALL"
ratio "peak memory: ccusage / reprice" "$C_RSS" "$RC_RSS"
ratio "time: parse-only floor / reprice" "$FLOOR_WALL" "$RC_WALL"
ratio "time: reprice's reading / reprice" "$READ_WALL" "$RC_WALL"
sed 's/^/  /' "$E2E_DIR"/floor-claude-*.out | tee -a "$RESULTS"
say "  taken in turns:"
C_CMD=(env HOME="$E2E_DIR/home" CLAUDE_CONFIG_DIR="$E2E_DIR/claude" TZ=UTC
    "$CCUSAGE" daily --json --offline --timezone UTC)
paired "time: ccusage / reprice" "${C_CMD[@]}" -- \
    "$BIN" run "$E2E_DIR/claude/projects" --out "$E2E_DIR/cc-out-paired" --quiet
paired "time: ccusage / parse floor (serde_json+blake3)" "${C_CMD[@]}" -- \
    "$FLOOR" serde_json --blake3 "$PROJ"/*.jsonl
paired "time: ccusage / parse floor (sonic-rs+blake3)" "${C_CMD[@]}" -- \
    "$FLOOR" sonic-rs --blake3 "$PROJ"/*.jsonl
# The daily tokens per model come from records.parquet, which only `--records` writes: a
# second, untimed run writes it for the check.
"$BIN" run "$E2E_DIR/claude/projects" --out "$E2E_DIR/cc-records" --records --quiet
python3 "$ROOT/benches/e2e_duckdb.py" claude-days --parquet "$E2E_DIR/cc-records/records.parquet" \
    --summary "$E2E_DIR/cc-out/summary.json" --ccusage "$E2E_DIR/ccusage.out" \
    | sed 's/^/  /' | tee -a "$RESULTS" || FAIL=1
say ""
say "results: $RESULTS"
exit "$FAIL"
