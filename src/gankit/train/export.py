"""A checkpoint's generator exported alone (config.json + model.safetensors) with its model card:
what a finished run writes to ``generator/`` and what `gankit export` writes anywhere."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..config import Config
from ..data import build_dataset
from ..errors import GankitError
from ..hub import CARD_NAME, SAMPLES_NAME
from ..nets import load_pretrained, read_config
from ..nets.uses import use_of
from ..recipes import get_recipe_class
from .checkpoint import CorruptCheckpoint, latest_good_checkpoint, load_checkpoint


def export_checkpoint(run_dir: str | Path, out_dir: str | Path, which: str = "auto",
                      repo_id: str | None = None) -> tuple[Path, str]:
    """Write a run's generator (the EMA one when the run kept one) and its model card to ``out_dir``.

    which: ``best`` (the checkpoint kept by the training metric), ``last``, or ``auto`` (best when it
    exists). Returns (out_dir, which checkpoint was used). Recipes may add files (SGAN writes its
    classifier). A checkpoint that fails its checksum is passed over for the newest one that
    verifies, with a line naming both. ``repo_id``: the Hub id the card's commands name."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise GankitError(f"{run_dir} is not a run directory (no config.yaml)")
    if which not in ("auto", "best", "last"):
        raise GankitError(f"--which must be auto, best or last, got '{which}'")
    best = run_dir / "checkpoints" / "best.pt"
    if which == "best" and not best.is_file():
        raise GankitError(f"{run_dir} has no best checkpoint (train with --set eval.metric=... eval.every=N)")
    path = state = bad = None
    if which == "best" or (which == "auto" and best.is_file()):
        try:
            path, state = best, load_checkpoint(best)
        except CorruptCheckpoint as e:
            if which == "best":
                raise
            bad = e
    if path is None:
        path, state, corrupt = latest_good_checkpoint(run_dir / "checkpoints")
        bad = bad or (corrupt[0] if corrupt else None)
        if path is None:
            raise bad or GankitError(f"{run_dir} has no checkpoint yet")
    if bad is not None:
        print(f"gankit: warning: checkpoint {bad.path} is corrupt ({bad.why}); exporting {path} instead",
              file=sys.stderr)
    cfg = Config.wrap(state["config"])
    recipe = get_recipe_class(cfg.recipe)(cfg, build_dataset(cfg.data, cfg.seed), "cpu")
    for k, m in recipe.nets.items():
        m.load_state_dict(state["nets"][k])
    recipe.load_state_dict(state["recipe"])  # e.g. SGAN's weight-averaged classifier
    G = recipe.generator()
    if state["ema"] is not None:
        G.load_state_dict({k[len("module."):]: v for k, v in state["ema"].items() if k.startswith("module.")})
    out = Path(recipe.export(G.eval(), out_dir))
    write_model_card(out, repo_id=repo_id, **run_facts(run_dir, path.name, state.get("step")))
    return out, path.name


def run_facts(run_dir: str | Path, checkpoint: str | None = None, step: int | None = None) -> dict:
    """What a model card says about the run an export came from: steps, checkpoint and the
    training metric (from config.yaml and metrics.jsonl)."""
    import yaml

    run_dir = Path(run_dir)
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text()) if (run_dir / "config.yaml").is_file() else {}
    metric = (cfg.get("eval") or {}).get("metric")
    evals = []
    if (run_dir / "metrics.jsonl").is_file():
        for line in (run_dir / "metrics.jsonl").read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a line cut by a crash
                continue
            if "eval/value" in row:
                evals.append(row)
    metrics = {}
    if metric and evals:
        at = [r for r in evals if step is not None and r["step"] == step] or evals[-1:]
        metrics = {f"{metric} (training metric, step {at[0]['step']})": at[0]["eval/value"]}
    grids = sorted((run_dir / "samples").glob("step-*.png"))
    return {"steps": step, "planned_steps": (cfg.get("train") or {}).get("steps"), "checkpoint": checkpoint,
            "metrics": metrics, "grid": grids[-1] if grids else None}


def write_model_card(folder: str | Path, repo_id: str | None = None, steps: int | None = None,
                     planned_steps: int | None = None, checkpoint: str | None = None,
                     metrics: dict | None = None, grid: str | Path | None = None) -> Path:
    """README.md (a Hugging Face model card: YAML header, what the generator is, its training
    metric, a sample grid written beside it, how to load it) in an exported generator folder.
    ``grid``: the run's last sample grid, shown for generators that take images (translation)."""
    folder = Path(folder)
    cfg = read_config(folder)
    meta, metrics = cfg.get("meta") or {}, dict(metrics or {})
    use = use_of(meta)
    has_samples = use.card_samples(load_pretrained(folder) if use.from_noise else None, folder / SAMPLES_NAME,
                                   None if grid is None else Path(grid))
    recipe, dataset = meta.get("recipe", "?"), meta.get("dataset", "?")
    where = repo_id or str(folder)
    rows = [("recipe", recipe), ("dataset", dataset), ("kind", use.kind), ("network", cfg["class"]),
            ("training steps", "?" if steps is None else f"{steps}" + (f" of {planned_steps}" if planned_steps else "")),
            ("checkpoint", checkpoint or "?"), ("image size", meta.get("image_size")),
            ("classes", ", ".join(meta.get("class_names") or []) or None), ("gankit", cfg.get("gankit_version"))]
    tags = list(dict.fromkeys(["gan", "gankit", "pytorch", recipe]))
    lines = ["---", "library_name: gankit", "tags:", *[f"- {t}" for t in tags], "---", "",
             f"# {recipe} generator trained on {dataset}", "",
             f"A {use.kind} generator exported by gankit (`config.json` + `model.safetensors`: no pickle, "
             "no training code).", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows if v not in (None, "", 0)]
    lines += ["", "## Metrics", ""]
    if metrics:
        lines += ["| metric | value |", "|---|---|"] + [f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |"
                                                      for k, v in metrics.items()]
    else:
        lines.append("No metric was measured during training.")
    card_data = {"name": meta.get("dataset"), "direction": meta.get("direction")}
    lines += ["", f"Measure more with `gankit eval {where} --metrics {use.metrics_for(card_data)}`.", ""]
    if has_samples:
        lines += ["## Samples", "", f"![samples]({SAMPLES_NAME})", ""]
    lines += ["## How to load", "", "```python", "import gankit", "", f'G = gankit.load_generator("{where}")',
              *use.load_code(), "```", "", "```bash"]
    lines += [use.run_command(where, "INPUT.png -o OUT.png"), f"gankit serve {where}", "```", ""]
    path = folder / CARD_NAME
    path.write_text("\n".join(lines))
    return path
