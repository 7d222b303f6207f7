"""Train the router and make it the active model (or write the default artifact).

manage.py train_router                 # corpus + areas + handled cases → database
manage.py train_router --default       # corpus + areas → routing/artifacts/default.router

Training is deterministic: the same data and areas give the same model in every process, with
the pinned libraries (only the version, the training date and the seconds it took differ); the
"content digest" it prints says so, and with --default whether the rebuilt model is the one it
replaced.
"""

import json
import os

from django.core.management.base import BaseCommand

from routing import training
from routing.model import RouterModel
from routing.services import area_infos, train_and_store


class Command(BaseCommand):
    help = "Train the router on the corpus, the responsibility map and handled cases."

    def add_arguments(self, parser):
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument(
            "--default",
            action="store_true",
            help="Write the committed default artifact (corpus and areas only, no cases).",
        )

    def handle(self, *args, **options):
        if options["default"]:
            replaced = RouterModel.loads(training.DEFAULT_ARTIFACT.read_bytes()).content_digest()
            corpus, _held_out = training.corpus_split()
            model = training.train(corpus, area_infos(), folds=options["folds"], version="default")
            # a new file in place of the old: running processes map the old one, and a file
            # rewritten under a mapping changes (or, shorter, faults) under them
            new = training.DEFAULT_ARTIFACT.with_suffix(".new")
            new.write_bytes(model.dumps())
            os.replace(new, training.DEFAULT_ARTIFACT)
            self.stdout.write(f"wrote {training.DEFAULT_ARTIFACT}")
        else:
            _row, model = train_and_store(folds=options["folds"])
        self.stdout.write(json.dumps(model.describe(), ensure_ascii=False, indent=1))
        # the same data and areas give the same digest, whenever and in whichever process
        digest = model.content_digest()
        if options["default"]:
            same = "the same as" if digest == replaced else "not the same as"
            self.stdout.write(f"content digest {digest}: {same} the model it replaced ({replaced})")
        else:
            self.stdout.write(f"content digest {digest}")
