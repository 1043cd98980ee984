"""The reidtool exception family.

Every error a user can cause derives from `ReidtoolError`; the CLI prints it as one line and
exits with its `exit_code` (CONTRACTS §1: 1 the job failed, 2 bad usage, bad config or a
missing tool). Messages say what was expected and what was received, naming the key, file or
byte at fault.
"""

from __future__ import annotations


class ReidtoolError(Exception):
    """Base of every error reidtool raises on purpose. The job failed: exit code 1."""

    exit_code = 1


class UsageError(ReidtoolError):
    """Bad command-line usage or bad configuration: exit code 2."""

    exit_code = 2


class ConfigError(UsageError):
    """A configuration key is unknown, missing, of the wrong type or out of range."""


class UnknownNameError(ConfigError, KeyError):
    """A name looked up in a registry (model, augmentation, scheduler, op, board...) is unknown."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ToolMissingError(UsageError):
    """An external program needed by a command is not installed.

    Args:
        tool: the program's name, e.g. ``arm-none-eabi-gcc``.
        how: one sentence on how to install it.
    """

    def __init__(self, tool: str, how: str):
        super().__init__(f"'{tool}' is needed but was not found. {how}")
        self.tool = tool
        self.how = how


class DatasetError(ReidtoolError):
    """Images or folders that cannot be used; the message names the files (first 10, then a count)."""


class ModelError(ReidtoolError):
    """A model cannot be built, loaded or exported."""


class QuantizationError(ReidtoolError):
    """Quantization produced something reidtool cannot use (float ops left, wrong input quantization)."""


class EvaluationError(ReidtoolError):
    """Embeddings or labels that cannot be evaluated (shapes disagree, no query has a match, set too large)."""


class CodegenError(ReidtoolError):
    """The code generator cannot translate a model; names the op, its index and its output tensor."""


class BoardError(ReidtoolError):
    """A board could not be built, started, flashed or reached."""


class NotAvailableError(ReidtoolError):
    """An operation mode or feature that is not built yet: never a silent success."""

    exit_code = 2


def format_file_list(paths, limit: int = 10) -> str:
    """Name the first `limit` files of `paths`, then how many more there are."""
    paths = [str(p) for p in paths]
    shown = ", ".join(paths[:limit])
    if len(paths) > limit:
        shown += f" (and {len(paths) - limit} more)"
    return shown


class TrainingError(ReidtoolError):
    """A training cannot go on (e.g. the embeddings collapsed); the message names cause and fix."""
