"""Saving and loading fitted recipe pipelines with skops, trusting only known types."""

from __future__ import annotations

from typing import Any

from loopml.data.transformers import TRUSTED_TYPES
from loopml.errors import UnsafeModelError

EXTRA_TRUSTED = ["numpy.dtype"]
"""Types skops does not trust by default that a recipe pipeline legitimately holds."""


def dump_pipeline(pipeline: Any) -> bytes:
    """The pipeline as skops bytes (byte-stable: the same pipeline always gives the same bytes)."""
    import skops.io as sio

    from loopml.core.canonical import canonical_skops

    return canonical_skops(sio.dumps(pipeline))


def load_pipeline(data: bytes) -> Any:
    """A pipeline from skops bytes, refusing any type beyond scikit-learn and :data:`TRUSTED_TYPES`.

    Raises:
        UnsafeModelError: the bytes name a type that is not trusted (nothing is instantiated).
    """
    import skops.io as sio

    untrusted = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES) - set(EXTRA_TRUSTED))
    if untrusted:
        raise UnsafeModelError(
            f"the recipe pipeline holds types that are not trusted: {untrusted}; only scikit-learn and "
            "loopml.data.transformers types load — rebuild the recipe from its YAML", types=untrusted,
        )
    return sio.loads(data, trusted=TRUSTED_TYPES + EXTRA_TRUSTED)
