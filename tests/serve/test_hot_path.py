"""The lean request path (issue 16): the checked float block goes to the model when that answers exactly as
the frame does; small fast requests skip the worker thread; slow ones never block the event loop."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx
import numpy as np
import pandas as pd

from loopml.serve import ModelServer, ServerConfig, from_estimator
from loopml.serve._model import ServedModel, array_predict
from loopml.serve._signature import parse_signature
from tests.serve.conftest import FEATURES, SIGNATURE, fitted

COLUMNS = parse_signature(SIGNATURE)
ROW = {"a": 0.5, "b": -1.0, "c": 2.0}


def test_the_block_path_answers_exactly_as_the_frame_path() -> None:
    model, frame = fitted()
    predict = array_predict(model, "predict", COLUMNS)
    assert predict is not None
    assert np.array_equal(predict(frame.to_numpy()), model.predict(frame))
    assert hasattr(model, "feature_names_in_")  # the served copy lost its names, the estimator did not


def test_no_block_path_when_names_differ_or_columns_are_selected_by_name() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model, frame = fitted()
    reordered = parse_signature({"inputs": [{"name": n, "type": "float64"} for n in ["b", "a", "c"]]})
    assert array_predict(model, "predict", reordered) is None
    by_name = make_pipeline(ColumnTransformer([("s", StandardScaler(), ["c", "a"])]), LogisticRegression())
    by_name.fit(frame, (frame["a"] > 0).astype(int))
    assert array_predict(by_name, "predict", COLUMNS) is None
    text = parse_signature({"inputs": [{"name": "a", "type": "string"}]})
    assert array_predict(model, "predict", text) is None


class Where:
    """Records on which thread each predict ran; optionally sleeps (a slow model)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.inner, self.delay, self.threads = fitted()[0], delay, []

    def predict(self, frame: Any) -> Any:
        self.threads.append(threading.current_thread().name)
        if self.delay:
            time.sleep(self.delay)
        return self.inner.predict(frame)


def _post_many(app: ModelServer, n: int, body: bytes) -> list[int]:
    async def go() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return [(await client.post("/invocations", content=body,
                                       headers={"content-type": "application/json"})).status_code
                    for _ in range(n)]

    return asyncio.run(go())


def test_small_fast_requests_run_on_the_event_loop_and_slow_ones_in_the_threads() -> None:
    fast = Where()  # bounds far above a one-row logistic regression however busy the machine is
    app = ModelServer(from_estimator(fast, SIGNATURE, name="churn"),
                      config=ServerConfig(inline_cpu_ms=1000, inline_wall_ms=60_000))
    assert _post_many(app, 20, json.dumps([ROW]).encode()) == [200] * 20
    assert fast.threads[0].startswith("predict") and "MainThread" in fast.threads[1:]
    big = json.dumps([ROW] * 2000).encode()  # over the inline body size: the threads, whatever the model
    before = len(fast.threads)
    assert _post_many(app, 2, big) == [200] * 2
    assert all(t.startswith("predict") for t in fast.threads[before:])
    burning = Where()  # 10 ms of CPU per request, over the default 2 ms: the threads
    burn = ServedModel(name="churn", predict=lambda f: _burn(burning, f), columns=COLUMNS)
    app = ModelServer(burn, config=ServerConfig(inline_wall_ms=60_000))
    assert _post_many(app, 10, json.dumps([ROW]).encode()) == [200] * 10
    assert all(t.startswith("predict") for t in burning.threads)
    waiting = Where(delay=0.05)  # CPU-free waiting (I/O, a lock): the wall-time bound keeps it in the threads
    app = ModelServer(from_estimator(waiting, SIGNATURE, name="churn"), config=ServerConfig())
    assert _post_many(app, 10, json.dumps([ROW]).encode()) == [200] * 10
    assert all(t.startswith("predict") for t in waiting.threads)


def _burn(model: Where, frame: pd.DataFrame) -> Any:
    model.threads.append(threading.current_thread().name)
    end = time.thread_time() + 0.01
    while time.thread_time() < end:
        pass
    return model.inner.predict(frame)


def test_health_answers_while_a_slow_model_holds_every_thread() -> None:
    slow = Where(delay=0.5)
    app = ModelServer(from_estimator(slow, SIGNATURE, name="churn"), config=ServerConfig(max_concurrency=2))

    async def go() -> float:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            busy = [asyncio.ensure_future(client.post("/invocations", json=[ROW])) for _ in range(4)]
            await asyncio.sleep(0.1)
            started = time.perf_counter()
            assert (await client.get("/ping")).status_code == 200
            took = time.perf_counter() - started
            assert [r.status_code for r in await asyncio.gather(*busy)] == [200] * 4
            return took

    assert asyncio.run(go()) < 0.4  # well under one slow prediction (0.5 s): the loop was never blocked
    assert all(t.startswith("predict") for t in slow.threads)
    assert FEATURES == ["a", "b", "c"]
