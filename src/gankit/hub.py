"""Sharing exported generators: a model card beside the weights, loading by Hugging Face Hub id
(``user/repo``, through huggingface_hub's cache) and pushing an export folder to the Hub."""
from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import GankitError
from .extras import require

CARD_NAME, SAMPLES_NAME = "README.md", "samples.png"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


def is_hub_id(path: str | Path) -> bool:
    """``user/repo`` that is not a local path."""
    s = str(path)
    return not Path(s).exists() and bool(_REPO_ID.match(s)) and ".." not in s


def resolve_model_dir(path: str | Path) -> Path:
    """A local model folder as given, or the cached snapshot of a Hub repo (downloaded when
    online; offline, HF_HUB_OFFLINE=1, the cache alone)."""
    if not is_hub_id(path):
        return Path(path)
    require("huggingface_hub", f"loading '{path}' from the Hugging Face Hub")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=str(path), repo_type="model"))
    except Exception as e:  # offline without a cached copy, no such repo, network errors
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GankitError(f"{path} is not a local model folder and cannot be loaded from the Hugging Face Hub "
                          f"({type(e).__name__}: {reason})") from None


def check_repo_id(repo_id: str) -> None:
    """Refuse a malformed repo id or a missing huggingface_hub before any work is done."""
    if not _REPO_ID.match(repo_id):
        raise GankitError(f"--push-to-hub expects a Hub repo id 'user/repo', got '{repo_id}'")
    require("huggingface_hub", "--push-to-hub")


def push_to_hub(folder: str | Path, repo_id: str, private: bool = False, token: str | None = None) -> str:
    """Upload an exported generator folder to the Hub repo ``repo_id`` (created when absent);
    returns the repo's URL. The token is huggingface_hub's (HF_TOKEN or `hf auth login`)."""
    folder = Path(folder)
    check_repo_id(repo_id)
    from huggingface_hub import HfApi

    card = folder / CARD_NAME
    if card.is_file():  # the card's load commands name the Hub id, not the local folder
        card.write_text(_name_in_commands(card.read_text(), str(folder), repo_id))
    api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="model",
                          commit_message="gankit export")
    except Exception as e:  # offline, no token, no rights, network errors
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GankitError(f"cannot push {folder} to the Hub repo {repo_id} ({type(e).__name__}: {reason})") from None
    return str(url)


def _name_in_commands(card: str, old: str, new: str) -> str:
    """The card with ``old`` replaced by ``new`` in its commands and load code only (a folder named
    like a word of the prose, "gan", must not change the prose)."""
    token = re.compile(rf'(?<=[\s"`]){re.escape(old)}(?=[\s"`]|$)')
    return "\n".join(token.sub(new, line) if line.startswith(("gankit ", "G = gankit.load_generator", "Measure more"))
                     else line for line in card.splitlines()) + "\n"


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
    from .nets import read_config

    folder = Path(folder)
    cfg = read_config(folder)
    meta, metrics = cfg.get("meta") or {}, dict(metrics or {})
    has_samples = _write_samples(folder, meta, grid)
    recipe, dataset, kind = meta.get("recipe", "?"), meta.get("dataset", "?"), meta.get("kind", "noise")
    where = repo_id or str(folder)
    rows = [("recipe", recipe), ("dataset", dataset), ("kind", kind), ("network", cfg["class"]),
            ("training steps", "?" if steps is None else f"{steps}" + (f" of {planned_steps}" if planned_steps else "")),
            ("checkpoint", checkpoint or "?"), ("image size", meta.get("image_size")),
            ("classes", ", ".join(meta.get("class_names") or []) or None), ("gankit", cfg.get("gankit_version"))]
    tags = list(dict.fromkeys(["gan", "gankit", "pytorch", recipe]))
    lines = ["---", "library_name: gankit", "tags:", *[f"- {t}" for t in tags], "---", "",
             f"# {recipe} generator trained on {dataset}", "",
             f"A {kind} generator exported by gankit (`config.json` + `model.safetensors`: no pickle, "
             "no training code).", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows if v not in (None, "", 0)]
    lines += ["", "## Metrics", ""]
    if metrics:
        lines += ["| metric | value |", "|---|---|"] + [f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |"
                                                      for k, v in metrics.items()]
    else:
        lines.append("No metric was measured during training.")
    more = {"points": "toy2d", "translate": "paired,fid", "upscale": "paired"}.get(kind, "fid,kid,pr,diversity")
    lines += ["", f"Measure more with `gankit eval {where} --metrics {more}`.", ""]
    if has_samples:
        lines += ["## Samples", "", f"![samples]({SAMPLES_NAME})", ""]
    lines += ["## How to load", "", "```python", "import gankit", "",
              f'G = gankit.load_generator("{where}")']
    if kind in ("noise", "points"):
        lines += ["x = gankit.sample(G, 16, seed=0)  # in [-1, 1]", "```", "", "```bash",
                  f"gankit sample {where} -n 64 -o samples.png", f"gankit serve {where}", "```", ""]
    else:
        lines += ["```", "", "```bash", f"gankit translate {where} INPUT.png -o OUT.png", f"gankit serve {where}", "```", ""]
    path = folder / CARD_NAME
    path.write_text("\n".join(lines))
    return path


def _write_samples(folder: Path, meta: dict, grid: str | Path | None) -> bool:
    """samples.png: a seeded grid (or scatter) from the exported generator itself; for a generator
    that takes images, a copy of the run's last grid (inputs, outputs, targets) when there is one."""
    if meta.get("kind", "noise") not in ("noise", "points"):
        if grid is None or not Path(grid).is_file():
            return False
        import shutil

        shutil.copyfile(grid, folder / SAMPLES_NAME)
        return True
    from .api import load_generator, sample
    from .data import save_grid, save_points

    G = load_generator(folder)
    k = getattr(G, "num_classes", 0)
    if meta.get("kind") == "points":
        save_points(sample(G, 2000, seed=0), folder / SAMPLES_NAME)
    else:
        save_grid(sample(G, k * 8 if k else 64, seed=0), folder / SAMPLES_NAME, nrow=k or None)  # a column per class
    return True
