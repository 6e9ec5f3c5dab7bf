"""The engine: exact resume, atomic checkpoints, export/sample, and torchrun."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import gankit
from gankit.cli.main import main
from gankit.errors import GankitError
from gankit.train.checkpoint import latest_checkpoint, load_checkpoint, save_atomic

TINY = ["--set", "model.g_width=8", "--set", "model.d_width=8", "--set", "train.report=false",
        "--set", "train.log_every=5", "--set", "train.sample_every=10", "--set", "train.ckpt_every=10",
        "--set", "train.ema=0.9", "--set", "data.limit=512", "--batch-size", "16"]


def _train(out, *extra):
    assert main(["train", "dcgan", "--data", "mnist-5k", "--out", str(out), *TINY, *extra]) == 0


def _weights(run_dir):
    return load_checkpoint(latest_checkpoint(Path(run_dir) / "checkpoints"))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_resume_is_bit_identical(tmp_path, precision):
    _train(tmp_path / "straight", "--steps", "30", "--set", f"train.precision={precision}")
    _train(tmp_path / "split", "--steps", "15", "--set", f"train.precision={precision}")
    assert main(["train", "--resume", str(tmp_path / "split"), "--steps", "30"]) == 0
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    assert a["step"] == b["step"] == 30
    for net in ("G", "D"):
        for k, v in a["nets"][net].items():
            assert torch.equal(v, b["nets"][net][k]), f"{net}.{k} differs after resume"
    for k, v in a["ema"].items():
        assert torch.equal(v, b["ema"][k]), f"EMA {k} differs after resume"
    assert a["optim"]["D"]["state"][0]["exp_avg"].equal(b["optim"]["D"]["state"][0]["exp_avg"])
    # the logged curves of the two runs agree too
    def last(path):
        return [json.loads(line) for line in open(path / "metrics.jsonl")][-1]
    la, lb = last(tmp_path / "straight"), last(tmp_path / "split")
    assert la["loss/G"] == lb["loss/G"] and la["loss/D"] == lb["loss/D"]


def test_existing_run_needs_resume(tmp_path):
    _train(tmp_path / "r", "--steps", "10")
    with pytest.raises(GankitError, match="already holds a run"):
        gankit.fit("dcgan", out=tmp_path / "r", steps=10)


def test_crash_while_writing_keeps_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt" / "step-0000001.pt"
    save_atomic({"nets": {}, "w": torch.ones(3)}, path)
    # a process that dies half-way through writing the next version of the same file
    code = (
        "import os, torch, sys\n"
        "from gankit.train import checkpoint as c\n"
        "def dying_write(path, data):\n"
        "    open(path, 'wb').write(bytes(data[:len(data) // 2])); os._exit(9)\n"
        "c._write_file = dying_write\n"
        f"c.save_atomic({{'nets': {{}}, 'w': torch.zeros(3)}}, {str(path)!r})\n")
    proc = subprocess.run([sys.executable, "-c", code])
    assert proc.returncode == 9
    assert torch.equal(load_checkpoint(path)["w"], torch.ones(3))
    assert latest_checkpoint(path.parent) == path  # the temporary file is not mistaken for a checkpoint


def test_corrupt_checkpoint_is_one_line_error(tmp_path):
    bad = tmp_path / "step-0000001.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(GankitError, match="is corrupt .*truncated, or not a gankit checkpoint"):
        load_checkpoint(bad)


def test_export_and_sample_without_the_run(tmp_path, capsys):
    _train(tmp_path / "run", "--steps", "10")
    assert main(["export", str(tmp_path / "run"), str(tmp_path / "gen")]) == 0
    shutil.rmtree(tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "gen").iterdir()) == ["README.md", "config.json", "model.safetensors",
                                                                   "samples.png"]  # + the model card
    G = gankit.load_generator(tmp_path / "gen")
    assert not any("D" == n.split(".")[0] for n, _ in G.named_parameters())
    x = gankit.sample(G, 5, seed=3)
    assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert torch.equal(x, gankit.sample(G, 5, seed=3))  # seeded
    assert main(["sample", str(tmp_path / "gen"), "-n", "6", "-o", str(tmp_path / "s.npy"), "--seed", "3"]) == 0
    arr = np.load(tmp_path / "s.npy")
    assert arr.shape == (6, 1, 28, 28) and np.allclose(arr[:5], x.numpy(), atol=1e-4)  # same noise; batch-size-dependent conv kernels
    assert main(["sample", str(tmp_path / "gen"), "-n", "16", "-o", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 100
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "gen"), "-o", str(tmp_path / "s.jpg")]) == 2
    assert main(["sample", str(tmp_path / "nope"), "-o", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err
    assert "expected a file ending in .png or .npy" in err and "is not a model directory" in err


def test_export_never_unpickles(tmp_path):
    _train(tmp_path / "run", "--steps", "10")
    gen = tmp_path / "run" / "generator"
    cfg = json.loads((gen / "config.json").read_text())
    assert cfg["class"] == "DCGANGenerator" and cfg["meta"]["kind"] == "noise"
    junk = b"\x80\x04 pickle-looking junk"
    (gen / "model.safetensors").write_bytes(junk)
    with pytest.raises(GankitError, match="is corrupt: its sha256 differs"):
        gankit.load_generator(gen)
    cfg["weights_sha256"] = hashlib.sha256(junk).hexdigest()  # junk that passes the checksum is still refused
    (gen / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(GankitError, match="cannot load weights"):
        gankit.load_generator(gen)


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun not on PATH")
def test_torchrun_two_processes_hold_identical_weights(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        ["torchrun", "--standalone", "--nproc_per_node", "2", "-m", "gankit.cli.main", "train", "gan",
         "--data", "toy2d-ring", "--steps", "20", "--batch-size", "32", "--out", str(tmp_path / "ddp"),
         "--set", "train.report=false", "--set", "train.log_every=10", "--set", "model.g_widths=[32,32]",
         "--set", "model.d_widths=[32]", "--device", "cpu"],
        env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-6000:]
    lines = [json.loads(line) for line in open(tmp_path / "ddp" / "metrics.jsonl")]
    final = [line for line in lines if "dist/max_rank_diff" in line]
    assert final and final[-1]["dist/max_rank_diff"] == 0.0 and final[-1]["dist/world"] == 2


def test_logged_d_numbers_are_means_over_critic_steps(tmp_path):
    """With n_d = 5 a D number arrives five times per iteration: the log holds its mean, not its sum."""
    over = ["model.z_dim=2", "model.g_widths=[16]", "model.d_widths=[16]", "data.toy_n=1000", "train.log_every=1",
            "train.report=false", "train.progress=false"]
    run = gankit.fit("gan", data="toy2d-ring", loss="wgan-gp", steps=4, batch_size=32, out=tmp_path / "w", overrides=over)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    logs = [x for x in lines if "d/wasserstein_estimate" in x]
    assert len(logs) == 4
    for x in logs:
        # a critic's scores shift freely by a constant: no accuracy or r_t, its Wasserstein estimate instead
        assert not {"d/acc_fake", "d/sign_real", "d/r_t"} & set(x)
        assert x["d/wasserstein_estimate"] == pytest.approx(x["d/logit_real_mean"] - x["d/logit_fake_mean"], abs=1e-5)


@pytest.mark.parametrize("mode", ["max", "none"])
def test_best_mode_none_logs_the_metric_but_keeps_no_best(tmp_path, mode):
    """SGAN scores D on the test split: with best_mode none that number is logged, never used to pick."""
    over = ["model.z_dim=2", "model.g_widths=[16]", "model.d_widths=[16]", "data.toy_n=1000", "train.report=false",
            "train.progress=false", "eval.metric=toy2d-modes", "eval.every=5", "eval.n=200", f"eval.best_mode={mode}"]
    run = gankit.fit("gan", data="toy2d-ring", steps=10, batch_size=32, out=tmp_path / mode, overrides=over)
    evals = [x for x in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "eval/modes" in x]
    assert len(evals) == 2
    assert (run / "checkpoints" / "best.pt").is_file() == (mode == "max")


def test_ema_decay_warms_up():
    """Early EMA updates follow G closely; late ones use the configured decay."""
    from gankit.nets.averaging import ema_warmup

    avg = ema_warmup(0.999)  # updates AveragedModel's tensors in place, a device's list at once
    for n, expected in ((0, 0.9), (10**6, 0.001)):  # d = 1/10, then the configured 0.999
        a, b = [torch.zeros(3), torch.zeros(2)], [torch.ones(3), torch.ones(2)]
        avg(a, b, torch.tensor(n))
        assert torch.allclose(torch.cat(a), torch.full((5,), expected))
    counter = [torch.tensor(10)]  # BatchNorm's num_batches_tracked: the same rule, truncated
    avg(counter, [torch.tensor(20)], torch.tensor(0))
    assert counter[0].item() == 19 and counter[0].dtype == torch.int64


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_bf16_runs_forward_passes_in_bfloat16_and_keeps_float32_state(tmp_path, precision):
    """bf16 autocasts the steps' convolutions and matmuls; weights, gradients, Adam's moments and the
    losses stay float32, and the run's saved config names the precision."""
    from gankit.api import resolve_config
    from gankit.api import trainer as build_trainer

    cfg = resolve_config("dcgan", data="mnist-5k", steps=2, batch_size=16, overrides=[
        "model.g_width=8", "model.d_width=8", "data.limit=64", "train.report=false", "train.progress=false",
        f"train.precision={precision}"])
    trainer = build_trainer(cfg, tmp_path / "r")
    seen = []
    trainer.recipe.D.register_forward_hook(lambda mod, inp, out: seen.append(out.dtype))
    losses = []
    for phase in trainer.phases:
        out, _ = trainer.run_phase(phase, next(trainer.batches) if phase.batch == "new" else None, False)
        losses += [loss.dtype for loss in out.losses.values()]
    trainer.weights.release()  # the engine's end of an iteration: a player not updated last kept its copies
    expected = torch.bfloat16 if precision == "bf16" else torch.float32
    assert seen and set(seen) == {expected}
    assert set(losses) == {torch.float32}
    for opt in trainer.opts.values():
        for group in opt.param_groups:
            for p in group["params"]:
                assert p.dtype == p.grad.dtype == opt.state[p]["exp_avg"].dtype == torch.float32
    trainer.fit()
    assert "precision: " + precision in (tmp_path / "r" / "config.yaml").read_text()


@pytest.mark.parametrize("recipe, over", [
    ("gan", ["model.g_widths=[32,64]", "model.d_widths=[64]"]),
    ("dcgan", ["model.g_width=8", "model.d_width=8", "model.g_fc=32", "model.d_fc=32"]),
    ("wgan", ["model.g_width=8", "model.d_width=8"]),  # weight clipping after each critic update
    ("wgan-gp", ["model.g_width=8", "model.d_width=8", "train.n_d=2"]),  # double backward through the copies
])
def test_bf16_weight_copies_give_autocasts_numbers(tmp_path, recipe, over):
    """bf16 copies of the weights, made once per update, change the memory traffic and nothing else:
    the run matches bf16 autocast casting the float32 weights at every forward pass bit for bit,
    which also shows each update's copies are remade (the fused optimizers do not move the
    parameters' version counters)."""
    from gankit.api import resolve_config
    from gankit.api import trainer as build_trainer
    from gankit.train.precision import ComputeCopies, compute_copies

    def run(copies: bool, name: str) -> dict:
        cfg = resolve_config(recipe, data="mnist-5k", steps=6, batch_size=16, overrides=[
            *over, "data.limit=128", "train.report=false", "train.progress=false", "train.precision=bf16"])
        trainer = build_trainer(cfg, tmp_path / name)
        assert isinstance(trainer.weights, ComputeCopies)
        if not copies:
            trainer.weights = compute_copies("fp32", [])  # autocast alone
        trainer.fit()
        return {f"{k}.{n}": v.clone() for k, net in trainer.recipe.nets.items() for n, v in net.state_dict().items()}

    with_copies, autocast_only = run(True, "copies"), run(False, "autocast")
    assert with_copies.keys() == autocast_only.keys()
    for k, v in with_copies.items():
        assert v.dtype == autocast_only[k].dtype and torch.equal(v, autocast_only[k]), k


def test_auto_precision_is_bf16_only_for_images_on_a_native_bf16_cpu(monkeypatch):
    from gankit.train import precision as P

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    for native, device, kind, expected in ((True, cpu, "image", "bf16"), (True, cpu, "paired", "bf16"),
                                           (True, cpu, "points", "fp32"), (False, cpu, "image", "fp32"),
                                           (True, cuda, "image", "fp32")):
        monkeypatch.setattr(P, "native_bf16", lambda device, native=native: native)
        assert P.resolve_precision("auto", device, kind) == expected
    assert P.resolve_precision("fp32", cpu, "image") == "fp32"
    assert P.resolve_precision("bf16", cuda, "points") == "bf16"
