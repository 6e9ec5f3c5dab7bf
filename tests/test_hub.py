"""Sharing: every export writes a model card (README.md + samples.png) that says what the generator
is and how to load it; a generator loads by Hugging Face Hub id from huggingface_hub's cache
offline (HF_HUB_OFFLINE=1, a cache laid out as the Hub client writes it); pushing offline fails
with one line."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("huggingface_hub")
REV = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    from gankit.cli.main import main

    base = tmp_path_factory.mktemp("hub")
    assert main(["train", "gan", "--data", "toy2d-ring", "--steps", "40", "--out", str(base / "run"),
                 "--set", "eval.metric=toy2d-modes", "--set", "eval.every=20", "--set", "train.report=false",
                 "--set", "train.progress=false"]) == 0
    return base / "run"


def _hub_cache(tmp_path, gen_dir, repo="user/toy-gan"):
    """A cache as huggingface_hub lays it out: models--user--repo/{snapshots/REV/..., refs/main}."""
    store = tmp_path / "hf" / "hub" / f"models--{repo.replace('/', '--')}"
    shutil.copytree(gen_dir, store / "snapshots" / REV)
    (store / "refs").mkdir()
    (store / "refs" / "main").write_text(REV)
    return dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), HF_HUB_CACHE=str(tmp_path / "hf" / "hub"))


def test_export_writes_a_model_card(toy_run, tmp_path):
    from gankit.api import export, load_generator, sample

    out, used = export(toy_run, tmp_path / "gen")
    card = (out / "README.md").read_text()
    assert used == "best.pt" and card.startswith("---\nlibrary_name: gankit\n")
    rows = dict(re.findall(r"^\| ([^|]+) \| ([^|]+) \|$", card, re.M))
    assert rows["recipe"] == "gan" and rows["dataset"] == "toy2d-ring" and rows["kind"] == "points"
    evals = [json.loads(line) for line in (toy_run / "metrics.jsonl").read_text().splitlines() if "eval/value" in line]
    best = min(evals, key=lambda r: r["eval/value"])  # toy2d-modes: lower is better
    assert rows["training steps"] == f"{best['step']} of 40"
    assert float(rows[f"toy2d-modes (training metric, step {best['step']})"]) == pytest.approx(best["eval/value"], rel=1e-3)
    assert "![samples](samples.png)" in card and (out / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    scope = {}
    exec(snippet, scope)  # the card's own loading code runs as written
    assert scope["x"].shape == (16, 2)
    assert scope["x"].equal(sample(load_generator(out), 16, seed=0))


def test_the_runs_own_generator_has_a_card(toy_run):
    card = (toy_run / "generator" / "README.md").read_text()
    assert "# gan generator trained on toy2d-ring" in card and f'load_generator("{toy_run / "generator"}")' in card


OFFLINE_SCRIPT = """
import contextlib, io, json, sys
import gankit
from gankit.cli.main import main
from gankit.nets.mlp import MLPGenerator

out, run_dir = sys.argv[1], sys.argv[2]
a, b = gankit.load_generator("user/toy-gan"), MLPGenerator.from_pretrained("user/toy-gan")
gankit.sample(a, 8, seed=3).numpy().dump(out + "/api.npy")
gankit.sample(b, 8, seed=3).numpy().dump(out + "/from_pretrained.npy")
codes = {}
for name, argv in {"sample": ["sample", "user/toy-gan", "-n", "8", "--seed", "3", "-o", out + "/cli.npy"],
                   "not_cached": ["sample", "user/not-cached", "-o", out + "/z.npy"],
                   "push": ["export", run_dir, out + "/gen", "--push-to-hub", "user/toy-gan"],
                   "bad_id": ["export", run_dir, out + "/gen2", "--push-to-hub", "not a repo"]}.items():
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        codes[name] = [main(argv), err.getvalue()]
import os
from gankit.errors import GankitError
os.chdir(out)
gankit.export(run_dir, "gan")  # a folder named like the recipe: pushing renames the folder, not the recipe
try:
    gankit.push_to_hub("gan", "user/toy-gan")
except GankitError as e:
    codes["push_api"] = str(e)
print(json.dumps(codes))
"""


def test_hub_ids_load_from_an_offline_cache_and_push_fails_with_one_line(toy_run, tmp_path):
    """One process with HF_HUB_OFFLINE=1 and the cache in tmp_path (huggingface_hub reads both at import)."""
    import numpy as np

    from gankit.api import load_generator, sample

    env = _hub_cache(tmp_path, toy_run / "generator")
    r = subprocess.run([sys.executable, "-c", OFFLINE_SCRIPT, str(tmp_path), str(toy_run)], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    codes = json.loads(r.stdout.strip().splitlines()[-1])
    local = sample(load_generator(toy_run / "generator"), 8, seed=3).numpy()
    for name in ("api", "from_pretrained", "cli"):
        assert np.array_equal(np.load(tmp_path / f"{name}.npy", allow_pickle=name != "cli"), local), name
    assert codes["sample"][0] == 0
    code, err = codes["not_cached"]
    assert code == 2 and len(err.strip().splitlines()) == 1 and "user/not-cached" in err and "Hugging Face Hub" in err
    code, err = codes["push"]
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("gankit: error: cannot push") and "user/toy-gan" in err
    assert 'load_generator("user/toy-gan")' in (tmp_path / "gen" / "README.md").read_text()  # the card names the Hub id
    card = (tmp_path / "gan" / "README.md").read_text()
    assert codes["push_api"].startswith("cannot push gan to the Hub repo user/toy-gan")
    assert 'load_generator("user/toy-gan")' in card and "gankit sample user/toy-gan -n 64" in card
    assert "| recipe | gan |" in card and "# gan generator trained on toy2d-ring" in card
    code, err = codes["bad_id"]
    assert code == 2 and "expects a Hub repo id 'user/repo'" in err and not (tmp_path / "gen2").exists()


def _translator(path, direction="BtoA"):
    import torch

    from gankit.nets.translation import UNetGenerator

    torch.manual_seed(0)
    G = UNetGenerator(3, 3, num_downs=3, ngf=8)
    G.meta = {"kind": "translate", "recipe": "pix2pix", "dataset": "facades", "image_size": 32, "channels": 3,
              "direction": direction}
    return G.save_pretrained(path)


def test_a_translators_card_shows_the_runs_grid_and_translate_commands(tmp_path):
    from gankit.data import save_grid
    from gankit.train.export import write_model_card

    import torch

    gen = _translator(tmp_path / "gen")
    grid = save_grid(torch.rand(3, 3, 32, 32) * 2 - 1, tmp_path / "step-0000100.png")
    card = write_model_card(gen, steps=100, planned_steps=100, checkpoint="step-0000100.pt", grid=grid).read_text()
    assert (gen / "samples.png").read_bytes() == grid.read_bytes() and "![samples](samples.png)" in card
    assert f"gankit translate {gen} INPUT.png -o OUT.png" in card and "--metrics paired,fid" in card  # label map -> photo
    to_labels = write_model_card(_translator(tmp_path / "to-labels", "AtoB"), steps=1).read_text()
    assert "--metrics labels,paired" in to_labels  # photo -> label map: scored by label accuracy
    assert "No metric was measured during training." in card
    (gen / "samples.png").unlink()
    assert "## Samples" not in write_model_card(gen).read_text()  # no grid, no image: nothing invented
