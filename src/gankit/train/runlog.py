"""What a run tells its user while it trains and when it ends, apart from metrics.jsonl.

Off a terminal (nohup, SLURM, CI, a notebook) tqdm draws no bar, so a plain line goes to stderr
every ``train.log_every`` steps instead. The closing summary gives wall time, final numbers, alarms
and the next commands; ``summary.json`` keeps the same facts for the report. TensorBoard gets what
scalars cannot show: sample grids, the resolved config and the run's hyper-parameters."""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

from ..report import duration

# Health numbers worth a glance in a one-line log, when a recipe logs them (losses always appear)
LINE_KEYS = ("d/acc_real", "d/acc_fake", "d/r_t", "aug/p", "d/wasserstein_estimate", "began/k", "began/M_global",
             "sgan/acc_labelled", "g/psnr")


def headline(logs: dict) -> list[str]:
    """``key=value`` for the losses and the key statistics among ``logs``."""
    keys = [k for k in logs if k.startswith("loss/")] + [k for k in LINE_KEYS if k in logs]
    return [f"{k}={logs[k]:.4g}" for k in keys if isinstance(logs[k], (int, float))]


class Progress:
    """Times this process's share of a run; prints the plain progress line when stderr is not a TTY."""

    def __init__(self, total: int, start_step: int, enabled: bool, stream=None):
        self.total, self.start_step = total, start_step
        self.stream = stream if stream is not None else sys.stderr
        self.plain = enabled and not self.stream.isatty()
        self.t0 = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def eta(self, step: int) -> float | None:
        done = step - self.start_step
        return self.elapsed / done * (self.total - step) if done > 0 else None

    def line(self, step: int, logs: dict) -> str:
        parts = [f"step {step}/{self.total}", *headline(logs)]
        if "speed/img_per_s" in logs:
            parts.append(f"img/s={logs['speed/img_per_s']:.0f}")
        eta = self.eta(step)
        parts.append(f"elapsed={duration(self.elapsed)} eta={'?' if eta is None else duration(eta)}")
        return "gankit: " + " ".join(parts)

    def report(self, step: int, logs: dict) -> None:
        if self.plain:
            print(self.line(step, logs), file=self.stream, flush=True)


def summary_lines(s: dict) -> list[str]:
    """The top of the closing message, from the facts ``summary.json`` holds."""
    resumed = f", resumed at step {s['start_step']}" if s["start_step"] else ""
    lines = [f"gankit: finished {s['recipe']} on {s['data']}: step {s['steps']} in {duration(s['wall_time_s'])}"
             f" ({s['device']}, {s['precision']}{resumed})"]
    final = headline(s["final"])
    if "speed/img_per_s" in s["final"]:
        final.append(f"img/s={s['final']['speed/img_per_s']:.0f}")
    if final:
        lines.append("  final:      " + " ".join(final))
    if s["eval"]:
        e = s["eval"]
        best = f"; best {e['best']:.4g} at step {e['best_step']}" if e.get("best_step") is not None else ""
        extra = " ".join(f"{k}={v:.4g}" for k, v in e["values"].items() if k != "value")
        lines.append(f"  eval:       {e['metric']} = {e['value']:.4g}" + (f" ({extra})" if extra else "")
                     + f" at step {e['step']}{best}")
    if s["alarms"]:
        fired = ", ".join(f"{a['name']} (step {a['step']})" for a in s["alarms"])
        lines.append(f"  alarms:     {len(s['alarms'])} raised: {fired}; see alarms.json")
    else:
        lines.append("  alarms:     none raised")
    return lines


def write_summary(path: Path, s: dict) -> None:
    path.write_text(json.dumps(s, indent=2) + "\n")


# --- TensorBoard entries besides scalars -------------------------------------------------------
def tb_config(tb, yaml_text: str) -> None:
    """The resolved config under TEXT, indented so TensorBoard's markdown keeps it verbatim."""
    tb.add_text("config", "\n".join("    " + line for line in yaml_text.splitlines()), 0)


def tb_samples(tb, png: Path, step: int) -> None:
    """A saved sample grid (or toy scatter plot) under IMAGES, as the PNG the run directory holds."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as im:
        tb.add_image("samples", np.asarray(im.convert("RGB")), step, dataformats="HWC")


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        elif isinstance(v, (bool, int, float, str)):
            out[prefix + k] = v
        else:  # lists and nulls: the hparams plugin takes scalars and strings only
            out[prefix + k] = str(v)
    return out


def tb_hparams_start(tb, cfg: dict) -> None:
    """Every config key as a hyper-parameter, written when the run starts, so that a run stopped
    before its end (killed, out of budget) still shows in TensorBoard's HPARAMS tab."""
    from torch.utils.tensorboard.summary import hparams

    _, start, _ = hparams(_flat(cfg), {})
    tb.file_writer.add_summary(start)


def tb_hparams_end(tb, cfg: dict, final: dict) -> None:
    """The run's final numbers as the metrics of its hyper-parameters. The metric names are the scalar
    tags already logged, whose last values TensorBoard's HPARAMS tab shows."""
    from torch.utils.tensorboard.summary import hparams

    metrics = {k: v for k, v in final.items() if isinstance(v, (int, float)) and math.isfinite(v)}
    if not metrics:
        return
    experiment, _, end = hparams(_flat(cfg), metrics)
    for summary in (experiment, end):
        tb.file_writer.add_summary(summary)


class RunLog:
    """metrics.jsonl, alarms.json and TensorBoard of one run, written by the main process: rows
    appended as they come, each step once even across resumes and rollbacks (``truncate``)."""

    def __init__(self, run_dir: Path, alarms, enabled: bool):
        self.run_dir, self.alarms, self.enabled = run_dir, alarms, enabled
        self.path = run_dir / "metrics.jsonl"
        self.tb = None
        self.final: dict[str, float] = {}  # the last value of every key logged by this process
        self.eval_step: int | None = None

    def log(self, logs: dict, step: int) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps({"step": step, "time": time.time(), **logs}) + "\n")
        self.final.update(logs)
        if "eval/value" in logs:
            self.eval_step = step
        if self.tb is not None:
            for k, v in logs.items():
                if isinstance(v, (int, float)) and math.isfinite(v):
                    self.tb.add_scalar(k, v, step)

    def alarm(self, message: str, step: int) -> None:
        if not self.enabled:
            return
        from tqdm.auto import tqdm

        tqdm.write(f"gankit: ALARM: {message}")
        with open(self.path, "a") as f:
            f.write(json.dumps({"step": step, "time": time.time(), "alarm": message}) + "\n")
        self.write_alarms()

    def alarm_records(self) -> list[dict]:
        return sorted(({"name": k, **v} for k, v in self.alarms.fired.items()), key=lambda a: a["step"])

    def write_alarms(self) -> None:
        """alarms.json: the alarms fired so far, oldest first (an empty list while none has)."""
        (self.run_dir / "alarms.json").write_text(json.dumps(self.alarm_records(), indent=2) + "\n")

    def truncate(self, step: int, keep_alarms: bool = False) -> None:
        """Drop what was logged after ``step``, which a resume or rollback computes again, and a row
        a kill cut short: the log then holds each step once, as an uninterrupted run's does."""
        if self.path.is_file():
            kept = []
            for line in self.path.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if row.get("step", 0) <= step or (keep_alarms and "alarm" in row):
                    kept.append(line + "\n")
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text("".join(kept))
            tmp.replace(self.path)
        if (self.run_dir / "alarms.json").is_file() and not keep_alarms:
            self.write_alarms()

    def open_tb(self, step: int) -> None:
        """TensorBoard hides the events of steps after ``step`` that an earlier process wrote."""
        from torch.utils.tensorboard import SummaryWriter

        self.close()
        tb_dir = self.run_dir / "tb"
        self.tb = SummaryWriter(str(tb_dir), purge_step=step + 1 if tb_dir.is_dir() else None)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
