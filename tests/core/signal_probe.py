"""OpenVINO inference under the worker's time-limit signals, in a process of its own.

Run as `python -m tests.core.signal_probe BACKEND`; prints one JSON line of counts. A native
crash (the SIGSEGV this guards against) shows as the process's return code, so the test that
runs it fails alone instead of taking pytest down.

The order of events is the one that crashed: engines are made and then released in the order
they were made (not the reverse) and a page time limit (SIGALRM) fires with none alive; then,
on a new engine, the page time limit fires during inference again and again, then Celery's
soft time limit (SIGUSR1, billiard's own handler) does.
"""
from __future__ import annotations

import ctypes
import gc
import json
import os
import signal
import sys
import threading
import time

from billiard.exceptions import SoftTimeLimitExceeded
from billiard.pool import SIG_SOFT_TIMEOUT, soft_timeout_sighandler

from ocrcore import OcrEngine
from tests.core.textimages import LINES, encode, text_image
from worker.processing import PageTimeLimitExceeded, page_time_limit

ROUNDS = 20  # each limit fires this many times
PAGE_LIMIT_S = 0.01  # well inside one run (a run of the page below takes 0.1-0.3 s)


class _Stack(ctypes.Structure):
    _fields_ = [("sp", ctypes.c_void_p), ("flags", ctypes.c_int), ("size", ctypes.c_size_t)]


def signal_stack_is_usable() -> bool:
    """This thread's alternate signal stack is off, or lies in mapped memory."""
    current = _Stack()
    ctypes.CDLL(None, use_errno=True).sigaltstack(None, ctypes.byref(current))
    if not current.sp:
        return True
    with open("/proc/self/maps") as maps:
        for line in maps:
            low, high = (int(bound, 16) for bound in line.split()[0].split("-"))
            if low <= current.sp < high:
                return True
    return False


def main(backend: str) -> dict:
    page = encode(text_image(LINES * 4), "PNG")
    engines = [OcrEngine(threads=2, backend=backend) for _ in range(2)]
    for engine in engines:
        engine.run(page)
    del engine
    engines.pop(0)  # the first made goes first: not the reverse order of creation
    gc.collect()
    engines.pop(0)
    gc.collect()
    counts = {"stack_usable_after_release": signal_stack_is_usable()}
    try:
        with page_time_limit(PAGE_LIMIT_S, "Page 1"):
            time.sleep(1)  # no engine alive: the signal stack is whatever the release left
    except PageTimeLimitExceeded:
        counts["limit_after_release"] = True

    engine = OcrEngine(threads=2, backend=backend)
    counts["lines"] = len(engine.run(page).lines)
    counts["page_limit_hits"] = 0
    for _ in range(ROUNDS):
        try:
            with page_time_limit(PAGE_LIMIT_S, "Page 1"):
                engine.run(page)
        except PageTimeLimitExceeded:
            counts["page_limit_hits"] += 1

    signal.signal(SIG_SOFT_TIMEOUT, soft_timeout_sighandler)  # as billiard's pool child does
    counts["soft_limit_hits"] = 0
    for _ in range(ROUNDS):
        # Sent to the process, as billiard's parent does, while the engine runs.
        timer = threading.Timer(PAGE_LIMIT_S, os.kill, (os.getpid(), SIG_SOFT_TIMEOUT))
        timer.start()
        try:
            engine.run(page)
            time.sleep(1)  # a run that beat the signal waits for it here
        except SoftTimeLimitExceeded:
            counts["soft_limit_hits"] += 1
        timer.join()
    counts["lines_after"] = len(engine.run(page).lines)
    return counts


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
