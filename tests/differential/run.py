#!/usr/bin/env python3
"""Prices JSON-lines logs with price.sql (DuckDB, exact DECIMAL) and compares the result with a
`reprice run` output folder: savings.csv row by row at its 6 places, summary.json totals exactly.

Usage:
  run.py --catalog default.toml [--catalog-overlay offers.toml] --scenarios s.toml
         --envelope a.jsonl [--batch b.jsonl]
         --reprice-out DIR [--threads N] [--memory-limit 4GB] [--timings]

Exit status: 0 when everything matches, 1 on any difference, 2 when duckdb is missing.
"""

import argparse
import calendar
import csv
import json
import os
import sys
import tempfile
import time
import tomllib
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))


def load_duckdb():
    try:
        import duckdb
    except ImportError:
        return None
    return duckdb


def sql_list(paths):
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


# Provider names in one spelling, and the route prefixes of model names that name the seller:
# written out here again, apart from reprice's src/provider.rs.
SPELLINGS = {
    "gemini": "google", "google-ai-studio": "google", "google ai studio": "google",
    "google_ai_studio": "google", "vertex_ai": "vertex", "vertex-ai": "vertex",
    "google-vertex": "vertex", "google vertex": "vertex", "vertex_ai-image-models": "vertex",
    "vertex_ai-language-models": "vertex", "nano-gpt": "nanogpt", "nano_gpt": "nanogpt",
    "fal_ai": "fal", "fal-ai": "fal", "fal.ai": "fal", "bfl": "black-forest-labs",
    "black forest labs": "black-forest-labs", "amazon-bedrock": "bedrock",
    "amazon bedrock": "bedrock", "aws": "bedrock", "azure_ai": "azure", "azure-openai": "azure",
    "azure openai": "azure", "stability-ai": "stability", "stabilityai": "stability",
    "together_ai": "together", "together-ai": "together",
}
PREFIXES = [
    ("openrouter/", "openrouter"), ("vertex_ai/", "vertex"), ("vertex/", "vertex"),
    ("bedrock/", "bedrock"), ("fal-ai/", "fal"), ("fal_ai/", "fal"), ("fal/", "fal"),
    ("nanogpt/", "nanogpt"), ("replicate/", "replicate"), ("azure/", "azure"),
    ("azure_ai/", "azure"), ("together_ai/", "together"),
]


def canonical(name):
    n = name.strip().lower()
    return SPELLINGS.get(n, n)


def lay_offers(catalog, overlay):
    """An overlay that names base models by id with only [[model.offer]] blocks: its offers
    join the base model's (a provider the model already has an offer from is not supported)."""
    by_id = {m["id"]: m for m in catalog.get("model", [])}
    for m in overlay.get("model", []):
        base = by_id[m["id"]]
        if set(m) - {"id", "offer"}:
            raise SystemExit(f"run.py lays only offers on base models ({m['id']})")
        have = {canonical(base["provider"])} | {canonical(o["provider"]) for o in base.get("offer", [])}
        for o in m.get("offer", []):
            if canonical(o["provider"]) in have:
                raise SystemExit(f"run.py does not merge offers ({m['id']} {o['provider']})")
            base.setdefault("offer", []).append(o)


def create_tables(con, catalog, scenarios):
    """The catalog and scenario files as tables; all amounts go in as text and are cast to
    DECIMAL by DuckDB, so no figure passes through a float."""
    con.execute("""
        CREATE TEMP TABLE cat_model (mid VARCHAR, ord INTEGER, provider VARCHAR, kind VARCHAR,
                                     default_quality VARCHAR, score INTEGER);
        CREATE TEMP TABLE cat_name (name VARCHAR, mid VARCHAR, omid VARCHAR);
        -- Who sells each model: its maker (omid = mid) and each offer, whose prices are kept
        -- in the price tables under omid.
        CREATE TEMP TABLE cat_offer (mid VARCHAR, omid VARCHAR, provider VARCHAR, ord INTEGER);
        CREATE TEMP TABLE provider_spelling (alias VARCHAR, provider VARCHAR);
        CREATE TEMP TABLE seller_prefix (prefix VARCHAR, provider VARCHAR);
        CREATE TEMP TABLE scen_switch (sidx INTEGER, from_p VARCHAR, to_p VARCHAR);
        CREATE TEMP TABLE cat_price (mid VARCHAR, effective DATE, input_pm DECIMAL(18, 9),
            output_pm DECIMAL(18, 9), thinking_pm DECIMAL(18, 9), cache_read_pm DECIMAL(18, 9),
            cache_write_pm DECIMAL(18, 9), batch_discount DECIMAL(10, 9), has_images BOOLEAN);
        CREATE TEMP TABLE cat_image_price (mid VARCHAR, effective DATE, ord INTEGER, size VARCHAR,
            quality VARCHAR, price DECIMAL(18, 9));
        CREATE TEMP TABLE cat_image_tokens (mid VARCHAR, effective DATE, size VARCHAR, tokens BIGINT);
        CREATE TEMP TABLE cat_extra (id VARCHAR, effective DATE, price DECIMAL(18, 9));
        CREATE TEMP TABLE plan (pid VARCHAR, fee DECIMAL(18, 9), daily_quota BIGINT, unit VARCHAR);
        CREATE TEMP TABLE plan_model (pid VARCHAR, mid VARCHAR);
        CREATE TEMP TABLE scen (sidx INTEGER, name VARCHAR, action VARCHAR, pid VARCHAR,
                                seats_kind VARCHAR, min_delta INTEGER, sbatch BOOLEAN);
        CREATE TEMP TABLE scen_seat (sidx INTEGER, key VARCHAR, seat VARCHAR);
        CREATE TEMP TABLE scen_sub (sidx INTEGER, from_mid VARCHAR, to_mid VARCHAR);
        CREATE TEMP TABLE scen_allow (sidx INTEGER, allow VARCHAR);
        CREATE TEMP TABLE scen_key (sidx INTEGER, key VARCHAR);
        CREATE TEMP TABLE scen_model (sidx INTEGER, mid VARCHAR);
        CREATE TEMP TABLE scen_hour (sidx INTEGER, hour INTEGER);
    """)
    names = {}

    def prices(key, versions):
        for p in versions:
            eff = str(p["effective"])
            con.execute("INSERT INTO cat_price VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                key, eff, p.get("input_per_m"), p.get("output_per_m"),
                p.get("thinking_per_m"), p.get("cache_read_per_m"), p.get("cache_write_per_m"),
                p.get("batch_discount"), bool(p.get("image"))])
            for i, ip in enumerate(p.get("image", [])):
                con.execute("INSERT INTO cat_image_price VALUES (?, ?, ?, ?, ?, ?)",
                            [key, eff, i, ip.get("size"), ip.get("quality"), ip["price"]])
            for size, n in p.get("image_output_tokens", {}).items():
                con.execute("INSERT INTO cat_image_tokens VALUES (?, ?, ?, ?)", [key, eff, size, n])
            if p.get("above_threshold"):
                raise SystemExit(f"price.sql does not implement tiered prices ({key})")

    for ord_, m in enumerate(catalog.get("model", [])):
        con.execute("INSERT INTO cat_model VALUES (?, ?, ?, ?, ?, ?)",
                    [m["id"], ord_, m["provider"], m["kind"], m.get("default_quality"),
                     m.get("quality_score", {}).get("score")])
        for n in [m["id"], *m.get("aliases", [])]:
            names[n.strip().lower()] = (m["id"], "")
        prices(m["id"], m["price"])
        con.execute("INSERT INTO cat_offer VALUES (?, ?, ?, ?)", [m["id"], m["id"], canonical(m["provider"]), 0])
        for k, o in enumerate(m.get("offer", [])):
            omid = f"{m['id']}@{canonical(o['provider'])}"
            con.execute("INSERT INTO cat_offer VALUES (?, ?, ?, ?)", [m["id"], omid, canonical(o["provider"]), k + 1])
            for n in o.get("aliases", []):
                names[n.strip().lower()] = (m["id"], omid)
            prices(omid, o["price"])
    con.executemany("INSERT INTO cat_name VALUES (?, ?, ?)", [(n, a, b) for n, (a, b) in names.items()])
    con.executemany("INSERT INTO provider_spelling VALUES (?, ?)", list(SPELLINGS.items()))
    con.executemany("INSERT INTO seller_prefix VALUES (?, ?)", PREFIXES)
    for e in catalog.get("extra", []):
        con.execute("INSERT INTO cat_extra VALUES (?, ?, ?)",
                    [e["id"], str(e["effective"]), e["price_per_request"]])

    def mid(name):
        try:
            return names[name.strip().lower()][0]
        except KeyError:
            raise SystemExit(f"unknown model {name!r} in the scenarios file")

    plans = {p["id"]: p for p in catalog.get("plan", [])}
    plans.update({p["id"]: p for p in scenarios.get("plan", [])})
    used_plans = {}
    for i, s in enumerate(scenarios.get("scenario", [])):
        if s.get("switch_provider"):
            action, pid = "switch", None
            for a, b in s["switch_provider"].items():
                con.execute("INSERT INTO scen_switch VALUES (?, ?, ?)",
                            [i, "*" if a.strip() == "*" else canonical(a), canonical(b)])
        elif s.get("cheapest_provider"):
            action, pid = "cheapest_provider", None
        elif s.get("batch"):
            action, pid = "batch", None
        elif s.get("cheapest"):
            action, pid = "cheapest", None
        elif s.get("subscription"):
            action, pid = "subscription", s["subscription"]
            used_plans[pid] = plans[pid]
        else:
            action, pid = "substitute", None
        seats = s.get("seats", "per-key")
        if isinstance(seats, dict):
            kind = "map"
            for k, seat in seats.items():
                con.execute("INSERT INTO scen_seat VALUES (?, ?, ?)", [i, k, seat])
        else:
            kind = "one" if seats == 1 else "per-key"
        con.execute("INSERT INTO scen VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [i, s["name"], action, pid, kind, s.get("min_quality_delta", 0),
                     bool(s.get("batch"))])
        for a, b in s.get("substitute", {}).items():
            con.execute("INSERT INTO scen_sub VALUES (?, ?, ?)", [i, mid(a), mid(b)])
        for a in s.get("allow", []):
            con.execute("INSERT INTO scen_allow VALUES (?, ?)", [i, a])
        for k in s.get("keys", []):
            con.execute("INSERT INTO scen_key VALUES (?, ?)", [i, k])
        for m in s.get("models", []):
            con.execute("INSERT INTO scen_model VALUES (?, ?)", [i, mid(m)])
        for h in s.get("hours", []):
            con.execute("INSERT INTO scen_hour VALUES (?, ?)", [i, h])
    for pid, p in used_plans.items():
        if not p.get("failed_uses_quota", True):
            raise SystemExit(f"price.sql does not implement failed_uses_quota = false (plan {pid})")
        con.execute("INSERT INTO plan VALUES (?, ?, ?, ?)",
                    [pid, p["monthly_fee"], p.get("daily_quota"), p.get("unit", "images")])
        for m in p["models"]:
            con.execute("INSERT INTO plan_model VALUES (?, ?)", [pid, mid(m)])
    return used_plans


def run_sql(con, envelope, batch):
    text = open(os.path.join(HERE, "price.sql"), encoding="utf-8").read()
    empty = None
    if not batch:
        # read_json needs a file; an empty one gives an empty table with the declared columns.
        fd, empty = tempfile.mkstemp(suffix=".jsonl")
        os.close(fd)
        batch = [empty]
    text = text.replace("__ENVELOPE_FILES__", sql_list(envelope)).replace("__BATCH_FILES__", sql_list(batch))
    try:
        con.execute(text)
    finally:
        if empty:
            os.unlink(empty)


def half_even(d, places=6):
    return str(Decimal(d).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))


def money_text(d):
    """A display string like reprice's Money::display(6), with "-0.000000" shown as "0.000000"."""
    s = half_even(d)
    return s[1:] if s.startswith("-") and set(s[1:]) <= set("0.") else s


def fee_fraction(fee, days):
    """prorate(): fee x days-in-the-period / days-in-the-month, per month, as an exact fraction."""
    per_month = {}
    for d in days:
        per_month[(d.year, d.month)] = per_month.get((d.year, d.month), 0) + 1
    return sum((Fraction(Decimal(str(fee))) * n / calendar.monthrange(y, m)[1]
                for (y, m), n in per_month.items()), Fraction(0))


def half_ulp(text):
    return Fraction(1, 2 * 10 ** max(-Decimal(text).as_tuple().exponent, 0))


def rounds_to(text, frac, *inputs):
    """Whether `text` (reprice's decimal of a non-terminating result) is `frac` rounded at its
    own last digit, give or take the rounding of the `inputs` it was computed from: reprice's
    Decimal keeps 28 significant digits."""
    return abs(Fraction(Decimal(text)) - frac) <= half_ulp(text) + sum(map(half_ulp, inputs))


def digits(frac):
    with localcontext() as ctx:
        ctx.prec = 40
        return str(Decimal(frac.numerator) / Decimal(frac.denominator))


def compare(con, out_dir, used_plans):
    problems = []
    inexact = con.execute("SELECT scenario, count(*) FROM sav WHERE inexact GROUP BY ALL").fetchall()
    for name, n in inexact:
        problems.append(f"{name}: {n} rows have partly covered multi-image requests (not exact in SQL)")
    # savings.csv, row by row.
    mine = {}
    for sidx, sc, day, model, via, records, actual, cost in con.execute(
            "SELECT sidx, scenario, day, model, via, records, actual, cost FROM sav").fetchall():
        # The savings column is the difference of the two figures as written, so rows add up.
        shown = Decimal(money_text(actual)) - Decimal(money_text(cost))
        mine[(sc, str(day), model, via)] = (str(records), money_text(actual), money_text(cost),
                                            money_text(shown))
    for sidx, sc, day, model, via, num, den in con.execute(
            "SELECT sidx, scenario, day, model, via, fee_num, fee_den FROM fee_day").fetchall():
        fee = Fraction(Decimal(num)) / den
        with localcontext() as ctx:
            ctx.prec = 60
            cost = Decimal(fee.numerator) / Decimal(fee.denominator)
        mine[(sc, str(day), model, via)] = ("0", "0.000000", money_text(cost), money_text(-cost))
    theirs = {}
    with open(os.path.join(out_dir, "savings.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            theirs[(row["scenario"], row["day"], row["model"], row["via"])] = (
                row["records"], row["actual_cost"], row["scenario_cost"], row["savings"])
    for k in sorted(set(mine) | set(theirs)):
        a, b = mine.get(k), theirs.get(k)
        if a != b:
            problems.append(f"savings.csv {k}: duckdb {a} != reprice {b}")
    # summary.json, exactly.
    summary = json.load(open(os.path.join(out_dir, "summary.json"), encoding="utf-8"))
    (actual_total,) = con.execute("SELECT sum(actual) FROM priced").fetchone()
    if Decimal(summary["actual"]["cost"]) != actual_total:
        problems.append(f"actual.cost: duckdb {actual_total} != reprice {summary['actual']['cost']}")
    days = [d for (d,) in con.execute("SELECT day FROM period_day ORDER BY day").fetchall()]
    totals = {sc: v for sc, v in con.execute("SELECT scenario, variable FROM totals").fetchall()}
    by_name = {s["name"]: s for s in summary["scenarios"]}
    plan_of = {sc: pid for sc, pid in con.execute("SELECT name, pid FROM scen").fetchall()}
    seats = {sc: n for sc, n in con.execute("SELECT name, n FROM seat_n").fetchall()}
    if set(by_name) != set(totals):
        problems.append(f"scenario names differ: {sorted(set(by_name) ^ set(totals))}")
    matched = 0
    for sc, variable in totals.items():
        s = by_name.get(sc)
        if s is None:
            continue
        fixed = Fraction(0)
        if plan_of.get(sc):
            fixed = fee_fraction(used_plans[plan_of[sc]]["monthly_fee"], days) * seats[sc]
            if not rounds_to(s["fixed_cost"], fixed):
                problems.append(f"{sc}: fixed_cost {s['fixed_cost']} is not {digits(fixed)}")
        elif Decimal(s["fixed_cost"]) != 0:
            problems.append(f"{sc}: fixed_cost {s['fixed_cost']} != 0")
        actual = Fraction(Decimal(summary["actual"]["cost"]))
        exact = Fraction(Decimal(variable)) + fixed
        if (fixed * 10**40).denominator == 1:
            # No fee, or one that terminates: reprice's sum is exact, and so must the match be.
            ok = Fraction(Decimal(s["cost"])) == exact and Fraction(Decimal(s["savings"])) == actual - exact
        else:
            # A fee prorated over part of a month does not terminate: match to reprice's last digit.
            ok = rounds_to(s["cost"], exact) and rounds_to(s["savings"], actual - exact, s["cost"])
        if ok:
            matched += 1
        else:
            problems.append(f"{sc}: cost duckdb {digits(exact)} != reprice {s['cost']}")
    # summary.json's provider switches, per (scenario, model, from, to), exactly.
    mine_sw = {(sc, m, f, t): (n, a, c) for sc, m, f, t, n, a, c in con.execute(
        "SELECT scenario, model, from_p, to_p, records, actual, cost FROM switch_pairs").fetchall()}
    theirs_sw = {(w["scenario"], w["model"], w["from"], w["to"]): (w["records"], Decimal(w["actual_cost"]), Decimal(w["cost"]))
              for w in summary.get("providers", {}).get("switches", [])}
    for k in sorted(set(mine_sw) | set(theirs_sw)):
        if mine_sw.get(k) != theirs_sw.get(k):
            problems.append(f"providers.switches {k}: duckdb {mine_sw.get(k)} != reprice {theirs_sw.get(k)}")
    return problems, len(theirs), matched


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--catalog-overlay", action="append", default=[],
                    help="a TOML that adds offers to the catalog's models")
    ap.add_argument("--scenarios", required=True)
    ap.add_argument("--envelope", action="append", required=True)
    ap.add_argument("--batch", action="append", default=[])
    ap.add_argument("--reprice-out", required=True)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--memory-limit")
    ap.add_argument("--timings", action="store_true", help="print the time each step took")
    args = ap.parse_args()
    duckdb = load_duckdb()
    if duckdb is None:
        print("run.py: the duckdb Python module is not installed", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    con = duckdb.connect(config={k: v for k, v in
                                 {"threads": args.threads, "memory_limit": args.memory_limit}.items() if v})
    with open(args.catalog, "rb") as f:
        catalog = tomllib.load(f)
    for path in args.catalog_overlay:
        with open(path, "rb") as f:
            lay_offers(catalog, tomllib.load(f))
    with open(args.scenarios, "rb") as f:
        scenarios = tomllib.load(f)
    used_plans = create_tables(con, catalog, scenarios)
    run_sql(con, [os.path.abspath(p) for p in args.envelope], [os.path.abspath(p) for p in args.batch])
    t1 = time.monotonic()
    problems, rows, matched = compare(con, args.reprice_out, used_plans)
    (records,) = con.execute("SELECT count(*) FROM priced").fetchone()
    if args.timings:
        print(f"duckdb: priced {records} records in {t1 - t0:.2f} s; compared in {time.monotonic() - t1:.2f} s")
    for p in problems[:50]:
        print(p)
    if len(problems) > 50:
        print(f"... and {len(problems) - 50} more differences")
    print(f"duckdb vs reprice: {records} records, {rows} savings.csv rows, "
          f"{matched} scenario totals exact; {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
