"""Errors for data that is missing or malformed.

Every message names what is wrong (the file, and the line or byte offset when it
is a format problem), where it was looked for, and the flag or command that fixes
it. ``python -m udgan_tf.train`` prints the message and exits non-zero without a
stack trace.
"""


class DataError(Exception):
    """Data that cannot be used."""


class DataNotFoundError(DataError, FileNotFoundError):
    """Data files that are not where they were looked for."""


class DataFormatError(DataError, ValueError):
    """A data file whose contents do not match its format."""
