"""Schema-driven fuzzing of the live gateway with schemathesis, from its own /openapi.json.

Every operation of the document, every schemathesis phase (the document's examples, coverage of
each schema's edges, random generation, stateful sequences along the document's links: create a
job, then poll or cancel it), every built-in check but use_after_free (tests/fuzz/schemathesis.toml
says why), plus tests/fuzz/st_hooks.py's own rules on every response.

    python -m tests.fuzz.api_fuzz [--examples 1000] [--seed 12]    # `make fuzz`: its own stack

starts Redis, a worker and the gateway on free loopback ports, fuzzes them, checks the service
is healthy afterwards, and prints the figures. tests/fuzz/test_api_fuzz.py runs the same with
a small fixed budget in `make test`.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
CHECKS = ["--checks", "all", "--exclude-checks", "use_after_free"]


@dataclass
class FuzzRun:
    exit_code: int
    report: dict
    output: str
    seconds: float

    @property
    def operations(self) -> int:
        return self.report["operations"]["tested"]

    @property
    def cases(self) -> int:
        return self.report["test_cases"]["generated"]

    @property
    def failures(self) -> int:
        return self.report["test_cases"]["with_failures"] + self.report["test_cases"]["errored"]

    def summary(self, examples: int, seed: int) -> str:
        filtered = self.report.get("filtered", 0)
        return (f"schemathesis: {self.operations} operations x {examples} examples (seed {seed}): "
                f"{self.cases} test cases, {self.failures} failures, {filtered} content refusals of schema-valid "
                f"files dropped, {self.seconds:.0f} s")


def run(base_url: str, examples: int, seed: int, report_dir: Path, timeout: float = 3600) -> FuzzRun:
    """Fuzz the service at base_url. The document is fetched first and given as a file so its own
    operation (GET /openapi.json) is fuzzed like the others."""
    report_dir.mkdir(parents=True, exist_ok=True)
    document = requests.get(base_url + "/openapi.json", timeout=30)
    document.raise_for_status()
    schema_path = report_dir / "openapi.json"
    schema_path.write_text(json.dumps(document.json()))
    report_path = report_dir / "schemathesis.json"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--no-color", "--config-file", str(CONFIG),
        "run", str(schema_path), "--url", base_url, *CHECKS,
        "--max-examples", str(examples), "--seed", str(seed), "--workers", "1",
        "--request-timeout", "120", "--report", "json", "--report-json-path", str(report_path),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.st_hooks",
           "OCR_FUZZ_DEBUG": str(report_dir / "body-checks.log"),  # st_hooks.body_is_valid's verdicts
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    started = time.monotonic()
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    output = proc.stdout + proc.stderr
    (report_dir / "schemathesis.out").write_text(output)
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return FuzzRun(proc.returncode, report, output, time.monotonic() - started)


def health_problems(stack) -> list[str]:
    """After the fuzzing: ready, the queue drains, a real OCR still reads its text, no crash logged."""
    from tests.conftest import render_text_image
    from tests.service.helpers import b64

    problems = []
    deadline = time.monotonic() + 300
    while stack.redis.llen("ocr") and time.monotonic() < deadline:  # Celery's queue list: the backlog
        time.sleep(0.5)
    if stack.redis.llen("ocr"):
        problems.append(f"{stack.redis.llen('ocr')} jobs still queued 300 s after the fuzzing")
    ready = requests.get(stack.url("/readyz"), timeout=10)
    if ready.status_code != 200:
        problems.append(f"/readyz answered {ready.status_code}: {ready.text}")
    answer = requests.post(stack.url("/ocr"), json={"image": b64(render_text_image(["HELLO FUZZ"]))}, timeout=120)
    words = " ".join(line["text"] for line in answer.json().get("results", [])) if answer.ok else answer.text
    if answer.status_code != 200 or "HELLO" not in words:
        problems.append(f"OCR after the fuzzing answered {answer.status_code}: {words[:200]}")
    for name in ("web", "worker"):
        log = stack.log(name)
        for marker in ("Traceback (most recent call last)", "unhandled error", "Worker exited prematurely"):
            if marker in log:
                start = log.index(marker)
                problems.append(f"{name}.log has {marker!r}: {log[start:start + 1500]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=1000, help="schemathesis --max-examples per operation")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--report-dir", type=Path, default=None)
    args = parser.parse_args(argv)

    from tests.conftest import start_stack

    work = Path(tempfile.mkdtemp(prefix="ocr-api-fuzz-"))
    report_dir = args.report_dir or work / "report"
    stack = start_stack(work / "stack")
    try:
        print(f"fuzzing {stack.base_url} ({args.examples} examples per operation, seed {args.seed}) ...", flush=True)
        result = run(stack.base_url, args.examples, args.seed, report_dir)
        problems = health_problems(stack)
    finally:
        stack.close()
    print(result.output[-6000:])
    print(result.summary(args.examples, args.seed))
    print("service healthy afterwards" if not problems else "\n".join(problems))
    print(f"report: {report_dir}; stack logs: {work / 'stack'}")
    return 0 if result.exit_code == 0 and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
