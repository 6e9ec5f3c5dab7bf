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


def next_commands(run_dir: Path, gen_dir: Path, kind: str | None, data: dict) -> list[str]:
    """What a user runs next on this run's generator, by the kind of generator it is."""
    data_name = data.get("name") or ""
    if kind in ("translate", "upscale"):
        verb = "translate" if kind == "translate" else "upscale"
        use = f"gankit {verb} {gen_dir} INPUT... -o OUT_DIR"
        ev = f"gankit eval {run_dir} --metrics paired,fid --split {data.get('eval_split') or 'val'} -n 100"
    else:
        use = f"gankit sample {gen_dir} -n 64 -o samples.png"
        ev = (f"gankit eval {run_dir} --metrics toy2d -n 2500" if kind == "points" else
              f"gankit eval {run_dir} --metrics mnist-fid,classes -n 2000" if data_name.startswith("mnist") else
              f"gankit eval {run_dir} --metrics fid,kid -n 2000")
    return [use, ev, f"tensorboard --logdir {run_dir / 'tb'}"]


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


def tb_hparams(tb, cfg: dict, final: dict) -> None:
    """Every config key as a hyper-parameter, with the run's final numbers as its metrics. The metric
    names are the scalar tags already logged, whose last values TensorBoard's HPARAMS tab shows."""
    from torch.utils.tensorboard.summary import hparams

    metrics = {k: v for k, v in final.items() if isinstance(v, (int, float)) and math.isfinite(v)}
    if not metrics:
        return
    for summary in hparams(_flat(cfg), metrics):
        tb.file_writer.add_summary(summary)
