"""The queue consumer: huey's, made graceful on SIGTERM as well as SIGINT."""
import signal

from huey.consumer import Consumer


class GracefulConsumer(Consumer):
    """A consumer that finishes running tasks on either stop signal.

    systemd and most supervisors stop services with SIGTERM; huey treats that as
    "interrupt now", which abandons a half-sent e-mail. Both signals mean "finish
    the current task, then exit" here; the outbox sweeper covers SIGKILL.
    """

    def __init__(self, huey, **options):
        super().__init__(huey, **options)
        self._signal_actions[signal.SIGTERM] = (False, True)
        self._signal_actions[signal.SIGINT] = (False, True)


def run(huey, workers=2, periodic=True, flush_locks=False):
    """Run the consumer in this process until a stop signal (the app is built already:
    the command runs inside it, so a configuration error stops it before any thread starts)."""
    # An idle consumer polls at most a second apart, so a new invoice's e-mail
    # leaves within a second even on the SQLite queue, which cannot push.
    consumer = GracefulConsumer(huey, workers=workers, worker_type="thread",
                                periodic=periodic, max_delay=1.0, flush_locks=flush_locks,
                                shutdown_timeout=60)
    consumer.run()
