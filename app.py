"""Entry point: `flask --app app run`, `gunicorn app:app`, and the queue's `app.huey`."""
from ckbiz import create_app
from ckbiz.extensions import huey  # noqa: F401  (the consumer imports it from here)

app = create_app()
