"""The project package. The Celery app is `foretagslots.celery.app` (found there by
`celery -A foretagslots`); it is not imported here, so that a web worker does not load Celery."""
