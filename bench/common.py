"""Helpers shared by the bench scripts: environment facts, result files, torchvision MNIST offline."""
from __future__ import annotations

import json
import os
import platform
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def machine_kind() -> dict:
    """What decides the speed and the precision gankit picks: the CPU's model and vector/matrix ISA
    flags, whether oneDNN multiplies bfloat16 natively, and a short name ("avx512-bf16", "amx",
    "avx2", "other") for the results tables, which keep one row set per kind."""
    flags, model = set(), platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            elif line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:  # not Linux: the flags stay unknown
        pass
    bf16 = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    kind = ("amx" if "amx_bf16" in flags else "avx512-bf16" if "avx512_bf16" in flags
            else "avx2" if "avx2" in flags else "other")
    return {"kind": kind, "cpu_model": model, "isa": [f for f in ISA_FLAGS if f in flags], "native_bf16": bf16}


def environment() -> dict:
    import torchvision

    return {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "machine_kind": machine_kind(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def kind_line(precision: str) -> str:
    """One line naming the machine kind and the precision, printed above every results table."""
    m = machine_kind()
    return (f"machine kind {m['kind']} ({m['cpu_model']}; ISA {', '.join(m['isa']) or 'unknown'}; native bf16 "
            f"{'yes' if m['native_bf16'] else 'no'}), precision {precision}, {torch.get_num_threads()} threads")


def matmul_ceiling(n: int = 2048, repeats: int = 10, dtype: torch.dtype = torch.float32) -> float:
    """GFLOP/s of an n x n matmul: the machine's practical compute ceiling in that dtype."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def write_results(name: str, data: dict, markdown: str | None = None, folder: Path = RESULTS) -> Path:
    """``folder/name.json`` (and ``.md``); ``folder`` other than bench/results keeps scratch runs apart."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data, indent=2))
    if markdown is not None:
        (folder / f"{name}.md").write_text(markdown)
    print(f"wrote {path}")
    return path


def torchvision_mnist_root(mnist_dir: Path, scratch: Path) -> Path:
    """A folder laid out as torchvision's MNIST expects, filled from the local IDX .gz files, so
    ``torchvision.datasets.MNIST(root, download=True)`` finds them (md5-checked) and never goes online."""
    raw = scratch / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for f in Path(mnist_dir).glob("*.gz"):
        if not (raw / f.name).exists():
            shutil.copy(f, raw / f.name)
    return scratch


def md_table(rows: list[dict], cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def run_jobs(fn, jobs: list[tuple], n: int) -> list:
    """``fn(*job)`` for every job, in order: in this process when n == 1, else n spawned processes
    (one training run each, so their threads do not contend inside one interpreter)."""
    if n == 1 or len(jobs) < 2:
        return [fn(*j) for j in jobs]
    with ProcessPoolExecutor(n, mp_context=get_context("spawn")) as pool:
        return list(pool.map(fn, *zip(*jobs)))


def two_panels():
    """A (figure, (left, right)) pair of axes for a bench's curves, drawn off-screen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, 2, figsize=(10, 4), dpi=100)


def save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def bench_digit_classifier(mnist_root: Path):
    """The digit classifier the MNIST benches score with: trained once (1 epoch, width 16, >= 98% on
    the test split) into bench/results/digit_classifier, then reused. Returns (classifier, its folder)."""
    from gankit.metrics.classifier import train_digit_classifier
    from gankit.nets import load_pretrained

    folder = RESULTS / "digit_classifier"
    if (folder / "config.json").is_file():
        return load_pretrained(folder, "cpu").eval(), folder
    clf, acc = train_digit_classifier(mnist_root, epochs=1, width=16, out_dir=folder)
    print(f"bench digit classifier: test accuracy {acc:.4f} -> {folder}")
    return clf.eval(), folder


def mnist_root_arg(given: Path | None) -> Path:
    """The folder with the MNIST IDX files: --mnist-root, else $GANKIT_DATA/mnist (or ../shared/data/mnist)."""
    from gankit.data import default_data_root

    root = given or (default_data_root() or Path("missing")) / "mnist"
    if not (root / "train-images-idx3-ubyte.gz").is_file():
        raise SystemExit(f"MNIST IDX files not found in {root}; pass --mnist-root or set GANKIT_DATA")
    return root
