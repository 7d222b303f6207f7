"""Training the router (numpy and scikit-learn, only here: routing needs neither).

Training data, in `Example`s:
- the responsibility map itself: each area's name, description and keywords (so a new area
  routes before any case has taught it anything);
- the labelled corpus and the dev examples in routing/data/, less the fixed held-out 20 % of
  the corpus (HOLDOUT_FILE), which is scored as a gate and never trained or tuned on;
- handled cases with the areas the officers left them with; corrected ones weigh most.

All choices (regularisation, calibration temperature, contributing threshold, triage threshold)
are made on out-of-fold predictions of stratified k-fold cross-validation of the training data.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from routing.analysis import Lexicon, base_stems, features
from routing.model import (  # noqa: F401 (DEFAULT_ARTIFACT: train_router writes it)
    DEFAULT_ARTIFACT,
    MAX_AREAS,
    RouterModel,
    softmax,
    vectorize,
    weighted,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
CORPUS_FILE = DATA_DIR / "routing_corpus.jsonl"
DEV_FILE = DATA_DIR / "routing_dev.jsonl"
HOLDOUT_FILE = DATA_DIR / "holdout_ids.txt"

AREA_WEIGHT = 8.0  # an area's own description, as a training document (chosen on the folds:
# the responsibility map is the municipality's statement of what each area covers)
CASE_WEIGHT = 2.0  # a handled case as the officers left it
CORRECTION_WEIGHT = 4.0  # a case whose areas an officer corrected
PRIMARY_C = 1000.0  # inverse regularisation, chosen on the folds (evaluate_router)
CONTRIBUTING_C = 10.0
NAIVE_BAYES_ALPHA = 0.1  # smoothing of the complement naive Bayes model (chosen on the folds)
NAIVE_BAYES_WEIGHT = 0.4  # its share of the primary scores (chosen on the folds)
NAIVE_BAYES_CONTRIBUTING_WEIGHT = 0.8  # and of the contributing scores (chosen on the folds)
MIN_DOCUMENT_FREQUENCY = 2
PRUNE_PERCENT = 30  # features whose largest weight is among the smallest 30 % are dropped
# (for memory: a web process holds the model; chosen for size, not for scores)
TARGET_AUTO_ACCURACY = 0.96  # a margin over the 95 % asked for, as unseen text differs
TARGET_MULTI_RECALL = 0.87  # of a multi-area inquiry's areas, the share the lists must find
# (a missed contributing unit leaves the company an incomplete answer; a needless request
# for a contribution costs an officer a glance), with a margin over the 85 % asked for
MIN_AUTO_SHARE = 0.80


@dataclass
class Example:
    subject: str
    body: str
    areas: list[str]  # slugs, primary first
    weight: float = 1.0
    source: str = "corpus"
    id: str = ""


@dataclass
class AreaInfo:
    slug: str
    name: str
    description: str
    keywords: list[str]
    owner: str = ""  # the owning unit's slug (for scoring owner accuracy)


def load_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def holdout_ids() -> set[str]:
    return set(HOLDOUT_FILE.read_text().split())


def corpus_split() -> tuple[list[Example], list[Example]]:
    """(training, held-out) examples of the corpus; the dev examples train too."""
    held = holdout_ids()
    train, test = [], []
    for row in load_jsonl(CORPUS_FILE):
        example = Example(row["subject"], row["body"], row["areas"], id=row["id"])
        (test if row["id"] in held else train).append(example)
    for row in load_jsonl(DEV_FILE):
        train.append(Example(row["subject"], row["body"], row["areas"], source="dev", id=row["id"]))
    return train, test


def area_examples(areas: list[AreaInfo]) -> list[Example]:
    examples = []
    for area in areas:
        keywords = " ".join(k.lstrip("~-") for k in area.keywords)
        examples.append(
            Example(area.name, f"{area.description}\n{keywords}", [area.slug], AREA_WEIGHT, "area")
        )
        examples.append(Example(area.name, keywords, [area.slug], AREA_WEIGHT, "area"))
    return examples


def area_signature(areas: list[AreaInfo]) -> str:
    import hashlib

    text = json.dumps([[a.slug, a.name, a.description, a.keywords] for a in areas])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- fitting --------------------------------------------------------------------------


def fit(
    examples: list[Example],
    slugs: list[str],
    primary_c: float = PRIMARY_C,
    contributing_c: float = CONTRIBUTING_C,
    naive_bayes_weight: float = NAIVE_BAYES_WEIGHT,
    naive_bayes_contributing_weight: float = NAIVE_BAYES_CONTRIBUTING_WEIGHT,
) -> RouterModel:
    """Fit both linear models on the examples (no calibration: see `train`)."""
    texts = [f"{e.subject}\n{e.body}" for e in examples]
    frequency = base_stems(texts)
    area_stems = base_stems(f"{e.subject}\n{e.body}" for e in examples if e.source == "area")
    lexicon = Lexicon.build(
        {s for s, n in frequency.items() if n >= MIN_DOCUMENT_FREQUENCY} | set(area_stems)
    )
    counts = [features(e.subject, e.body, lexicon) for e in examples]
    document_frequency: Counter = Counter()
    for c, e in zip(counts, examples, strict=True):
        document_frequency.update(weighted(c).keys() if e.source != "area" else c.keys())
    area_features = set()
    for c, e in zip(counts, examples, strict=True):
        if e.source == "area":
            area_features.update(c)
    names = sorted(
        name
        for name, n in document_frequency.items()
        if n >= MIN_DOCUMENT_FREQUENCY or (name in area_features and name[0] != "g")
    )
    vocabulary = {name: index for index, name in enumerate(names)}
    n = len(examples)
    idf = np.array([np.log((1 + n) / (1 + document_frequency[name])) + 1 for name in names])

    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for row, c in enumerate(counts):
        indices, values = vectorize(c, vocabulary, idf)
        rows.extend([row] * len(indices))
        cols.extend(indices.tolist())
        vals.extend(values.tolist())
    x = csr_matrix((vals, (rows, cols)), shape=(n, len(vocabulary)))
    weights = np.array([e.weight for e in examples])
    index_of = {slug: i for i, slug in enumerate(slugs)}
    kept = [i for i, e in enumerate(examples) if e.areas and e.areas[0] in index_of]

    # The primary area: one multinomial logistic regression (the areas compete, which orders
    # a primary area above a contributing one better than one-vs-rest fits did on the folds);
    # its scores become probabilities through the softmax and the temperature chosen on the
    # folds. The contributing areas: one-vs-rest liblinear fits, fast on sparse text features.
    # Complement naive Bayes weights are added to both (linear too, so serving is unchanged);
    # the features to keep are chosen on the logistic regressions' weights, as before.
    primary_coef, primary_intercept = _multinomial(
        x[kept], [examples[i].areas[0] for i in kept], slugs, weights[kept], primary_c
    )
    naive_bayes = _complement_naive_bayes(
        x[kept], [examples[i].areas[0] for i in kept], slugs, weights[kept]
    )
    contributing_coef, contributing_intercept = _one_vs_rest(
        x[kept], [examples[i].areas for i in kept], slugs, weights[kept], contributing_c
    )
    weight = np.maximum(np.abs(primary_coef).max(axis=1), np.abs(contributing_coef).max(axis=1))
    primary_coef += naive_bayes_weight * naive_bayes
    contributing_coef += naive_bayes_contributing_weight * naive_bayes
    keep = np.flatnonzero(weight >= np.percentile(weight, PRUNE_PERCENT)) if len(weight) else []
    vocabulary = {names[index]: position for position, index in enumerate(keep)}
    idf, primary_coef, contributing_coef = idf[keep], primary_coef[keep], contributing_coef[keep]
    return RouterModel(
        version="",
        trained_at="",
        areas=list(slugs),
        vocabulary=vocabulary,
        idf=idf,
        primary_coef=primary_coef,
        primary_intercept=primary_intercept,
        contributing_coef=contributing_coef,
        contributing_intercept=contributing_intercept,
        lexicon=lexicon,
    )


def _multinomial(x, labels, slugs, weights, c):
    from sklearn.linear_model import LogisticRegression

    coef = np.zeros((x.shape[1], len(slugs)))
    intercept = np.full(len(slugs), -30.0)  # an area without examples is never chosen
    classes = sorted(set(labels))
    if len(classes) < 2:
        if classes:
            intercept[slugs.index(classes[0])] = 0.0
        return coef, intercept
    model = LogisticRegression(C=c, max_iter=3000)
    model.fit(x, labels, sample_weight=weights)
    columns = [slugs.index(slug) for slug in model.classes_]
    fitted, bias = model.coef_.T, model.intercept_
    if len(columns) == 2:  # a binary fit has one column: split it so the softmax matches
        fitted, bias = np.hstack([-fitted / 2, fitted / 2]), np.array([-bias[0], bias[0]]) / 2
    coef[:, columns] = fitted
    intercept[columns] = bias
    return coef, intercept


def _complement_naive_bayes(x, labels, slugs, weights):
    """Complement naive Bayes log-weights, centred per feature so that they only move the
    areas against each other: added to the logistic regression's weights, one linear model
    serves both. (Naive Bayes learns from a few examples per area what the logistic
    regression, fitted with little regularisation, leaves to single strong words.)"""
    from sklearn.naive_bayes import ComplementNB

    coef = np.zeros((x.shape[1], len(slugs)))
    if len(set(labels)) < 2:
        return coef
    model = ComplementNB(alpha=NAIVE_BAYES_ALPHA).fit(x, labels, sample_weight=weights)
    fitted = model.feature_log_prob_.T
    coef[:, [slugs.index(slug) for slug in model.classes_]] = fitted - fitted.mean(
        axis=1, keepdims=True
    )
    return coef


def _one_vs_rest(x, labels, slugs, weights, c):
    from sklearn.linear_model import LogisticRegression

    coef = np.zeros((x.shape[1], len(slugs)))
    intercept = np.full(len(slugs), -30.0)  # an area without examples is never chosen
    for column, slug in enumerate(slugs):
        target = np.array([slug in areas for areas in labels])
        if target.all() or not target.any():
            continue
        # liblinear's dual solver visits the examples in a random order: without a fixed
        # seed it drew one from numpy's global generator, which differs in every process
        binary = LogisticRegression(
            C=c, solver="liblinear", dual=True, max_iter=1000, random_state=0
        )
        binary.fit(x, target, sample_weight=weights)
        coef[:, column] = binary.coef_[0]
        intercept[column] = binary.intercept_[0]
    return coef, intercept


def predict_raw(model: RouterModel, examples: list[Example]):
    """Primary logits and contributing probabilities of the examples."""
    logits, contributing = [], []
    for e in examples:
        indices, values = model.vectorize(e.subject, e.body)
        logits.append(values @ model.primary_coef[indices] + model.primary_intercept)
        z = values @ model.contributing_coef[indices] + model.contributing_intercept
        contributing.append(1.0 / (1.0 + np.exp(-z)))
    return np.array(logits), np.array(contributing)


def out_of_fold(examples, slugs, folds=5, seed=12, **params):
    """Out-of-fold logits and contributing probabilities for the non-area examples (the area
    descriptions train in every fold)."""
    from sklearn.model_selection import StratifiedKFold

    fixed = [e for e in examples if e.source == "area"]
    scored = [e for e in examples if e.source != "area"]
    labels = [e.areas[0] for e in scored]
    logits = np.zeros((len(scored), len(slugs)))
    contributing = np.zeros((len(scored), len(slugs)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_index, test_index in splitter.split(np.zeros(len(scored)), labels):
        model = fit(fixed + [scored[i] for i in train_index], slugs, **params)
        fold_logits, fold_contributing = predict_raw(model, [scored[i] for i in test_index])
        logits[test_index] = fold_logits
        contributing[test_index] = fold_contributing
    return scored, logits, contributing


def choose_temperature(logits, truth) -> float:
    """The temperature that minimises the log loss of the out-of-fold primary probabilities."""
    best, best_loss = 1.0, np.inf
    for temperature in np.geomspace(0.2, 5.0, 60):
        p = softmax(logits / temperature)
        loss = -np.mean(np.log(np.clip(p[np.arange(len(truth)), truth], 1e-12, 1)))
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return best


def area_lists(primary, contributing, threshold, ratio, primary_floor):
    """`RouterModel.decide_areas` for many rows at once (the same rule, as arrays): a
    boolean matrix of the areas listed for each row."""
    rows = np.arange(len(primary))
    first = primary.argmax(axis=1)
    floor = np.maximum(threshold, ratio * contributing[rows, first])[:, None]
    eligible = (contributing >= floor) | (primary >= primary_floor)
    eligible[rows, first] = False
    key = np.where(eligible, np.maximum(contributing, primary), -np.inf)
    listed = np.zeros(primary.shape, dtype=bool)
    listed[rows, first] = True
    for column in np.argsort(-key, axis=1, kind="stable")[:, : MAX_AREAS - 1].T:
        listed[rows, column] |= eligible[rows, column]
    return listed


def list_scores(listed, gold) -> dict:
    """Precision and recall of area lists against the gold ones (boolean matrices), and the
    recall on the rows with more than one gold area."""
    tp = (listed & gold).sum()
    multi = gold.sum(axis=1) > 1
    return {
        "precision": tp / max(listed.sum(), 1),
        "recall": tp / max(gold.sum(), 1),
        "multi_recall": (listed & gold)[multi].sum() / max(gold[multi].sum(), 1),
    }


def choose_contributing(primary, contributing, examples, slugs):
    """The contributing threshold (and the share of the primary's, and the primary
    probability at which a runner-up contributes): the most precise area lists on the folds
    among those that find TARGET_MULTI_RECALL of the areas of multi-area inquiries (if none
    does, the ones that find most)."""
    column = {slug: index for index, slug in enumerate(slugs)}
    gold = np.zeros(primary.shape, dtype=bool)
    for row, e in enumerate(examples):
        gold[row, [column[a] for a in e.areas if a in column]] = True
    best, best_key = (0.5, 0.0, 1.1), None
    for threshold in np.arange(0.03, 0.5, 0.005):
        for ratio in (0.0, 0.3, 0.5):
            for primary_floor in (0.15, 0.2, 0.3, 0.4, 1.1):
                listed = area_lists(primary, contributing, threshold, ratio, primary_floor)
                result = list_scores(listed, gold)
                reached = result["multi_recall"] >= TARGET_MULTI_RECALL
                key = (reached, result["precision"] if reached else result["multi_recall"])
                if best_key is None or key > best_key:
                    best, best_key = (round(float(threshold), 3), ratio, primary_floor), key
    return best


def owner_confidence(primary: np.ndarray, owners: list[str]) -> tuple[str, float]:
    """The owning unit of the most probable area, and the probability that the owning unit
    is right (the probabilities of all its areas together)."""
    first = int(np.argmax(primary))
    unit = owners[first]
    return unit, float(sum(p for p, o in zip(primary, owners, strict=True) if o == unit))


def choose_triage(primary, examples, slugs, owners_by_slug) -> float:
    """The lowest confidence threshold at which the automatically routed inquiries get the
    right owning unit TARGET_AUTO_ACCURACY of the time (if that leaves too little routed
    automatically, the threshold that keeps MIN_AUTO_SHARE)."""
    owners = [owners_by_slug.get(s, s) for s in slugs]
    rows = []
    for p, e in zip(primary, examples, strict=True):
        unit, confidence = owner_confidence(p, owners)
        rows.append((confidence, unit == owners_by_slug.get(e.areas[0], e.areas[0])))
    rows.sort(reverse=True)
    right = 0
    best = rows[-1][0] if rows else 0.0
    for count, (confidence, ok) in enumerate(rows, start=1):
        right += ok
        if right / count >= TARGET_AUTO_ACCURACY:
            best = confidence
    share_floor = rows[int(MIN_AUTO_SHARE * len(rows)) - 1][0] if rows else 0.0
    return float(min(best, share_floor))


def score(model: RouterModel, examples, owners_by_slug, primary=None, contributing=None):
    """Primary, owner, area-list and triage scores of the model on examples."""
    if primary is None:
        logits, contributing = predict_raw(model, examples)
        primary = softmax(logits / model.temperature)
    slugs = model.areas
    owners = [owners_by_slug.get(s, s) for s in slugs]
    n = len(examples)
    primary_ok = owner_ok = auto = auto_ok = 0
    multi_found = multi_total = tp = fp = fn = 0
    for p, c, e in zip(primary, contributing, examples, strict=True):
        got = [slugs[i] for i in model.decide_areas(p, c)]
        unit, confidence = owner_confidence(p, owners)
        gold_unit = owners_by_slug.get(e.areas[0], e.areas[0])
        primary_ok += got[0] == e.areas[0]
        owner_ok += unit == gold_unit
        if confidence >= model.triage_threshold:
            auto += 1
            auto_ok += unit == gold_unit
        gold = set(e.areas)
        tp, fp, fn = tp + len(set(got) & gold), fp + len(set(got) - gold), fn + len(gold - set(got))
        if len(gold) > 1:
            multi_total += len(gold)
            multi_found += len(gold & set(got))
    return {
        "n": n,
        "primary": round(primary_ok / n, 4),
        "owner": round(owner_ok / n, 4),
        "recall": round(tp / (tp + fn), 4),
        "precision": round(tp / (tp + fp), 4),
        "multi_recall": round(multi_found / multi_total, 4) if multi_total else None,
        "auto_share": round(auto / n, 4),
        "auto_owner": round(auto_ok / auto, 4) if auto else None,
    }


def train(
    examples: list[Example],
    areas: list[AreaInfo],
    folds: int = 5,
    version: str | None = None,
    calibration: RouterModel | None = None,
    **params,
) -> RouterModel:
    """Cross-validate for calibration and thresholds, then fit on everything. With fewer
    than two folds, no cross-validation: the calibration of `calibration` is kept.

    The same examples and areas give the same model in every process (only the version, the
    training date and the seconds differ: `RouterModel.content_digest`): the examples are
    read in a fixed order, the fold split and liblinear have fixed seeds, and numpy's and
    scikit-learn's thread pools are held to one thread, as threads add up sums in an order
    that varies with their number (the last bits of the weights did)."""
    # scikit-learn and scipy load their own OpenMP and OpenBLAS: loaded first, so that the
    # limit reaches them too
    import sklearn.linear_model  # noqa: F401
    import sklearn.naive_bayes  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _train(examples, areas, folds, version, calibration, **params)


def _train(examples, areas, folds, version, calibration, **params) -> RouterModel:
    started = time.perf_counter()
    slugs = [a.slug for a in areas]
    owners_by_slug = {a.slug: a.owner or a.slug for a in areas}
    examples = area_examples(areas) + [e for e in examples if e.areas and e.areas[0] in slugs]
    model = fit(examples, slugs, **params)
    if folds >= 2:
        scored, logits, contributing = out_of_fold(examples, slugs, folds=folds, **params)
        truth = np.array([slugs.index(e.areas[0]) for e in scored])
        model.temperature = choose_temperature(logits, truth)
        primary = softmax(logits / model.temperature)
        (
            model.contributing_threshold,
            model.contributing_ratio,
            model.primary_floor,
        ) = choose_contributing(primary, contributing, scored, slugs)
        model.triage_threshold = choose_triage(primary, scored, slugs, owners_by_slug)
        model.scores = {
            "cv_folds": folds,
            **score(model, scored, owners_by_slug, primary, contributing),
        }
        model._out_of_fold = (scored, primary, contributing)  # for evaluate_router; not stored
    elif calibration is not None:  # a quick retrain keeps the calibration it is given
        model.temperature = calibration.temperature
        model.contributing_threshold = calibration.contributing_threshold
        model.contributing_ratio = calibration.contributing_ratio
        model.primary_floor = calibration.primary_floor
        model.triage_threshold = calibration.triage_threshold
        model.scores = {"cv_folds": 0, "calibrated_by": calibration.version}
    now = datetime.now(UTC)
    model.trained_at = now.isoformat(timespec="seconds")
    model.version = version or now.strftime("%Y%m%d%H%M%S")
    model.counts = dict(Counter(e.source for e in examples))
    model.scores["seconds"] = round(time.perf_counter() - started, 1)
    model.area_signature = area_signature(areas)
    return model
