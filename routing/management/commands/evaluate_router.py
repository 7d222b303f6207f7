"""Evaluate the router honestly: stratified k-fold cross-validation on the training data (the
corpus less its held-out 20 %, the dev examples, the areas), then the held-out 20 % once.

Prints overall scores, per-area precision and recall of the primary area, the most confused
pairs, a reliability table (stated confidence against how often the owner was right) and
timing. Tune only on the cross-validation figures; the held-out line is the gate.
"""

import json
import time
from collections import Counter

import numpy as np
from django.core.management.base import BaseCommand

from routing import training
from routing.services import area_infos

BINS = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.01)


class Command(BaseCommand):
    help = "Cross-validate the router and score it on the held-out part of the corpus."

    def add_arguments(self, parser):
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--json", action="store_true", help="Print the scores as JSON only.")

    def handle(self, *args, **options):
        started = time.perf_counter()
        areas = area_infos()
        slugs = [a.slug for a in areas]
        owners = {a.slug: a.owner for a in areas}
        corpus, held_out = training.corpus_split()
        model = training.train(corpus, areas, folds=options["folds"])
        train_seconds = time.perf_counter() - started
        scored, primary, contributing = model._out_of_fold
        cv = training.score(model, scored, owners, primary, contributing)

        started = time.perf_counter()
        holdout = training.score(model, held_out, owners)
        per_inquiry_ms = 1000 * (time.perf_counter() - started) / max(len(held_out), 1)
        result = {
            "model": model.describe(),
            "cross_validation": cv,
            "held_out": holdout,
            "ms_per_inquiry": round(per_inquiry_ms, 2),
            "train_seconds": round(train_seconds, 1),
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        self.stdout.write(f"Model: {json.dumps(model.describe(), ensure_ascii=False)}")
        self.stdout.write(f"Cross-validation ({options['folds']} folds): {cv}")
        self.stdout.write(f"Held-out 20 % of the corpus: {holdout}")
        self._per_area(scored, primary, slugs)
        self._reliability(scored, primary, slugs, owners)
        self.stdout.write(
            f"Timing: training {train_seconds:.1f} s, routing {per_inquiry_ms:.2f} ms/inquiry"
        )

    def _per_area(self, scored, primary, slugs):
        predicted = [slugs[i] for i in primary.argmax(axis=1)]
        gold = [e.areas[0] for e in scored]
        self.stdout.write("\nPer area (cross-validation, primary area):")
        self.stdout.write(f"  {'area':24} {'n':>4} {'precision':>9} {'recall':>7}")
        for slug in slugs:
            tp = sum(p == g == slug for p, g in zip(predicted, gold, strict=True))
            n_pred = predicted.count(slug)
            n_gold = gold.count(slug)
            precision = tp / n_pred if n_pred else 0.0
            recall = tp / n_gold if n_gold else 0.0
            self.stdout.write(f"  {slug:24} {n_gold:>4} {precision:>9.2f} {recall:>7.2f}")
        confused = Counter((g, p) for p, g in zip(predicted, gold, strict=True) if p != g)
        self.stdout.write("\nMost confused (gold → predicted):")
        for (g, p), n in confused.most_common(10):
            self.stdout.write(f"  {n:>3}  {g} → {p}")

    def _reliability(self, scored, primary, slugs, owners):
        unit_of = [owners.get(s, s) for s in slugs]
        rows = [
            training.owner_confidence(p, unit_of) + (owners[e.areas[0]],)
            for p, e in zip(primary, scored, strict=True)
        ]
        self.stdout.write("\nReliability (cross-validation, owning unit):")
        self.stdout.write(f"  {'confidence':>12} {'n':>4} {'stated':>7} {'right':>6}")
        for low, high in zip(BINS, BINS[1:], strict=False):
            inside = [(c, unit == gold) for unit, c, gold in rows if low <= c < high]
            if inside:
                stated = np.mean([c for c, _ok in inside])
                right = np.mean([ok for _c, ok in inside])
                band = f"{low:>5.2f}–{min(high, 1):<5.2f}"
                self.stdout.write(f"  {band} {len(inside):>4} {stated:>7.2f} {right:>6.2f}")
