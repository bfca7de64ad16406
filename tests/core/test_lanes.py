"""Recognition and orientation run their batches on lanes (session.run_in_lanes)."""
import threading
import time

import pytest

from ocrcore import OcrEngine
from ocrcore.session import run_in_lanes
from tests.core.textimages import LINES, encode, text_image


class FakeModel:
    def __init__(self, lanes: int):
        self.lanes = lanes


def test_jobs_run_at_once_on_distinct_lanes_and_come_back_in_order():
    started = threading.Barrier(2, timeout=5)  # both lanes must be inside a job at the same time
    seen = []

    def job(n):
        def run(lane):
            if n < 2:
                started.wait()
            seen.append((n, lane, threading.get_ident()))
            return n * 10

        return run

    assert run_in_lanes(FakeModel(2), [job(n) for n in range(6)]) == [0, 10, 20, 30, 40, 50]
    assert {lane for _, lane, _ in seen} == {0, 1}
    assert {n for n, lane, ident in seen if lane == 0} and all(
        ident == threading.get_ident() for _, lane, ident in seen if lane == 0
    ), "lane 0 is the caller's thread"


def test_one_lane_runs_in_the_caller():
    idents = run_in_lanes(FakeModel(1), [lambda lane: (lane, threading.get_ident())] * 3)
    assert idents == [(0, threading.get_ident())] * 3


def test_an_error_in_a_lane_reaches_the_caller_and_stops_the_others():
    ran = []

    def job(n):
        def run(lane):
            if n == 0:
                raise ValueError("bad batch")
            time.sleep(0.01)
            ran.append(n)
            return n

        return run

    with pytest.raises(ValueError, match="bad batch"):
        run_in_lanes(FakeModel(2), [job(n) for n in range(50)])
    assert len(ran) < 49


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_lanes_read_what_one_call_at_a_time_reads(backend):
    data = encode(text_image(), "PNG")
    laned = OcrEngine(threads=2, backend=backend, lanes=2)
    single = OcrEngine(threads=1, backend=backend)
    assert laned._models(laned.default_model).rec.lanes == 2
    assert single._models(single.default_model).rec.lanes == 1
    a, b = laned.run(data).lines, single.run(data).lines
    assert [line.text for line in a] == [line.text for line in b] == list(LINES)
    assert [line.confidence for line in a] == pytest.approx([line.confidence for line in b], abs=1e-3)


def test_onnxruntime_gets_a_lane_per_thread_and_openvino_one_by_default():
    assert OcrEngine(threads=2, backend="onnxruntime").lanes == 2
    assert OcrEngine(threads=2, backend="openvino").lanes == 1
