"""The same training data give the same router in every process: a municipality can rebuild the
model it runs, and the held-out gate's figures move only when the router does."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A small training (the areas, 150 corpus inquiries, two folds) in a fresh process: its
# features, a digest of everything stored but the training date, and the largest weight.
TRAIN = """
import json
from routing import training
seed = json.loads(open("departments/data/norrtalje.json", encoding="utf-8").read())
areas = sorted(
    (training.AreaInfo(a["slug"], a["name"], a["description"], a["keywords"], a["owner"])
     for a in seed["areas"]),
    key=lambda area: area.slug,
)
corpus, _held_out = training.corpus_split()
model = training.train(corpus[:150], areas, folds=2, version="test")
again = model.loads(model.dumps())
print(json.dumps({
    "features": list(model.vocabulary),
    "digest": model.content_digest(),
    "digest_after_loading": again.content_digest(),
    "weight": float(abs(model.contributing_coef).max()),
    "intercept": model.primary_intercept.tolist(),
    "thresholds": [model.temperature, model.contributing_threshold, model.triage_threshold],
}))
"""


def train_in_a_new_process(hash_seed: int, threads: int) -> str:
    return subprocess.run(
        [sys.executable, "-c", TRAIN],
        cwd=ROOT,
        env={
            "PYTHONHASHSEED": str(hash_seed),
            "OPENBLAS_NUM_THREADS": str(threads),
            "OMP_NUM_THREADS": str(threads),
            "PATH": "",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_training_twice_gives_the_same_model_whatever_the_string_hashing_and_threads():
    import json

    first, second = (json.loads(train_in_a_new_process(n, threads=n)) for n in (1, 2))

    assert len(first["features"]) > 1000
    assert first["features"] == second["features"]
    assert first["weight"] == second["weight"]
    assert first["intercept"] == second["intercept"]
    assert first["thresholds"] == second["thresholds"]
    assert first["digest"] == second["digest"]
    assert first["digest_after_loading"] == first["digest"]
