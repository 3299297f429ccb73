"""Entry point: `flask --app app run`, `gunicorn app:app`, and the queue consumer's `app.huey`."""
from ckbiz import create_app, tasks  # noqa: F401 (imported here so the consumer knows every task)
from ckbiz.extensions import huey  # noqa: F401 (the consumer takes the queue from this module)

app = create_app()
