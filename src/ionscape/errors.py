"""The exception family of ionscape.

Every error a user can cause (bad input files, bad settings) is an :class:`IonscapeError`
subclass whose message says what is wrong and where, so the CLI can print it without a
traceback.
"""

from __future__ import annotations


class IonscapeError(Exception):
    """Base class of every error ionscape raises on purpose."""


class ConfigError(IonscapeError):
    """An annotation setting is invalid (unknown adduct, negative ppm, ...)."""


class FormulaError(IonscapeError):
    """A molecular formula or modifier cannot be parsed."""


class DatabaseError(IonscapeError):
    """A molecular database file is missing, empty or has invalid rows."""


class DatasetError(IonscapeError):
    """An imzML dataset cannot be read or is not suitable for annotation."""


class MissingIbdError(DatasetError):
    """The .ibd file that belongs to an .imzML file is not there."""


class IncompleteIbdError(DatasetError):
    """The .ibd file is shorter than the imzML offsets say, or arrays disagree in length."""


class ProfileModeError(DatasetError):
    """The dataset holds profile (non-centroided) spectra."""


class EmptyDatasetError(DatasetError):
    """The dataset has no spectra, or no peaks with positive intensity."""


class DatasetTooLargeError(DatasetError):
    """The dataset exceeds the pixel limits of the engine."""


class PipelineError(IonscapeError):
    """A pipeline stage failed (a task crashed, storage went away, ...)."""


class StageCancelled(PipelineError):
    """A stage was stopped because a stage running beside it failed."""
