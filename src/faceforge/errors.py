"""The errors faceforge raises on purpose.

Every one of them carries a single sentence meant for a person. The CLI prints that sentence and exits
with the error's ``exit_code``; anything else that escapes is a bug and is reported as one.
"""

from __future__ import annotations


class FaceforgeError(Exception):
    """Base of all expected failures: bad input, missing faces, unwritable output."""

    exit_code = 1


class InputError(FaceforgeError):
    """An input file is missing, unreadable, corrupt, too large or of the wrong kind."""

    exit_code = 2


class UnsupportedFormatError(InputError):
    """An input or output format faceforge cannot handle."""

    exit_code = 3


class NoFaceError(FaceforgeError):
    """A source or target holds no usable face."""

    exit_code = 4


class OutputError(FaceforgeError):
    """The output cannot be written."""

    exit_code = 5


class WeightsError(FaceforgeError):
    """A weight file is missing, corrupt or does not match its pinned hash."""

    exit_code = 6


class OptionError(InputError, ValueError):
    """An option (a flag, a ``--config`` file entry, an ``--option KEY=VALUE``) is unknown or out of range.

    Also a ``ValueError``, as an option dataclass's ``__post_init__`` check is one to callers of the
    dataclass."""

    exit_code = 2


class PluginError(FaceforgeError):
    """A third-party plug-in (a registered swapper, processor, masker...) could not be loaded."""

    exit_code = 1


class PartialError(FaceforgeError):
    """Some inputs could not be processed and were skipped (each is listed); the others were done."""

    exit_code = 9  # the code of `faceforge batch` for the same outcome


class NonFiniteLossError(FaceforgeError):
    """Training stopped: the loss became NaN or infinite, before the step touched the weights."""

    exit_code = 7
