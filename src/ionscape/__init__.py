"""ionscape: spatial metabolomics annotation on Lithops.

``import ionscape`` stays light: the engine (numpy, Lithops, ...) is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ionscape.errors import IonscapeError

__version__ = "0.1.0"
__all__ = [
    "AnnotationConfig",
    "IonscapeError",
    "Results",
    "annotate",
    "example_config",
    "example_dataset",
    "load_moldb",
]

_LAZY = {
    "AnnotationConfig": "ionscape.config",
    "Results": "ionscape.results",
    "annotate": "ionscape.api",
    "example_config": "ionscape.api",
    "example_dataset": "ionscape.api",
    "load_moldb": "ionscape.chem.moldb",
}

if TYPE_CHECKING:
    from ionscape.api import annotate, example_config, example_dataset
    from ionscape.chem.moldb import load_moldb
    from ionscape.config import AnnotationConfig
    from ionscape.results import Results


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ionscape' has no attribute {name!r}")
