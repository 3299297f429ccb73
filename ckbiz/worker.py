"""The queue consumer: huey's, made graceful on SIGTERM as well as SIGINT, with the urgent
queue's consumer (payments, their notices and reconcile, password and sign-up SMS) running beside it on threads
of its own, so a slow mail server holding every ordinary thread never delays a payment."""
import signal

from huey.consumer import Consumer


class GracefulConsumer(Consumer):
    """A consumer that finishes running tasks on either stop signal.

    systemd and most supervisors stop services with SIGTERM; huey treats that as
    "interrupt now", which abandons a half-sent e-mail. Both signals mean "finish
    the current task, then exit" here; the outbox sweeper covers SIGKILL.
    """

    def __init__(self, huey, companion=None, **options):
        super().__init__(huey, **options)
        self.companion = companion
        self._signal_actions[signal.SIGTERM] = (False, True)
        self._signal_actions[signal.SIGINT] = (False, True)

    def start(self):
        """Start the companion's threads, then this consumer's (whose signal handlers win)."""
        if self.companion is not None:
            self.companion.start()
        super().start()

    def stop(self, graceful=False):
        """Both consumers stop taking tasks at once, then each finishes what it runs."""
        if self.companion is not None:
            self.companion.stop_flag.set()
        super().stop(graceful)
        if self.companion is not None:
            self.companion.stop(graceful)

    def check_worker_health(self):
        """Restart dead threads of both consumers."""
        if self.companion is not None:
            self.companion.check_worker_health()
        return super().check_worker_health()


def run(huey, urgent_huey, workers=2, urgent_workers=2, periodic=True, flush_locks=False):
    """Run the consumers in this process until a stop signal (the app is built already:
    the command runs inside it, so a configuration error stops it before any thread starts)."""
    # An idle consumer polls at most a second apart, so a new invoice's e-mail
    # leaves within a second even on the SQLite queue, which cannot push.
    options = {"worker_type": "thread", "max_delay": 1.0, "shutdown_timeout": 60}
    urgent = GracefulConsumer(urgent_huey, workers=urgent_workers, periodic=periodic,
                              flush_locks=flush_locks, **options)
    consumer = GracefulConsumer(huey, companion=urgent, workers=workers, periodic=periodic,
                                flush_locks=flush_locks, **options)
    consumer.run()
