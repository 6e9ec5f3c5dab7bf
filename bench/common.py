"""Helpers shared by the bench scripts: environment facts, result files, torchvision MNIST offline."""
from __future__ import annotations

import json
import os
import platform
import shutil
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def environment() -> dict:
    import torchvision

    return {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def matmul_ceiling(n: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of an n x n float32 matmul: the machine's practical compute ceiling."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def write_results(name: str, data: dict, markdown: str | None = None) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2))
    if markdown is not None:
        (RESULTS / f"{name}.md").write_text(markdown)
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
