"""When a capture record was served: one public reading (serve.capture.inference_time) that the monitors,
traffic replays and serving advice all use, so a window means the same records to each of them."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import pytest

from loopml.serve import capture


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-28T10:00:00Z", datetime(2026, 11, 28, 10, tzinfo=UTC)),
    ("2026-11-28T12:00:00+02:00", datetime(2026, 11, 28, 10, tzinfo=UTC)),
    ("2026-11-28T10:00:00.250000Z", datetime(2026, 11, 28, 10, 0, 0, 250000, tzinfo=UTC)),
    ("yesterday", None),
    ("", None),
])
def test_inference_time_reads_the_record_time_in_utc(text: str, expected: datetime | None) -> None:
    got = capture.inference_time({"eventMetadata": {"inferenceTime": text}})
    assert got == expected
    assert got is None or got.utcoffset() == timedelta(0)


def test_a_record_without_metadata_has_no_time() -> None:
    assert capture.inference_time({}) is None


def test_monitors_replays_and_advice_read_the_time_the_same_way() -> None:
    from loopml.evaluate import replay
    from loopml.monitor import _capture, advice

    assert not hasattr(replay, "_time"), "replay reads a record's time with serve.capture.inference_time"
    assert _capture.inference_time is capture.inference_time
    assert advice.inference_time is capture.inference_time
    start, end = datetime(2026, 11, 28, 10, tzinfo=UTC), datetime(2026, 11, 28, 11, tzinfo=UTC)
    inside = {"eventMetadata": {"inferenceTime": "2026-11-28T10:30:00Z"}}
    assert _capture.in_window(inside, start, end) and not _capture.in_window(inside, end, end + timedelta(hours=1))


def test_the_docstring_example_holds() -> None:
    found = doctest.DocTestFinder().find(capture.inference_time, "inference_time", globs={"inference_time": capture.inference_time})
    results = [doctest.DocTestRunner().run(test) for test in found]
    assert results and all(r.failed == 0 and r.attempted > 0 for r in results)
