"""A self-contained HTML report of a run: curves, samples over time, alarms and config, with every
image embedded (base64) so the file opens offline and can be mailed around."""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from ..errors import GankitError

STEP_AXIS = "step (generator iterations)"

# (title, key prefixes or exact keys, y-axis label with its unit, note); keys a panel lists elsewhere
# by exact name are left out of another panel's prefix (g/psnr is in dB, not a loss term)
PANELS = [
    ("Losses", ["loss/"], "loss (mean over a log interval)", "D and G losses (per log interval means)."),
    ("Discriminator accuracy", ["d/acc_real", "d/acc_fake"], "accuracy (fraction right)",
     "Share of real and fake samples D gets right (logit above or below 0; least squares: the nearer "
     "target). Drifting in a 40-70% band is normal; it is not a convergence test. Both near 100% for "
     "long: D has won. A Wasserstein critic has no verdicts: see its estimate below."),
    ("Discriminator logits", ["d/logit_real_mean", "d/logit_fake_mean"], "D logit (before the sigmoid)",
     "Mean logits (shaded: ± one std)."),
    ("Critic's Wasserstein estimate", ["d/wasserstein_estimate"], "E[D(real)] - E[D(fake)] (critic units)",
     "E[D(x_real)] - E[D(G(z))] of a WGAN critic: it falls as samples improve (Arjovsky et al. 2017, §4)."),
    ("Overfitting signal r_t and augmentation p", ["d/r_t", "aug/p"], "r_t, p (0 to 1)",
     "r_t = E[sign(D(x_real))] over recent real batches (the sign taken on the side of D's verdict): "
     "1 = D overfits, 0 = no overfitting. ADA raises p when r_t is above its target. A WGAN critic has no "
     "verdict, so no r_t."),
    ("BEGAN equilibrium", ["began/k", "began/M_global"], "k_t, M_global",
     "k_t and the convergence measure M_global (falls as quality rises)."),
    ("Generator loss terms", ["g/", "cycle/"], "loss term (mean over a log interval)",
     "The parts of G's objective (pixel, content, cycle, identity and adversarial terms) before weighting."),
    ("Generator PSNR", ["g/psnr"], "PSNR (dB)", "Peak signal-to-noise ratio of G's outputs on training batches."),
    ("Throughput", ["speed/img_per_s"], "training images / second",
     "Real images through the training steps per second of wall time, over each log interval (all processes)."),
    ("Gradient norms", ["grad/"], "L2 norm of the gradient", "Norm of each player's gradient."),
    ("Learning rates", ["lr/"], "learning rate", ""),
    ("Training metric", ["eval/"], "metric value (see legend)",
     "Periodic evaluation; the dashed line marks the best checkpoint."),
]
_EXACT = {k for _, keys, _, _ in PANELS for k in keys if not k.endswith("/")}
BOUNDED = {"Discriminator accuracy", "Overfitting signal r_t and augmentation p"}  # fractions: a 0-1 axis
FROM_ZERO = {"Throughput", "Learning rates"}  # a dip reads as its true size


def duration(seconds: float) -> str:
    """12s, 3m05s, 1h02m03s."""
    s = int(round(max(0.0, seconds)))
    h, m, s = s // 3600, s // 60 % 60, s % 60
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def read_metrics(run_dir: Path) -> tuple[list[dict], list[dict]]:
    logs, alarms = [], []
    path = run_dir / "metrics.jsonl"
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            (alarms if "alarm" in rec else logs).append(rec)
    return logs, alarms


def _series(logs: list[dict], key: str) -> tuple[list[int], list[float]]:
    pts = [(r["step"], r[key]) for r in logs if isinstance(r.get(key), (int, float))]
    return [p[0] for p in pts], [p[1] for p in pts]


def _figure_png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return base64.b64encode(buf.getvalue()).decode()


def _panel(logs: list[dict], keys: list[str], ylabel: str, best_step: int | None, title: str) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def wanted(k: str) -> bool:
        return any(k == p or (p.endswith("/") and k.startswith(p) and k not in _EXACT) for p in keys)

    names = sorted({k for r in logs for k in r if wanted(k)})
    names = [n for n in names if not n.endswith("_std") and n != "eval/best"]
    if not names:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for name in names:
        x, y = _series(logs, name)
        if not x:
            continue
        ax.plot(x, y, label=name, lw=1.4, marker="o" if len(x) <= 12 else None, ms=3)
        std_key = name.replace("_mean", "_std")
        if std_key != name:
            xs, s = _series(logs, std_key)
            if len(xs) == len(x):
                ax.fill_between(x, [a - b for a, b in zip(y, s)], [a + b for a, b in zip(y, s)], alpha=0.2)
    if best_step is not None and any(n.startswith("eval/") for n in names):
        ax.axvline(best_step, ls="--", c="k", lw=1, label=f"best (step {best_step})")
    if title in BOUNDED:
        ax.set_ylim(-0.05, 1.05)
    elif title in FROM_ZERO:
        ax.set_ylim(bottom=0)
    ax.set_xlabel(STEP_AXIS)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    png = _figure_png(fig)
    plt.close(fig)
    return png


def _rendering(png: Path) -> str:
    """Small grids (28 px digits) are enlarged in the page: as sharp pixels, not a blur. Plots are not."""
    from PIL import Image

    with Image.open(png) as im:
        return "pixelated" if im.width < 300 else "smooth"


def _img(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else html.escape(str(v))


def run_summary(run_dir: Path, logs: list[dict], alarms: list[dict]) -> dict:
    """summary.json of a finished run; for one still going (or killed, or resumed since summary.json
    was written), what its logs tell."""
    path = run_dir / "summary.json"
    last_step = max((r["step"] for r in logs), default=0)
    if path.is_file():
        try:
            saved = json.loads(path.read_text())
            if saved.get("steps", -1) >= last_step:
                return saved
        except json.JSONDecodeError:
            pass
    import yaml

    cfg = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    final: dict = {}
    for r in logs:
        final.update({k: v for k, v in r.items() if k not in ("step", "time")})
    times = [r["time"] for r in logs if isinstance(r.get("time"), (int, float))]
    evals = [r for r in logs if "eval/value" in r]
    ev = None if not evals else {"metric": cfg.get("eval", {}).get("metric"), "step": evals[-1]["step"],
                                 "value": evals[-1]["eval/value"], "best": None, "best_step": None,
                                 "values": {k[5:]: v for k, v in evals[-1].items() if k.startswith("eval/") and k != "eval/best"}}
    return {"recipe": cfg.get("recipe"), "data": cfg.get("data", {}).get("name"),
            "steps": last_step, "start_step": 0,
            "wall_time_s": (max(times) - min(times)) if len(times) > 1 else None, "unfinished": True,
            "device": cfg.get("device"), "precision": cfg.get("train", {}).get("precision"),
            "final": {k: v for k, v in final.items() if not k.startswith("eval/")}, "eval": ev,
            "alarms": [{"step": a["step"], "message": a["alarm"]} for a in alarms]}


def _summary_block(s: dict, total_steps) -> str:
    wall = "?" if s.get("wall_time_s") is None else duration(s["wall_time_s"])
    if s.get("unfinished"):
        wall += " (from the log's first to last line: the run has not finished)"
    elif s.get("start_step"):
        wall += f" (the last session, resumed at step {s['start_step']})"
    final = s.get("final", {})
    rows = [("recipe, data", f"{s.get('recipe')} on {s.get('data')}"),
            ("steps", f"{s.get('steps')} of {total_steps}"), ("wall time (training)", wall),
            ("device, precision", f"{s.get('device')}, {s.get('precision')}")]
    if "speed/img_per_s" in final:
        rows.append(("throughput", f"{final['speed/img_per_s']:.0f} img/s (last log interval)"))
    losses = " ".join(f"{k}={_fmt(v)}" for k, v in final.items() if k.startswith("loss/"))
    if losses:
        rows.append(("final losses", losses))
    health = " ".join(f"{k}={_fmt(final[k])}" for k in ("d/acc_real", "d/acc_fake", "d/r_t", "aug/p") if k in final)
    if health:
        rows.append(("final D health", health))
    e = s.get("eval")
    if e:
        extra = " ".join(f"{k}={_fmt(v)}" for k, v in e.get("values", {}).items() if k != "value")
        best = f"; best {_fmt(e['best'])} at step {e['best_step']}" if e.get("best_step") is not None else ""
        rows.append(("final metric", f"{e['metric']} = {_fmt(e['value'])} at step {e['step']}{best}"
                                     + (f" ({extra})" if extra else "")))
    n = len(s.get("alarms", []))
    rows.append(("alarms", "none raised" if not n else f"{n} raised (listed below)"))
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="summary">{cells}</table>'


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``report.html`` (or ``out``) for a run directory and return its path."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise GankitError(f"{run_dir} is not a run directory (no config.yaml)")
    logs, alarms = read_metrics(run_dir)
    best_steps = [r["step"] for r in logs if "eval/best" in r and r.get("eval/value", r["eval/best"]) == r["eval/best"]]
    best_step = best_steps[-1] if best_steps else None
    import yaml

    total = (yaml.safe_load((run_dir / "config.yaml").read_text()) or {}).get("train", {}).get("steps", "?")
    parts = [f"<h1>gankit run: {html.escape(run_dir.name)}</h1>", _summary_block(run_summary(run_dir, logs, alarms), total)]
    if alarms:
        items = "".join(f"<li><b>step {a['step']}</b>: {html.escape(a['alarm'])}</li>" for a in alarms)
        parts.append(f'<h2>Alarms</h2><ul class="alarms">{items}</ul>')
    else:
        parts.append("<h2>Alarms</h2><p>None fired.</p>")
    parts.append('<h2>Curves</h2><div class="plots">')
    for title, keys, ylabel, note in PANELS:
        png = _panel(logs, keys, ylabel, best_step, title)
        if png:
            parts.append(f'<figure class="plot"><figcaption>{html.escape(title)}</figcaption>'
                         f'<img alt="{html.escape(title)}" src="data:image/png;base64,{png}"><p>{html.escape(note)}</p></figure>')
    parts.append("</div>")
    if best_step is not None:
        best = next(r["eval/best"] for r in logs if r["step"] == best_step and "eval/best" in r)
        parts.append(f'<p class="best">Best checkpoint by the training metric: best (step {best_step}), '
                     f"value {best:.4g} (checkpoints/best.pt; exported to generator/).</p>")
    samples = sorted((run_dir / "samples").glob("step-*.png"))
    if samples:
        pick = samples if len(samples) <= 8 else [samples[round(i * (len(samples) - 1) / 7)] for i in range(8)]
        cells = "".join(f'<figure class="sample"><img alt="{p.stem}" class="{_rendering(p)}" src="data:image/png;base64,{_img(p)}">'
                        f"<figcaption>step {int(p.stem.split('-')[1])}</figcaption></figure>" for p in pick)
        parts.append(f'<h2>Samples over time</h2><p class="note">The same fixed noise at each step '
                     f'({len(samples)} grids saved in samples/, {len(pick)} shown).</p><div class="samples">{cells}</div>')
    parts.append(f"<h2>Resolved config</h2><pre class='config'>{html.escape((run_dir / 'config.yaml').read_text())}</pre>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gankit report: {html.escape(run_dir.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #222; }}
.summary {{ border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.95em; }}
.summary th {{ text-align: left; padding: 0.2em 1.2em 0.2em 0; color: #555; font-weight: 600; white-space: nowrap; }}
.summary td {{ padding: 0.2em 0; font-family: ui-monospace, monospace; }}
.plots {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 1em 1.5em; }}
.plot {{ margin: 0; }} .plot figcaption {{ font-weight: 600; }}
.plot img {{ width: 100%; display: block; }} .plot p, .note {{ font-size: 0.85em; color: #555; }}
.samples {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 0.8em; }}
.sample {{ margin: 0; }} .sample img {{ width: 100%; display: block; }} .sample img.pixelated {{ image-rendering: pixelated; }}
.sample figcaption {{ text-align: center; font-size: 0.9em; }}
.alarms li {{ color: #a00; }} pre {{ background: #f4f4f4; padding: 1em; overflow-x: auto; }}
pre.config {{ column-width: 24em; column-rule: 1px solid #ddd; }}
</style></head><body>
{''.join(parts)}
</body></html>
"""
    out = Path(out) if out is not None else run_dir / "report.html"
    out.write_text(page)
    return out
