"""Same routing, less CPU? For speed work on `routing.route()`: what it decides, and its CPU time.

    .venv/bin/python bench/routing_same.py dump OUT.json     # route the held-out and extra files
    .venv/bin/python bench/routing_same.py compare OLD.json NEW.json
    .venv/bin/python bench/routing_same.py cpu [PASSES]       # CPU ms per inquiry, in process

Run `dump` in a checkout of the old code and in the new one, then `compare`: areas, scores,
owner, triage, probabilities and explanations of every inquiry must be the same (the raw
probabilities within 1e-6). `cpu` routes each file PASSES times (default 2) in one process and
prints the median and mean CPU time per inquiry (time.process_time: on a shared machine wall
time mostly measures the neighbours); the first pass over the held-out file is what
`bench_routing.py` measures (a fresh process), later passes a process that has read such
texts before. Run old and new alternately. Run it from the root of the checkout to measure
(an older checkout may lack this file: give its path from the newer one).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path.cwd()  # the checkout routed: run it from its root (it may lack this script)


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def files() -> dict[str, list[dict]]:
    held = set((ROOT / "routing/data/holdout_ids.txt").read_text().split())
    corpus = load(ROOT / "routing/data/routing_corpus.jsonl")
    return {
        "held-out": [r for r in corpus if r["id"] in held],
        "extra": load(ROOT / "bench/data/routing_extra.jsonl"),
    }


def setup(tmp: str) -> None:
    """A throwaway SQLite database with the Norrtälje map, then Django in this process."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/same.sqlite3", "DEBUG": "1"}
    for command in (["migrate"], ["seed_norrtalje"]):
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *command, "--verbosity", "0"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "foretagslots.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.utils import translation

    translation.activate("sv")


def dump(out: str) -> None:
    from routing import api

    model = api.get_model()
    result = {}
    for name, rows in files().items():
        for row in rows:
            routed = api.route(row["subject"], row["body"])
            raw = model.predict(row["subject"], row["body"])
            result[f"{name}:{row['id']}"] = {
                "areas": [[s.area.slug, s.score] for s in routed.areas],
                "owner": routed.owning_department.slug,
                "suggested": getattr(routed.suggested_department, "slug", None),
                "confidence": routed.confidence,
                "needs_triage": routed.needs_triage,
                "probabilities": routed.probabilities,
                "explanation": routed.explanation,
                "primary": [float(p) for p in raw.primary],  # numpy or a list
                "contributing": [float(p) for p in raw.contributing],
            }
    Path(out).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


def compare(old_path: str, new_path: str) -> int:
    old = json.loads(Path(old_path).read_text(encoding="utf-8"))
    new = json.loads(Path(new_path).read_text(encoding="utf-8"))
    differences, largest = 0, 0.0
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if a is None or b is None:
            print(f"only in one file: {key}")
            differences += 1
            continue
        for field in ("primary", "contributing"):
            largest = max(largest, max(abs(x - y) for x, y in zip(a[field], b[field], strict=True)))
        for field in a.keys() - {"primary", "contributing"}:
            if a[field] != b[field]:
                print(f"{key} {field}:\n  {a[field]}\n  {b[field]}")
                differences += 1
    print(f"{len(old)} inquiries, {differences} differences; raw probabilities {largest:.1e} apart")
    return 1 if differences or largest > 1e-6 else 0


def cpu(passes: int) -> None:
    from routing import api

    api.get_model()
    for name, rows in files().items():
        for number in range(passes):
            times = []
            for row in rows:
                started = time.process_time()
                api.route(row["subject"], row["body"])
                times.append(1000 * (time.process_time() - started))
            print(
                f"{name} pass {number + 1}: median {statistics.median(times):.2f} ms, "
                f"mean {statistics.mean(times):.2f} ms CPU per inquiry"
            )


def main() -> int:
    command, *args = sys.argv[1:] or ["cpu"]
    if command == "compare":
        return compare(*args)
    with tempfile.TemporaryDirectory(prefix="routing-same-") as tmp:
        setup(tmp)
        if command == "dump":
            dump(args[0])
        else:
            cpu(int(args[0]) if args else 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
