"""The contract every model flavor (a row of :data:`loopml.models.FLAVORS`) must honour.

A flavor is exercised through a :class:`FlavorCase`: a fitted model of that flavor, the frame it
predicts on, and whether loading needs ``trust`` (formats that run code). Each check takes the case and
a scratch folder and raises AssertionError on a violation: save detects the flavor and records it, load
predicts exactly what the model predicted, the signature round-trips, and a damaged model file is
refused before a byte is deserialised. ``tests/contract/test_flavors.py`` builds a case per flavor.

Usage: ``from loopml.testing.flavor_contract import CONTRACT, FlavorCase``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loopml import models
from loopml.errors import ArtifactCorrupted, UnsafeModelError


@dataclass(frozen=True)
class FlavorCase:
    """A fitted model of one flavor and what it predicts.

    Attributes:
        flavor: the flavor name under test.
        model: the fitted model, as a user hands it to :func:`loopml.models.save`.
        frame: the input rows (its columns become the signature).
        predict: the model's own predictions on ``frame`` (what a loaded model must return).
        trust: whether loading needs ``trust=True`` (a format that runs code, e.g. pyfunc's pickle).
    """

    flavor: str
    model: Any
    frame: pd.DataFrame
    predict: Callable[[pd.DataFrame], np.ndarray]
    trust: bool = False


Check = Callable[[FlavorCase, Path], None]


class Scaled:
    """A pyfunc model: any object with ``predict(df)`` (importable, so a pickle of it loads anywhere)."""

    def __init__(self, factor: float = 2.0) -> None:
        self.factor = factor

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        scaled: np.ndarray = frame.sum(axis=1).to_numpy() * self.factor
        return scaled


def _save(case: FlavorCase, scratch: Path) -> Path:
    folder = scratch / f"model-{case.flavor}"
    models.save(case.model, folder, input_example=case.frame)
    return folder


def save_detects_the_flavor_and_records_it(case: FlavorCase, scratch: Path) -> None:
    folder = _save(case, scratch)
    info = models.read_info(folder)
    assert info.flavor == case.flavor, f"saved as {info.flavor!r}, not {case.flavor!r}"
    assert info.digest.startswith("sha256:") and (folder / models.MANIFEST).is_file()


def load_predicts_what_the_model_predicted(case: FlavorCase, scratch: Path) -> None:
    loaded = models.load(_save(case, scratch), trust=case.trust)
    assert loaded.flavor == case.flavor
    got, expected = np.asarray(loaded.predict(case.frame)), np.asarray(case.predict(case.frame))
    assert got.shape == expected.shape and np.allclose(got.astype(float), expected.astype(float)), (got, expected)


def the_signature_round_trips(case: FlavorCase, scratch: Path) -> None:
    loaded = models.load(_save(case, scratch), trust=case.trust)
    assert loaded.signature is not None and loaded.signature.names == list(case.frame.columns)
    assert np.allclose(np.asarray(loaded.predict(case.frame[list(reversed(case.frame.columns))]), dtype=float),
                       np.asarray(case.predict(case.frame), dtype=float))  # columns are taken by name


def loading_needs_trust_exactly_when_the_format_runs_code(case: FlavorCase, scratch: Path) -> None:
    folder = _save(case, scratch)
    _, needs_trust = models.check(folder, trust=True)
    assert needs_trust == case.trust, f"{case.flavor}: needs trust {needs_trust}, expected {case.trust}"
    if case.trust:
        try:
            models.load(folder)
        except UnsafeModelError:
            return
        raise AssertionError(f"{case.flavor}: a format that runs code loaded without trust")


def a_damaged_model_file_is_refused_before_loading(case: FlavorCase, scratch: Path) -> None:
    folder = _save(case, scratch)
    model_file = folder / models.read_info(folder).model_file
    model_file.write_bytes(model_file.read_bytes() + b"\x00")
    before = models.deserialization_count()
    try:
        models.load(folder, trust=case.trust)
    except ArtifactCorrupted:
        assert models.deserialization_count() == before, "bytes were deserialised before the check"
        return
    raise AssertionError(f"{case.flavor}: a damaged model file loaded")


CONTRACT: list[Check] = [
    save_detects_the_flavor_and_records_it,
    load_predicts_what_the_model_predicted,
    the_signature_round_trips,
    loading_needs_trust_exactly_when_the_format_runs_code,
    a_damaged_model_file_is_refused_before_loading,
]
"""Every check, in a stable order."""
