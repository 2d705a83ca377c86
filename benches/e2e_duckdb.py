#!/usr/bin/env python3
"""DuckDB side of benches/e2e.sh.

  e2e_duckdb.py price ARGS...     price envelope logs with tests/differential/price.sql and compare
                                  with a `reprice run` folder (the arguments of run.py)
  e2e_duckdb.py claude-days --parquet records.parquet --summary summary.json --ccusage daily.json
                                  compare reprice's tokens per day (and per day and model) with
                                  `ccusage daily --json`
  e2e_duckdb.py floor --envelope LOG
                                  the least any DuckDB query over the log does: read its JSON lines
                                  into typed columns and sum the tokens by day and model, without
                                  pricing; a reference for how fast plain SQL reads the file

Both exit 1 on any difference.
"""

import argparse
import importlib.util
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def price(argv):
    spec = importlib.util.spec_from_file_location("run", os.path.join(ROOT, "tests/differential/run.py"))
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    sys.argv = ["run.py", *argv]
    return run.main()


FIELDS = [
    # reprice records.parquet column, ccusage field
    ("input_tokens", "inputTokens"),
    ("output_tokens", "outputTokens"),
    ("cache_write_tokens", "cacheCreationTokens"),
    ("cache_read_tokens", "cacheReadTokens"),
]


def claude_days(argv):
    import duckdb

    ap = argparse.ArgumentParser(prog="e2e_duckdb.py claude-days")
    ap.add_argument("--parquet", required=True)
    ap.add_argument("--summary", required=True)
    ap.add_argument("--ccusage", required=True)
    a = ap.parse_args(argv)
    con = duckdb.connect()
    cols = ", ".join(f"sum({c})::HUGEINT" for c, _ in FIELDS)
    # reprice's summary.json has only period totals; by day (in UTC, the --tz of both runs) the
    # tokens come from the per-record Parquet file.
    mine_day = {str(d): tuple(v) for d, *v in con.execute(
        f"SELECT day, {cols} FROM read_parquet(?) GROUP BY day", [a.parquet]).fetchall()}
    mine_model = {(str(d), m): tuple(v) for d, m, *v in con.execute(
        f"SELECT day, model_logged, {cols} FROM read_parquet(?) GROUP BY ALL", [a.parquet]).fetchall()}
    with open(a.ccusage, encoding="utf-8") as f:
        cc = json.load(f)
    theirs_day, theirs_model = {}, {}
    for row in cc["daily"]:
        theirs_day[row["period"]] = tuple(row[k] for _, k in FIELDS)
        for mb in row.get("modelBreakdowns", []):
            theirs_model[(row["period"], mb["modelName"])] = tuple(mb[k] for _, k in FIELDS)
    problems = []
    for name, mine, theirs in [("day", mine_day, theirs_day), ("day+model", mine_model, theirs_model)]:
        for k in sorted(set(mine) | set(theirs)):
            if mine.get(k) != theirs.get(k):
                problems.append(f"{name} {k}: reprice {mine.get(k)} != ccusage {theirs.get(k)}")
    with open(a.summary, encoding="utf-8") as f:
        s = json.load(f)
    t = s["actual"]["tokens"]
    total = (t["input"], t["output"], t["cache_write"], t["cache_read"])
    summed = tuple(sum(v[i] for v in theirs_day.values()) for i in range(4))
    if total != summed:
        problems.append(f"period totals: reprice summary.json {total} != ccusage {summed}")
    for p in problems[:30]:
        print(p)
    print(f"reprice vs ccusage: {len(mine_day)} days, {len(mine_model)} day+model rows, "
          f"tokens (input, output, cache write, cache read) {total}; {len(problems)} differences")
    return 1 if problems else 0


# The token fields of every response shape that `reprice gen --format envelope` writes.
ENVELOPE_COLUMNS = """{
    timestamp: 'TIMESTAMPTZ', api_key: 'VARCHAR', status: 'BIGINT', model: 'VARCHAR',
    request: 'STRUCT(model VARCHAR, size VARCHAR, quality VARCHAR, n BIGINT)',
    response: 'STRUCT(model VARCHAR, modelVersion VARCHAR,
        usage STRUCT(prompt_tokens BIGINT, completion_tokens BIGINT,
                     input_tokens BIGINT, output_tokens BIGINT),
        usageMetadata STRUCT(promptTokenCount BIGINT, candidatesTokenCount BIGINT,
                             thoughtsTokenCount BIGINT))'}"""


def floor(argv):
    import time

    import duckdb

    ap = argparse.ArgumentParser(prog="e2e_duckdb.py floor")
    ap.add_argument("--envelope", required=True)
    a = ap.parse_args(argv)
    start = time.monotonic()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute(f"""
        SELECT CAST(timestamp AS DATE) AS day,
               coalesce(model, response.model, response.modelVersion, request.model) AS m,
               count(*),
               sum(coalesce(response.usage.prompt_tokens, response.usage.input_tokens,
                            response.usageMetadata.promptTokenCount, 0))::HUGEINT,
               sum(coalesce(response.usage.completion_tokens, response.usage.output_tokens,
                            response.usageMetadata.candidatesTokenCount, 0))::HUGEINT
        FROM read_json(?, format = 'newline_delimited', columns = {ENVELOPE_COLUMNS})
        GROUP BY ALL""", [a.envelope]).fetchall()
    lines = sum(r[2] for r in rows)
    print(f"duckdb floor: read {lines} lines into {len(rows)} (day, model) groups "
          f"in {time.monotonic() - start:.2f} s; no pricing")
    return 0


def main():
    commands = {"price": price, "claude-days": claude_days, "floor": floor}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
