"""The exit codes of every command (``python -m udgan_tf.<command>``), and the one place where an
error becomes a message on stderr and one of them.

=========  =====================================================================================
code       meaning
=========  =====================================================================================
0          done
2          ``BAD_INPUT``: the command could not start as asked (a bad flag, config, run
           directory or data set); nothing was changed
3          ``FAILED``: the work started and stopped (a write failed, training diverged); what was
           saved before is intact, the message says how to continue
143        ``PREEMPTED`` (128 + SIGTERM, what a shell reports for a process ended by SIGTERM):
           stopped on SIGTERM after saving its state; rerun the same command to resume
=========  =====================================================================================

An error class says which it is with its ``exit_code`` attribute (``FAILED`` for
``runs.RunWriteError`` and the training errors, ``PREEMPTED`` for every ``Preempted``); any
other error a command catches is ``BAD_INPUT``.
"""

import signal
import sys

SUCCESS = 0
BAD_INPUT = 2
FAILED = 3
PREEMPTED = 128 + signal.SIGTERM


class Preempted(Exception):
    """Work stopped on SIGTERM after saving its state; the message names the state and how to resume."""

    exit_code = PREEMPTED


def exit_code(error):
    """The exit code of ``error``: its class's ``exit_code``, else ``BAD_INPUT``."""
    return getattr(error, "exit_code", BAD_INPUT)


def report(error, message=None, then=""):
    """Prints ``message`` (default: ``error: <error>``, or a preemption's own text, which is not an
    error) and ``then`` after it on stderr; returns ``error``'s exit code, for ``main`` to return."""
    code = exit_code(error)
    if message is None:
        message = str(error) if code == PREEMPTED else f"error: {error}"
    print(message + then, file=sys.stderr)
    return code
