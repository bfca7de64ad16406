"""The tables and plots of docs/PERFORMANCE.md (and README's headline figures), from saved results.

    python -m bench.report                       # rewrite every marked block and plot from bench/results/*.json
    python -m bench.report --run sroie documents # run those benchmarks first (their saved command), then rewrite
    python -m bench.report --check --no-plots    # exit 1 if a marked block differs from what the results give

Each benchmark saves its figures (bench/results.py). A section here turns one or more saved
results into markdown, and optionally a PNG plot (matplotlib, the `bench` extra), and owns the
block between `<!-- report:NAME -->` and `<!-- /report:NAME -->` in the documents of DOCUMENTS.
Only those blocks are rewritten: the prose around them (the method, why the defaults are what
they are) is written by hand. Every block states the machine its figures came from.

Adding a benchmark: make it call `results.save(NAME, figures, args.json)` (with
`results.json_option(parser, NAME)`), write a function `(docs: list[dict]) -> str` below,
decorated with `@section(NAME, results=[NAME], run=[...])` (and `plot=` if it draws one), and
put the two markers where its block goes in docs/PERFORMANCE.md.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import results
from .runners import FASTER_PADDLE_SIZES

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [REPO / "docs" / "PERFORMANCE.md", REPO / "README.md"]
PLOTS = REPO / "docs" / "img"
BLOCK = re.compile(r"(<!-- report:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /report:(?P=name) -->)", re.S)

Doc = dict[str, Any]


@dataclass
class Section:
    name: str
    results: list[str]  # saved results it reads, in order (bench/results/<name>.json)
    run: list[list[str]]  # the commands that produce them (python -m ...), for --run
    render: Callable[[list[Doc | None]], str]  # one entry per result, None where it is not saved
    plot: Callable[[list[Doc], Any], None] | None = None  # draws the saved ones on a matplotlib Figure


SECTIONS: dict[str, Section] = {}


def section(name: str, *, results: list[str], run: list[list[str]],
            plot: Callable[[list[Doc], Any], None] | None = None):
    """Register a render function for the block `name` (left as it is while none of its results is saved)."""
    def register(render: Callable[[list[Any]], str]) -> Callable[[list[Any]], str]:
        SECTIONS[name] = Section(name, results, run, render, plot)
        return render
    return register


# ---------------------------------------------------------------- formatting

def num(value: Any, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def provenance(doc: Doc) -> str:
    """Where a figure came from: the machine, the date, the command, and whether it was run or seeded."""
    m = doc["machine"]
    where = f"{m['date']} on {m['cpu']}, {m['cores']} cores" + (f", load {m['load']}" if m.get("load") else "")
    if doc.get("source", "run") == "run":
        line = f"Measured {where}: `{doc['command']}`."
    else:
        line = f"Recorded {where}, {doc['source']}; `{doc['command']}` measures it again."
    if doc.get("note"):
        line += f" {doc['note']}"
    return f"*{line}*"


PEER_NAMES = {"rapidocr": "RapidOCR 3.10", "faster-paddle": "faster-paddle 1.0.4"}
PEERS = tuple(PEER_NAMES)


def is_ours(kind: str) -> bool:
    return kind == "ours" or kind.startswith("ours-")


def engine_label(kind: str, model: str | None = None) -> str:
    """"ours" is onnxruntime, "ours-<backend>" another backend; a peer by its name (bench/runners.py),
    faster-paddle with the bundled model it ran (it has no v5 model: "tiny" stands in)."""
    if is_ours(kind):
        return "ours, " + (kind.split("-", 1)[1] if "-" in kind else "onnxruntime")
    label = PEER_NAMES.get(kind, kind)
    if kind == "faster-paddle" and model:
        size = FASTER_PADDLE_SIZES.get(model, "small")
        label += f" ({size}" + (", its own model, not this set" if not model.endswith(size) else "") + ")"
    return label


def times(value: float | None) -> str:
    return f"**{value:.2f}x**" if value else ""


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


# ---------------------------------------------------------------- sections

def _plot_receipts(docs: list[Doc], fig: Any) -> None:
    figures = docs[0]["figures"]["models"]
    axes = fig.subplots(1, 2)
    models = list(figures)
    kinds = list(dict.fromkeys(k for m in models for k in figures[m]))
    width = 0.8 / len(kinds)
    for i, kind in enumerate(kinds):
        xs = [n + i * width for n in range(len(models))]
        axes[0].bar(xs, [figures[m].get(kind, {}).get("img_per_s", 0) for m in models], width, label=engine_label(kind))
        axes[1].bar(xs, [figures[m].get(kind, {}).get("word_f1", 0) for m in models], width, label=engine_label(kind))
    for ax, title in zip(axes, ("receipts per second (higher is better)", "word F1 (higher is better)"), strict=True):
        ax.set_xticks([n + width * (len(kinds) - 1) / 2 for n in range(len(models))], models)
        ax.set_title(title, fontsize=10)
    axes[1].set_ylim(0.5, 1.0)
    axes[1].legend(fontsize=8, loc="upper right")


@section("receipts", results=["sroie"], run=[["bench.sroie", "--backends", "onnxruntime", "openvino-bf16"]],
         plot=_plot_receipts)
def receipts(docs: list[Doc]) -> str:
    doc = docs[0]
    out = []
    for model, kinds in doc["figures"]["models"].items():
        rows = []
        for kind, f in kinds.items():
            stages = " / ".join(num(f.get(f"{s}_s")) for s in ("det", "cls", "rec")) if "det_s" in f else ""
            against = ["1" if kind == peer else times(ratio(f.get("img_per_s"), kinds.get(peer, {}).get("img_per_s")))
                       for peer in PEERS]
            rows.append([f"{model}, {engine_label(kind, model)}", num(f.get("det_f1"), 4), num(f.get("word_f1"), 4),
                         num(f.get("cer"), 4), num(f.get("median_s")), num(f.get("img_per_s")), *against,
                         stages, num(f.get("peak_rss_mb"), 0) + " MB" if f.get("peak_rss_mb") else ""])
        out.append(table(["receipts", "det F1", "word F1", "CER", "median s/img", "img/s", "x RapidOCR",
                          "x faster-paddle", "det / cls / rec s", "peak RSS"], rows))
    meta = doc["figures"]
    return (f"{meta['images']} receipts, {meta['threads']} threads.\n\n" + "\n\n".join(out)
            + f"\n\n![receipts per second and word F1 by engine](img/perf-receipts.png)\n\n{provenance(doc)}\n")


def _plot_pages(docs: list[Doc], fig: Any) -> None:
    figures = docs[0]["figures"]["models"]
    ax = fig.subplots()
    labels, bottoms = [], []
    rows = [(model, kind, f) for model, kinds in figures.items() for kind, f in kinds.items() if f.get("det_s")]
    for model, kind, _ in rows:
        labels.append(f"{model}\n{engine_label(kind)}")
        bottoms.append(0.0)
    for stage in ("det", "cls", "rec"):
        values = [f.get(f"{stage}_s", 0.0) for _, _, f in rows]
        ax.barh(labels, values, left=bottoms, label=stage)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("seconds per A4 page (lower is better)")
    ax.legend(fontsize=8)


@section("pages", results=["documents"], run=[["bench.documents", "--backends", "onnxruntime", "openvino-bf16"]],
         plot=_plot_pages)
def pages(docs: list[Doc]) -> str:
    doc = docs[0]
    meta = doc["figures"]
    rows = []
    for model, kinds in meta["models"].items():
        for kind, f in kinds.items():
            against = ["1" if kind == peer else times(ratio(kinds.get(peer, {}).get("total_s"), f.get("total_s")))
                       for peer in PEERS]
            rows.append([f"{model}, {engine_label(kind, model)}", num(f.get("zh_cer"), 4), num(f.get("en_cer"), 4),
                         num(f.get("en_word_f1"), 4), num(f.get("total_s")), *against,
                         num(f.get("peak_rss_mb"), 0) + " MB" if f.get("peak_rss_mb") else ""])
    head = ["A4 pages", "zh page CER", "en page CER", "en word F1", "s/page", "x RapidOCR", "x faster-paddle",
            "peak RSS"]
    return (f"{meta['pages']['zh']} Chinese pages ({meta['chars']['zh']:,} characters) and {meta['pages']['en']} "
            f"English ({meta['chars']['en']:,}), {meta['threads']} threads.\n\n" + table(head, rows)
            + f"\n\n![seconds per page by stage and backend](img/perf-pages.png)\n\n{provenance(doc)}\n")


def _plot_memory(docs: list[Doc], fig: Any) -> None:
    ax = fig.subplots()
    for backend, marks in docs[0]["figures"]["rss_mib"].items():
        runs = sorted(int(r) for r in marks)
        ax.plot(runs, [marks[str(r)] for r in runs], marker="o", label=backend)
    ax.set_xlabel("runs")
    ax.set_ylabel("RSS, MiB")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)


@section("memory", results=["memory"], run=[["bench.memory"]], plot=_plot_memory)
def memory(docs: list[Doc]) -> str:
    doc = docs[0]
    rows = []
    for backend, marks in doc["figures"]["rss_mib"].items():
        runs = sorted(int(r) for r in marks)
        first, last = marks["30"], marks[str(runs[-1])]
        rows.append([backend, f"{first:.1f}", ", ".join(f"{marks[str(r)]:.1f} ({r})" for r in runs if r > 30),
                     f"{last / first - 1:+.1%}"])
    return (f"{doc['figures']['runs']} runs over sroie-dev receipts rescaled 0.4-1.6x, each backend in a process "
            f"of its own.\n\n" + table(["backend", "RSS after 30 runs, MiB", "later (run)", "growth"], rows)
            + f"\n\n![RSS over runs by backend](img/perf-memory.png)\n\n{provenance(doc)}\n")


@section("service-overhead", results=["service_overhead"], run=[["bench.service_overhead"]])
def service_overhead(docs: list[Doc]) -> str:
    doc = docs[0]
    rows = [[name, num(f["inproc_ms"], 1), num(f["worker_ms"], 1), num(f["json_ms"], 1),
             num(f.get("multipart_ms"), 1), f"**{f['transport_ms']:.1f}**"]
            for name, f in doc["figures"]["images"].items()]
    head = ["image", "in-process ms", "job's processing_time ms", "/ocr JSON ms", "/ocr form ms",
            "transport ms (round trip - job time)"]
    return f"{table(head, rows)}\n\n{provenance(doc)}\n"


THROUGHPUT = ["service_throughput-openvino-bf16-2x1", "service_throughput-openvino-bf16-1x2",
              "service_throughput-onnxruntime-2x1", "service_throughput-onnxruntime-1x2"]


def _plot_throughput(docs: list[Doc], fig: Any) -> None:
    ax = fig.subplots()
    labels = [f"{d['figures']['backend']}\n{d['figures']['layout']}" for d in docs]
    ax.bar([n - 0.2 for n in range(len(docs))], [d["figures"]["service_rps"] for d in docs], 0.4, label="service")
    ax.bar([n + 0.2 for n in range(len(docs))], [d["figures"]["peer_rps"] for d in docs], 0.4,
           label="RapidOCR 3.10 in-process")
    ax.set_xticks(range(len(docs)), labels, fontsize=8)
    ax.set_ylabel("receipts per second")
    ax.set_xlabel("backend, children x threads")
    ax.legend(fontsize=8)


@section("service-throughput", results=THROUGHPUT,
         run=[["bench.service_throughput", "--cores-per-group", "1"],
              ["bench.service_throughput", "--cores-per-group", "2"]], plot=_plot_throughput)
def service_throughput(saved: list[Doc | None]) -> str:
    docs = [d for d in saved if d]
    rows = []
    for doc in docs:
        f = doc["figures"]
        native = f.get("peers", {}).get("faster-paddle")
        pdf = f.get("pdf") or {}
        cold = (f"{pdf['service_s']:.1f} s: " + ", ".join(
            f"{pdf[peer + '_s'] / pdf['service_s']:.2f}x {peer}" for peer in PEERS if pdf.get(peer + "_s"))
            if pdf.get("service_s") else "")
        rows.append([f"{f['layout']} on {f['backend']}", num(f["service_rps"]), num(f["peer_rps"]),
                     f"**{f['ratio']:.2f}x**", num(native["rps"]) if native else "",
                     times(native["ratio"]) if native else "", cold, f"{f['p50_s']:.2f} s"])
    head = ["children x threads", "service receipts/s", "RapidOCR receipts/s", "x RapidOCR",
            "faster-paddle receipts/s", "x faster-paddle", "8-page scan through /ocr, cold", "one client p50"]
    f = docs[0]["figures"]
    lines = [f"{f['receipts']} receipts, {f['clients']} clients sending sync `POST /ocr`, against the peers "
             f"in-process in alternating phases; the scan's column is the service's time and each peer's "
             f"on the same page images (a ratio above 1: the service is faster).", "", table(head, rows), "",
             "![receipts per second by backend and worker layout](img/perf-service-throughput.png)", ""]
    lines += [f"- {doc['figures']['layout']} on {doc['figures']['backend']}: {provenance(doc)}" for doc in docs]
    return "\n".join(lines) + "\n"


FANOUT = ["fanout-onnxruntime", "fanout-openvino-bf16"]


@section("fanout", results=FANOUT, run=[["bench.fanout"]])
def fanout(saved: list[Doc | None]) -> str:
    docs = [d for d in saved if d]
    head = [""] + [d["figures"]["backend"] for d in docs]
    pages = docs[0]["figures"]["pages"]
    rows_spec = [
        ("step 0: two engines at once vs one", lambda f: f"{f['parallel_ceiling']:.2f}x"),
        (f"{pages}-page scan, one task, median", lambda f: f"{f['one_task_s']:.1f} s"),
        (f"{pages}-page scan, page tasks, median", lambda f: f"{f['page_tasks_s']:.1f} s"),
        ("speed-up (target 1.8x)", lambda f: f"**{f['speedup']:.2f}x**"),
        ("sync `/ocr` of a receipt, p50, idle", lambda f: f"{f['sync_idle_s']:.2f} s"),
        (f"the same during a {docs[0]['figures']['big']}-page job", lambda f: f"{f['sync_busy_s']:.2f} s"),
        ("ratio (target within 2x)", lambda f: f"**{f['sync_ratio']:.2f}x**"),
        ("two scans together: pages done when the first finished",
         lambda f: " / ".join(str(n) for n in f["pages_at_first_finish"])),
    ]
    rows = [[label] + [get(d["figures"]) for d in docs] for label, get in rows_spec]
    lines = [table(head, rows), ""] + [f"- {d['figures']['backend']}: {provenance(d)}" for d in docs]
    return "\n".join(lines) + "\n"


_LAYOUT_ROWS = [("English, rendered", "en all rendered pixels"), ("Chinese, rendered", "zh all rendered pixels"),
                ("English PDFs, pixels", "en all pdf pixels"), ("English PDFs, text layer", "en all pdf text"),
                ("Chinese PDFs, pixels", "zh all pdf pixels"), ("Chinese PDFs, text layer", "zh all pdf text")]
_TEST_NAMES = {"present": "passage present", "absent": "header/footer absent", "order": "passage order",
               "table": "table neighbours", "all": "all"}


def _share(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


@section("layout", results=["layout"], run=[["bench.layout"]])
def layout(docs: list[Doc]) -> str:
    """bench.layout: synthetic pages by language and way of reading, each page's worst order
    distance, the real pages' unit tests, and the layout's cost on receipts."""
    doc = docs[0]
    figures = doc["figures"]
    out = []
    for model, summary in figures["summary"].items():
        synthetic = summary.get("synthetic", {})
        rows = []
        for label, key in _LAYOUT_ROWS:
            row = synthetic.get(key)
            if not row:
                continue
            peer = row.get("tesseract_order_ed_mean") if key.endswith("pixels") else row.get("pdftotext_order_ed_mean")
            true_ed = row.get("true_text_order_ed_mean")
            true = "" if true_ed is None else (f"{true_ed:.3f} / {row['true_text_order_ed_max']:.3f}; "
                                               f"{num(row['true_text_heading_f1'], 2)}, {num(row['true_text_list_f1'], 2)}")
            rows.append([f"{label} ({row['pages']})", f"{row['order_ed_mean']:.3f} / {row['order_ed_max']:.3f}",
                         true, num(peer), num(row["heading_f1"], 2), num(row["list_f1"], 2),
                         num(row["ruled_cell_f1"], 2), num(row["borderless_cell_f1"], 2), num(row["teds"], 2),
                         _share(row["layout_share"])])
        if rows:
            out.append(f"{model}, rendered pages and born-digital PDFs:\n\n" + table(
                ["pages", "order ED mean / worst page", "true text under our boxes: order ED; heading, list F1",
                 "Tesseract or pdftotext", "heading F1", "list F1",
                 "ruled cell F1", "borderless cell F1", "TEDS", "layout share"], rows))
        real = summary.get("real")
        if real:
            columns = ["ours pixels", "ours pdf", "tesseract", "pdftotext"]
            rows = [[_TEST_NAMES[kind], str(rates["tests"])] + [_share(rates.get(c)).replace(".0%", "%")
                                                                 for c in columns]
                    for kind, rates in real.items()]
            out.append(f"{model}, real pages, share of the unit tests passed:\n\n" + table(
                ["test", "tests", "ours, pixels", "ours, PDF", "Tesseract", "pdftotext"], rows))
    for model, cost in figures.get("receipts", {}).items():
        out.append(f"On {cost['receipts']} sroie-dev receipts ({model}) the layout (rulings, bullet marks, blocks) "
                   f"takes {1000 * cost['layout_s']:.1f} ms of {cost['read_s']:.2f} s a receipt, "
                   f"{100 * cost['layout_share']:.2f}%.")
    return "\n\n".join(out) + f"\n\n{provenance(doc)}\n"


@section("headline", results=["sroie", "documents", "service_throughput-openvino-bf16-2x1",
                              "service_throughput-onnxruntime-2x1", *FANOUT, "service_overhead", "memory"],
         run=[])
def headline(docs: list[Doc | None]) -> str:
    """README's short table: one figure per benchmark, each linked to its block in PERFORMANCE.md;
    of a benchmark saved per backend, the latest run."""
    sroie, documents, throughput_ov, throughput_ort, fan_ort, fan_ov, overhead, mem = docs
    throughput, fan = _latest(throughput_ov, throughput_ort), _latest(fan_ort, fan_ov)
    link = "docs/PERFORMANCE.md#"
    rows = []
    if sroie:
        v6 = sroie["figures"]["models"]["ppocrv6-small"]
        best = max((k for k in v6 if is_ours(k)), key=lambda k: v6[k]["img_per_s"])
        peer, native = v6["rapidocr"], v6.get("faster-paddle")
        rows.append([f"[Receipts]({link}receipts-sroie-dev)",
                     f"{v6[best]['img_per_s'] / peer['img_per_s']:.2f}x RapidOCR 3.10's speed"
                     + (f", {v6[best]['img_per_s'] / native['img_per_s']:.2f}x faster-paddle's" if native else "")
                     + f"; word F1 {v6[best]['word_f1']:.3f} against {peer['word_f1']:.3f}"
                     + (f" and {native['word_f1']:.3f}" if native else ""),
                     f"{engine_label(best)}, {sroie['machine']['date'][:10]}"])
    if documents:
        v6 = documents["figures"]["models"]["ppocrv6-small"]
        best = min((k for k in v6 if is_ours(k) and v6[k].get("total_s")), key=lambda k: v6[k]["total_s"])
        native = v6.get("faster-paddle")
        rows.append([f"[A4 pages]({link}a4-pages)", f"{v6['rapidocr']['total_s'] / v6[best]['total_s']:.2f}x "
                     "RapidOCR 3.10's speed"
                     + (f", {native['total_s'] / v6[best]['total_s']:.2f}x faster-paddle's" if native else "")
                     + f"; English page CER {v6[best]['en_cer']:.4f} against {v6['rapidocr']['en_cer']:.4f}",
                     f"{engine_label(best)}, {documents['machine']['date'][:10]}"])
    if throughput:
        f = throughput["figures"]
        rows.append([f"[Service throughput]({link}service-throughput)", f"{f['service_rps']:.2f} receipts/s on "
                     f"{throughput['machine']['cores']} cores, {f['ratio']:.2f}x RapidOCR in-process"
                     + (f", {f['peers']['faster-paddle']['ratio']:.2f}x faster-paddle"
                        if "faster-paddle" in f.get("peers", {}) else ""),
                     f"{f['backend']}, {f['children']} children x {f['threads']} thread(s), "
                     f"{throughput['machine']['date'][:10]}"])
    if fan:
        f = fan["figures"]
        rows.append([f"[Long documents]({link}long-documents-page-tasks)", f"a {f['pages']}-page scan "
                     f"{f['speedup']:.2f}x faster as page tasks; a sync call beside a {f['big']}-page job "
                     f"{f['sync_ratio']:.2f}x its idle latency", f"{f['backend']}, {fan['machine']['date'][:10]}"])
    if overhead:
        f = overhead["figures"]["images"]
        spent = sorted(v["transport_ms"] for v in f.values())
        rows.append([f"[Service overhead]({link}service-overhead)",
                     f"{spent[0]:.0f}-{spent[-1]:.0f} ms added to a sync request (HTTP, Redis, Celery)",
                     overhead["machine"]["date"][:10]])
    if mem:
        marks = mem["figures"]["rss_mib"]
        rows.append([f"[Memory]({link}memory)", "; ".join(
            f"{b} {m['30']:.0f} -> {m[str(max(int(r) for r in m))]:.0f} MiB over {max(int(r) for r in m)} runs"
            for b, m in marks.items()), mem["machine"]["date"][:10]])
    return table(["", "figure", "measured"], rows) + "\n"


def _latest(*docs: Doc | None) -> Doc | None:
    return max((d for d in docs if d), key=lambda d: d["machine"]["date"], default=None)


# ---------------------------------------------------------------- the driver

def render(name: str, directory: Path) -> str | None:
    """The markdown of block `name` from the results in `directory`, or None if required results are missing."""
    spec = SECTIONS[name]
    docs = [results.load(r, directory) for r in spec.results]
    return None if all(d is None for d in docs) else spec.render(docs)


def draw(name: str, directory: Path, out: Path) -> Path | None:
    spec = SECTIONS[name]
    if spec.plot is None:
        return None
    docs = [d for d in (results.load(r, directory) for r in spec.results) if d is not None]
    if not docs:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.6), layout="constrained")
    spec.plot(docs, fig)
    m = docs[0]["machine"]
    fig.suptitle(f"{m['cpu']}, {m['cores']} cores, {m['date'][:10]}", fontsize=8, color="#555")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"perf-{name}.png"
    fig.savefig(path, dpi=110, metadata={"Software": None})
    return path


def rewrite(text: str, directory: Path, unknown: list[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in SECTIONS:
            unknown.append(name)
            return match[0]
        body = render(name, directory)
        return match[0] if body is None else f"{match[1]}{body}{match[4]}"
    return BLOCK.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", nargs="+", default=[], metavar="SECTION", choices=sorted(SECTIONS),
                        help="run the benchmarks of these sections first (their results are saved, then reported)")
    parser.add_argument("--results", type=Path, default=results.RESULTS, help="the saved results (bench/results)")
    parser.add_argument("--docs", type=Path, nargs="+", default=DOCUMENTS, help="the documents with marked blocks")
    parser.add_argument("--plots", type=Path, default=PLOTS, help="where the PNG plots go (docs/img)")
    parser.add_argument("--no-plots", action="store_true", help="markdown only (no matplotlib needed)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a block is out of date")
    args = parser.parse_args(argv)

    for name in args.run:
        for command in SECTIONS[name].run:
            print(f"bench.report: python -m {' '.join(command)}", flush=True)
            subprocess.run([sys.executable, "-m", *command], cwd=REPO, check=True)
    stale, unknown = [], []
    for doc in args.docs:
        before = doc.read_text(encoding="utf-8")
        after = rewrite(before, args.results, unknown)
        if after != before:
            stale.append(doc)
            if not args.check:
                doc.write_text(after, encoding="utf-8")
    if unknown:
        print(f"bench.report: no section registered for blocks {sorted(set(unknown))}", file=sys.stderr)
        return 1
    if args.check:
        for doc in stale:
            print(f"bench.report: {doc} is out of date with {args.results}; run python -m bench.report",
                  file=sys.stderr)
        return 1 if stale else 0
    if not args.no_plots:
        for name in SECTIONS:
            path = draw(name, args.results, args.plots)
            if path:
                print(f"bench.report: wrote {path}")
    for doc in stale:
        print(f"bench.report: rewrote the marked blocks of {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
