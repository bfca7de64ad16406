"""The house's layout holds: no import circle, data flows one way (web -> jobs <- worker ->
ocrcore), and the gateway process never loads the OCR engine or the Celery worker."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("ocrcore", "jobs", "web", "worker", "ops", "ocrclient")
# package -> the top-level names it must never import (third-party or ours)
FORBIDDEN = {
    "ocrcore": {"flask", "celery", "redis", "kombu", "jobs", "web", "worker", "ops", "ocrclient", "requests"},
    "jobs": {"flask", "web", "worker", "ops", "onnxruntime", "cv2"},
    "web": {"worker", "ops", "onnxruntime", "cv2"},
    "worker": {"web", "flask"},
    # The client talks HTTP only: nothing of the service's insides but ocrcore's light modules.
    "ocrclient": {"flask", "celery", "redis", "kombu", "jobs", "web", "worker", "ops", "onnxruntime", "cv2"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (REPO / package).rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Product modules `name` imports anywhere in its code, outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text())
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and getattr(block.test, "id", None) == "TYPE_CHECKING" for node in ast.walk(block)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports the module; `from pkg import name` the package's own code.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def all_imports(name: str, path: Path) -> set[str]:
    """Top-level names of everything `name` imports (third-party included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module.split(".")[0])
    return out


def test_no_import_circle_in_the_product():
    modules = product_modules()
    known = set(modules)
    graph = {name: imports_of(name, path, known) for name, path in modules.items()}
    # A package's __init__ is imported with any of its modules; only what it imports itself counts.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert {"jobs.store", "web.routes.ocr", "worker.tasks", "ocrcore.engine"} <= known


def test_data_flows_one_way():
    for name, path in product_modules().items():
        package = name.split(".")[0]
        bad = all_imports(name, path) & FORBIDDEN.get(package, set())
        assert not bad, f"{name} imports {sorted(bad)}"


def test_the_gateway_process_loads_no_engine_and_no_celery_worker():
    code = (
        "import json, sys\n"
        "from web import create_app\n"
        "from jobs.settings import Settings\n"
        "app = create_app(Settings(redis_url='redis://127.0.0.1:9/0'))\n"
        "client = app.test_client()\n"
        "assert client.get('/limits').status_code == 200 and client.get('/models').status_code == 200\n"
        "assert client.post('/ocr', json={'image': 'x'}).status_code == 400\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "web" in loaded and "jobs.store" in loaded and "celery" in loaded  # the check can see modules
    for heavy in ("onnxruntime", "cv2", "pyclipper", "shapely", "onnx", "celery.worker", "worker", "ocrcore.engine"):
        assert heavy not in loaded, f"the gateway loaded {heavy}"


def test_light_ocrcore_modules_load_no_engine():
    code = (
        "import json, sys\n"
        "import ocrcore, ocrcore.limits, ocrcore.formats, ocrcore.registry, ocrcore.document\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout))
    assert not {"onnxruntime", "cv2", "pyclipper", "onnx"} & loaded


def test_the_client_loads_no_engine_and_no_service_code():
    code = (
        "import json, sys\n"
        "import ocrclient, ocrclient.cli\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout))
    assert {"ocrclient.cli", "ocrcore.batch", "requests"} <= loaded
    for heavy in ("onnxruntime", "cv2", "numpy", "PIL", "pypdfium2", "celery", "flask", "redis", "jobs", "web"):
        assert heavy not in loaded, f"the client loaded {heavy}"
