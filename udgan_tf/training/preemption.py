"""Stopping cleanly on SIGTERM (a preempted cloud machine): finish the step, save, exit 143."""

import contextlib
import signal
import threading


@contextlib.contextmanager
def stop_on_sigterm(monitor):
    """While inside: SIGTERM (a preempted cloud machine) sets ``monitor.stop_requested``
    instead of ending the process, so training stops after the current step; the previous
    handler is restored on exit. Python delivers signals only to the main thread, so
    ``train()`` called from another thread leaves SIGTERM's handling as it was."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum, frame):
        monitor.stop_requested = True

    previous = signal.signal(signal.SIGTERM, request_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
