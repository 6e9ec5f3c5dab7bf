"""A self-contained HTML report of a run: curves, samples over time, alarms and config, with every
image embedded (base64) so the file opens offline and can be mailed around."""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from ..errors import GankitError

# (title, key prefixes or exact keys, note)
PANELS = [
    ("Losses", ["loss/"], "D and G losses (per log interval means)."),
    ("Discriminator accuracy", ["d/acc_real", "d/acc_fake"],
     "Share of real and fake samples D gets right (logit above or below 0; least squares: the nearer "
     "target). Drifting in a 40-70% band is normal; it is not a convergence test. Both near 100% for "
     "long: D has won. A Wasserstein critic has no verdicts: see its estimate below."),
    ("Discriminator logits", ["d/logit_real_mean", "d/logit_fake_mean"], "Mean logits (shaded: ± one std)."),
    ("Critic's Wasserstein estimate", ["d/wasserstein_estimate"],
     "E[D(x_real)] - E[D(G(z))] of a WGAN critic: it falls as samples improve (Arjovsky et al. 2017, §4)."),
    ("Overfitting signal r_t and augmentation p", ["d/r_t", "aug/p"],
     "r_t = E[sign(D(x_real))] over recent real batches (the sign taken on the side of D's verdict): "
     "1 = D overfits, 0 = no overfitting. ADA raises p when r_t is above its target. A WGAN critic has no "
     "verdict, so no r_t."),
    ("BEGAN equilibrium", ["began/k", "began/M_global"], "k_t and the convergence measure M_global (falls as quality rises)."),
    ("Gradient norms", ["grad/"], "Norm of each player's gradient."),
    ("Learning rates", ["lr/"], ""),
    ("Training metric", ["eval/"], "Periodic evaluation; the dashed line marks the best checkpoint."),
]


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


def _panel(logs: list[dict], keys: list[str], best_step: int | None) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({k for r in logs for k in r if any(k == p or (p.endswith("/") and k.startswith(p)) for p in keys)})
    names = [n for n in names if not n.endswith("_std") and n != "eval/best"]
    if not names:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    for name in names:
        x, y = _series(logs, name)
        if not x:
            continue
        ax.plot(x, y, label=name, lw=1.2)
        std_key = name.replace("_mean", "_std")
        if std_key != name:
            xs, s = _series(logs, std_key)
            if len(xs) == len(x):
                ax.fill_between(x, [a - b for a, b in zip(y, s)], [a + b for a, b in zip(y, s)], alpha=0.2)
    if best_step is not None and any(n.startswith("eval/") for n in names):
        ax.axvline(best_step, ls="--", c="k", lw=1, label=f"best (step {best_step})")
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    png = _figure_png(fig)
    plt.close(fig)
    return png


def _img(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``report.html`` (or ``out``) for a run directory and return its path."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise GankitError(f"{run_dir} is not a run directory (no config.yaml)")
    logs, alarms = read_metrics(run_dir)
    best_steps = [r["step"] for r in logs if "eval/best" in r and r.get("eval/value", r["eval/best"]) == r["eval/best"]]
    best_step = best_steps[-1] if best_steps else None
    parts = [f"<h1>gankit run: {html.escape(run_dir.name)}</h1>"]
    if alarms:
        items = "".join(f"<li><b>step {a['step']}</b>: {html.escape(a['alarm'])}</li>" for a in alarms)
        parts.append(f'<h2>Alarms</h2><ul class="alarms">{items}</ul>')
    else:
        parts.append("<h2>Alarms</h2><p>None fired.</p>")
    parts.append("<h2>Curves</h2>")
    for title, keys, note in PANELS:
        png = _panel(logs, keys, best_step)
        if png:
            parts.append(f'<figure class="plot"><figcaption>{html.escape(title)}</figcaption>'
                         f'<img alt="{html.escape(title)}" src="data:image/png;base64,{png}"><p>{html.escape(note)}</p></figure>')
    if best_step is not None:
        best = next(r["eval/best"] for r in logs if r["step"] == best_step and "eval/best" in r)
        parts.append(f'<p class="best">Best checkpoint by the training metric: best (step {best_step}), '
                     f"value {best:.4g} (checkpoints/best.pt; exported to generator/).</p>")
    samples = sorted((run_dir / "samples").glob("step-*.png"))
    if samples:
        pick = samples if len(samples) <= 8 else [samples[round(i * (len(samples) - 1) / 7)] for i in range(8)]
        cells = "".join(f'<figure class="sample"><img alt="{p.stem}" src="data:image/png;base64,{_img(p)}">'
                        f"<figcaption>{p.stem}</figcaption></figure>" for p in pick)
        parts.append(f'<h2>Samples over time</h2><div class="samples">{cells}</div>')
    parts.append(f"<h2>Resolved config</h2><pre>{html.escape((run_dir / 'config.yaml').read_text())}</pre>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gankit report: {html.escape(run_dir.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
.plot {{ display: inline-block; margin: 0.5em; vertical-align: top; width: 560px; }}
.plot img {{ width: 100%; }} .plot p {{ font-size: 0.85em; color: #555; }}
.samples {{ display: flex; flex-wrap: wrap; gap: 0.5em; }} .sample img {{ width: 200px; image-rendering: pixelated; }}
.alarms li {{ color: #a00; }} pre {{ background: #f4f4f4; padding: 1em; overflow-x: auto; }}
</style></head><body>
{''.join(parts)}
</body></html>
"""
    out = Path(out) if out is not None else run_dir / "report.html"
    out.write_text(page)
    return out
