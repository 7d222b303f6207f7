"""The router's honesty gate: the committed default model scored on the fixed, stratified 20 %
of the corpus that is never trained or tuned on (routing/data/holdout_ids.txt).

No database: the owners come from the seed data the default model was trained with.
Floors below are what the model reaches today; the issue's targets are in TARGETS and in
the report (`manage.py evaluate_router`). Raise a floor when the router gets better, never
lower one to let a change through.
"""

import json
from pathlib import Path

import pytest

from routing import training
from routing.api import load_default

SEED = Path(__file__).resolve().parent.parent / "departments" / "data" / "norrtalje.json"
TARGETS = {
    "primary": 0.90,
    "owner": 0.92,
    "multi_recall": 0.85,
    "auto_owner": 0.95,
    "auto_share": 0.80,
}
FLOORS = {
    "primary": 0.90,
    "owner": 0.90,
    "multi_recall": 0.92,
    "precision": 0.75,  # of the area lists: contributions are asked for sparingly still
    "auto_owner": 0.95,
    # 0.845 before the model could be rebuilt: the artifact it was measured on had been
    # trained when typo correction depended on string hashing; the same code and data now
    # give 0.835 (167 of 200) in every process (bench/README.md, route6)
    "auto_share": 0.835,
}


@pytest.fixture(scope="module")
def holdout_scores():
    seed = json.loads(SEED.read_text(encoding="utf-8"))
    owners = {area["slug"]: area["owner"] for area in seed["areas"]}
    _train, held_out = training.corpus_split()
    return training.score(load_default(), held_out, owners)


def test_holdout_is_a_fixed_stratified_fifth_of_the_corpus_and_never_trained_on():
    train, held_out = training.corpus_split()
    held_ids = {e.id for e in held_out}

    assert len(held_out) == 200
    assert not held_ids & {e.id for e in train}
    corpus = training.load_jsonl(training.CORPUS_FILE)
    model = load_default()
    assert model.counts["corpus"] == len(corpus) - len(held_out)


@pytest.mark.parametrize("measure", sorted(FLOORS))
def test_default_model_on_the_held_out_corpus(holdout_scores, measure):
    print(f"held-out: {holdout_scores} (targets {TARGETS})")
    assert holdout_scores[measure] >= FLOORS[measure], (measure, holdout_scores)
