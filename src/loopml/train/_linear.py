"""A deterministic NumPy linear learner (logistic or squared loss, Adam) whose whole state checkpoints.

The state holds the weights, Adam's moments and step count, the epoch and the RNG state, serialized as
an ``.npz`` archive plus the RNG state as JSON, so a resumed run produces bitwise-identical weights.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any, cast

import numpy as np


@dataclass(frozen=True)
class State:
    """Everything training needs to continue: weights, optimizer moments, counters and the RNG."""

    w: np.ndarray
    m: np.ndarray
    v: np.ndarray
    t: int
    epoch: int
    rng: dict[str, Any]
    loss: float = float("nan")

    @classmethod
    def new(cls, n_features: int, seed: int) -> State:
        size = n_features + 1
        rng = np.random.default_rng(seed)
        # numpy hands out the generator state as a fresh dict (typed as a Mapping)
        state = cast(dict[str, Any], rng.bit_generator.state)
        return cls(np.zeros(size), np.zeros(size), np.zeros(size), 0, 0, state)

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        meta = json.dumps({"t": self.t, "epoch": self.epoch, "rng": self.rng, "loss": self.loss})
        np.savez(buf, w=self.w, m=self.m, v=self.v, meta=np.frombuffer(meta.encode(), dtype=np.uint8))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> State:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            meta = json.loads(arrays["meta"].tobytes().decode())
            return cls(arrays["w"].copy(), arrays["m"].copy(), arrays["v"].copy(), meta["t"], meta["epoch"],
                       meta["rng"], meta["loss"])


def epoch(state: State, X: np.ndarray, y: np.ndarray, hps: dict[str, Any], *, logistic: bool) -> State:
    """One pass over shuffled mini-batches; returns the new state (the input is not modified)."""
    rng = np.random.default_rng()
    rng.bit_generator.state = state.rng
    order = rng.permutation(len(X))
    w, m, v, t = state.w.copy(), state.m.copy(), state.v.copy(), state.t
    lr, l2, size = hps["learning_rate"], hps["l2"], max(1, hps["mini_batch_size"])
    losses = []
    for start in range(0, len(X), size):
        idx = order[start:start + size]
        xb = np.hstack([X[idx], np.ones((len(idx), 1))])
        pred = _predict(xb, w, logistic)
        grad = xb.T @ (pred - y[idx]) / len(idx) + l2 * np.r_[w[:-1], 0.0]
        t += 1
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        w = w - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        losses.append(_loss(pred, y[idx], logistic))
    return State(w, m, v, t, state.epoch + 1, rng.bit_generator.state, float(np.mean(losses)))


def _predict(xb: np.ndarray, w: np.ndarray, logistic: bool) -> np.ndarray:
    z: np.ndarray = xb @ w
    if not logistic:
        return z
    probabilities: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    return probabilities


def _loss(pred: np.ndarray, y: np.ndarray, logistic: bool) -> float:
    if logistic:
        p = np.clip(pred, 1e-12, 1 - 1e-12)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return float(np.mean((pred - y) ** 2))


def to_sklearn(state: State, classes: Any, columns: list[str]) -> Any:
    """The trained weights as a fitted scikit-learn estimator (saved with skops, served as usual)."""
    from sklearn.linear_model import LinearRegression, LogisticRegression

    model = LogisticRegression() if classes is not None else LinearRegression()
    model.coef_ = state.w[:-1].reshape(1, -1) if classes is not None else state.w[:-1].copy()
    model.intercept_ = np.array([state.w[-1]]) if classes is not None else float(state.w[-1])
    model.n_features_in_ = len(columns)
    model.feature_names_in_ = np.array(columns, dtype=object)
    if classes is not None:
        model.classes_ = np.asarray(classes)
    return model
