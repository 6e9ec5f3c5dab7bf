"""What the papers' benches (lucic_mnist.py, stacked_mnist.py) share: one table row = one training
run of a recipe with a seed, trained in chunks so that a row stops at ``--steps`` or after its
``--budget`` seconds, resumes from its last checkpoint when the bench was killed, and is skipped
once its result JSON exists. Rows run side by side in spawned processes, one torch thread each."""
from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import torch

from common import RESULTS, machine_kind, run_jobs

QUIET = ["train.report=false", "train.progress=false"]


def resolved_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def default_steps(recipe: str, loss: str | None, data: str, overrides: list[str]) -> int:
    import gankit

    return int(gankit.resolve_config(recipe, loss=loss, data=data, overrides=overrides).train.steps)


def train_row(recipe: str, loss: str | None, data: str, overrides: list[str], seed: int, steps: int,
              budget: float | None, chunk: int, device: str, run_dir: Path, mnist_root: str | None,
              config_file: Path | None = None) -> dict:
    """Train (or resume) ``run_dir`` in chunks of ``chunk`` steps until ``steps`` are done or the
    training time passes ``budget`` seconds (checked between chunks: a row overshoots by at most one
    chunk). The training time of earlier, interrupted calls is kept in ``bench_state.json``."""
    import gankit
    from gankit.train.checkpoint import step_checkpoints

    state_path = run_dir / "bench_state.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else {"seconds": 0.0, "step": 0}
    chunk = max(1, min(chunk, steps))
    over = [*overrides, *QUIET, f"train.ckpt_every={chunk}", f"train.sample_every={chunk}",
            f"train.log_every={max(1, min(50, chunk))}"]
    while state["step"] < steps and (budget is None or state["seconds"] < budget):
        target = min(steps, state["step"] + chunk)
        t0 = time.perf_counter()
        if step_checkpoints(run_dir / "checkpoints"):
            gankit.fit(resume=run_dir, steps=target, device=device)
        else:  # a first call, or one killed before its first checkpoint: start again in place
            gankit.fit(recipe, loss=loss, data=data, data_root=mnist_root, steps=target, seed=seed, device=device,
                       out=run_dir, config_file=config_file, overrides=over)
        state = {"seconds": state["seconds"] + time.perf_counter() - t0, "step": target}
        state_path.write_text(json.dumps(state))
    return {"steps": state["step"], "train_seconds": round(state["seconds"], 1), "steps_asked": steps,
            "budget_s": budget, "stopped_by": "steps" if state["step"] >= steps else "budget"}


def where(device: str) -> dict:
    """Where a row was measured: machine kind (CPU ISA) and the device, with the GPU's name on CUDA."""
    m = machine_kind()
    out = {"machine_kind": m["kind"], "cpu_model": m["cpu_model"], "device": device, "threads": torch.get_num_threads()}
    if device.startswith("cuda"):
        out["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return out


def run_rows(worker, specs: list[dict], rows_dir: Path, jobs: int) -> list[dict]:
    """Each spec's cached result from ``rows_dir/<key>.json``, computing only the missing ones with
    ``worker(spec)`` (``jobs`` at a time, one thread each); a worker writes its JSON when done."""
    rows_dir.mkdir(parents=True, exist_ok=True)
    todo = [s for s in specs if not (rows_dir / f"{s['key']}.json").is_file()]
    for s in specs:
        if s not in todo:
            print(f"{s['key']}: done before, skipped ({rows_dir / (s['key'] + '.json')})", flush=True)
    os.environ["OMP_NUM_THREADS"] = "1"  # the spawned rows inherit it
    run_jobs(worker, [(s,) for s in todo], jobs)
    return [json.loads((rows_dir / f"{s['key']}.json").read_text()) for s in specs]


def save_row(spec: dict, result: dict) -> dict:
    row = {**{k: v for k, v in spec.items() if k not in ("overrides", "rows_dir", "runs_dir")}, **result}
    path = Path(spec["rows_dir"]) / f"{spec['key']}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(row, indent=2))
    tmp.replace(path)  # a row killed while writing leaves no half file that would count as done
    return row


def mean_std(values: list[float]) -> str:
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{statistics.fmean(values):.4g} ± {statistics.stdev(values):.2g}"


def results_dir(given: Path | None, name: str) -> Path:
    return given if given is not None else RESULTS / name
