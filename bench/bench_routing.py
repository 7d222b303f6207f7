"""Routing benchmark: accuracy and speed of `routing.route` on labelled inquiries.

    .venv/bin/python bench/bench_routing.py [FILE.jsonl ...] [--verbose] [--check]

Each FILE has one JSON object a line: id, subject, body, areas (slugs, primary first) and
optionally owner_units (unit names, primary first; derived from the areas when absent).
Without FILE it uses the held-out 20 % of the corpus (routing/data/holdout_ids.txt: never
trained or tuned on) and bench/data/routing_extra.jsonl. The dev examples and the rest of the
corpus are training data, so scoring on them says nothing.

It migrates and seeds a throwaway SQLite database, runs `manage.py route_inquiries` (the same
code path as the intake) and prints top-1 primary-area accuracy, owner-unit accuracy,
recall and precision of the area lists (overall, and recall on the inquiries that concern
several areas), the share routed automatically (not to triage) and how often its owner unit is
right, the routing time per inquiry (median, in process), the model's load time and the
memory it adds.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "departments" / "data" / "norrtalje.json"
HOLDOUT = "held-out 20 % of the corpus"
DEFAULT_FILES = [HOLDOUT, ROOT / "bench/data/routing_extra.jsonl"]
TARGETS = {
    "primary": 0.90,
    "owner": 0.92,
    "recall": 0.85,
    "auto_owner": 0.95,
    "auto_share": 0.80,
    "ms": 2.0,
    "load_s": 1.0,
    "load_mb": 30.0,
}


def manage(env, *args, stdin=None):
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def evaluate(rows, predictions, unit_slug, area_owner, verbose=False):
    primary = owner = auto = auto_right = 0
    true_pos = false_pos = false_neg = 0
    secondary_found = secondary_total = 0
    multi_found = multi_total = 0
    for row in rows:
        predicted = predictions[row["id"]]
        gold = row["areas"]
        gold_units = [unit_slug[name] for name in row.get("owner_units", [])] or [
            area_owner[gold[0]]
        ]
        areas = predicted["areas"]
        primary_ok = bool(areas) and areas[0] == gold[0]
        primary += primary_ok
        owner += predicted["owner_unit"] == gold_units[0]
        if not predicted.get("needs_triage"):
            auto += 1
            auto_right += predicted["owner_unit"] == gold_units[0]
        true_pos += len(set(areas) & set(gold))
        false_pos += len(set(areas) - set(gold))
        false_neg += len(set(gold) - set(areas))
        secondary_total += len(gold) - 1
        secondary_found += len(set(gold[1:]) & set(areas))
        if len(gold) > 1:
            multi_total += len(gold)
            multi_found += len(set(gold) & set(areas))
        if verbose and (not primary_ok or set(areas) != set(gold)):
            mark = "MISS" if not primary_ok else "    "
            print(f"  {mark} {row['id']}: gold {gold}, got {areas} ({predicted['confidence']})")
            print(f"       {predicted['explanation']}")
    n = len(rows)
    return {
        "n": n,
        "primary": primary / n,
        "owner": owner / n,
        "recall": true_pos / max(true_pos + false_neg, 1),
        "precision": true_pos / max(true_pos + false_pos, 1),
        "secondary_recall": secondary_found / max(secondary_total, 1),
        "multi_recall": multi_found / max(multi_total, 1),
        "auto_share": auto / n,
        "auto_owner": auto_right / max(auto, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--verbose", action="store_true", help="list misrouted inquiries")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    options = parser.parse_args()
    files = options.files or [p for p in DEFAULT_FILES if p == HOLDOUT or p.exists()]

    seed = json.loads(SEED.read_text(encoding="utf-8"))
    unit_slug = {unit["name"]: unit["slug"] for unit in seed["departments"]}
    area_owner = {area["slug"]: area["owner"] for area in seed["areas"]}

    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-routing-") as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "DEBUG": "1"}
        manage(env, "migrate", "--verbosity", "0")
        manage(env, "seed_norrtalje", "--verbosity", "0")
        for path in files:
            if path == HOLDOUT:
                path = Path(tmp) / "holdout.jsonl"
                held = set((ROOT / "routing/data/holdout_ids.txt").read_text().split())
                corpus = load(ROOT / "routing/data/routing_corpus.jsonl")
                path.write_text(
                    "".join(
                        json.dumps(r, ensure_ascii=False) + "\n" for r in corpus if r["id"] in held
                    ),
                    encoding="utf-8",
                )
            rows = load(path)
            run = manage(env, "route_inquiries", "--stats", "--input", str(path))
            predictions = {}
            for line in run.stdout.splitlines():
                payload = json.loads(line)
                predictions[payload["id"]] = payload
            stats = dict(item.split("=") for item in run.stderr.strip().splitlines()[-1].split())
            ms = float(stats["median_ms"])
            print(f"{path} ({len(rows)} inquiries)")
            result = evaluate(rows, predictions, unit_slug, area_owner, options.verbose)
            print(
                f"  primary area (top-1) {result['primary']:6.1%}"
                f"   owner unit {result['owner']:6.1%}"
                f"   {ms:.2f} ms/inquiry (median)\n"
                f"  areas recall {result['recall']:6.1%}   precision {result['precision']:6.1%}"
                f"   on multi-area inquiries: recall {result['multi_recall']:6.1%}"
                f" (secondary areas {result['secondary_recall']:6.1%})\n"
                f"  routed automatically {result['auto_share']:6.1%}"
                f", owner unit right there {result['auto_owner']:6.1%}"
                f"   model load {stats['load_s']} s, +{stats['load_mb']} MB"
            )
            failed |= (
                result["primary"] < TARGETS["primary"]
                or result["owner"] < TARGETS["owner"]
                or result["multi_recall"] < TARGETS["recall"]
                or result["auto_owner"] < TARGETS["auto_owner"]
                or result["auto_share"] < TARGETS["auto_share"]
                or ms >= TARGETS["ms"]
                or float(stats["load_s"]) > TARGETS["load_s"]
                or float(stats["load_mb"]) > TARGETS["load_mb"]
            )
    return 1 if options.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
