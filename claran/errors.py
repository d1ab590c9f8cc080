"""Errors meant for users: the message is one line that names the thing and says what to do."""

from __future__ import annotations


class UserError(Exception):
    """A problem with a user's input, option or file. The CLI prints it as one line and exits non-zero."""

    exit_code = 2


class CheckpointError(UserError):
    """A file that is not a usable claran checkpoint (missing, truncated, from another architecture)."""


class DatasetError(UserError):
    """A dataset that cannot be read or registered."""
