"""The lazy CLI: every command's --help still works, and parsing imports no torch (start-up speed)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gankit.cli.main import build_parser, main


def _commands() -> list[str]:
    action = next(a for a in build_parser()._actions if a.dest == "command")
    return sorted(action.choices)


def test_the_cli_has_every_command():
    assert {"train", "sample", "eval", "export", "serve", "translate", "upscale", "report", "config",
            "datasets", "interpolate", "invert", "arithmetic", "vary", "classify", "train-classifier"} <= set(_commands())


@pytest.mark.parametrize("command", [None] + _commands())
def test_every_help_works(command, capsys):
    argv = ["--help"] if command is None else [command, "--help"]
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: gankit") and (command is None or command in out.splitlines()[0])


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_parsing_imports_no_torch():
    mods = _modules_after("import gankit.cli.main as m\nm.build_parser().parse_args(['train', 'gan', '--steps', '3'])")
    heavy = {m for m in mods if m.split(".")[0] in ("torch", "torchvision", "torchmetrics", "numpy", "PIL", "scipy")}
    assert not heavy, sorted(heavy)[:10]
    assert "gankit.train.engine" not in mods and "gankit.api" not in mods


def test_sampling_imports_no_training_or_metrics(tmp_path):
    from gankit.nets.mlp import MLPGenerator

    G = MLPGenerator(4, (1, 6, 6), (8,))
    G.meta = {"kind": "noise", "z_dim": 4}
    G.save_pretrained(tmp_path / "gen")
    mods = _modules_after(f"from gankit.cli.main import main\n"
                          f"assert main(['sample', {str(tmp_path / 'gen')!r}, '-n', '3', '-o', {str(tmp_path / 's.png')!r}]) == 0")
    assert (tmp_path / "s.png").is_file()
    assert "torch" in mods
    slow = {m for m in mods if m.split(".")[0] in ("torchvision", "torchmetrics", "scipy", "matplotlib")
            or m.startswith(("gankit.train.engine", "gankit.train.alarms", "gankit.metrics.paired"))}
    assert not slow, sorted(slow)[:10]


@pytest.mark.parametrize("shape,nrow", [((7, 1, 5, 4), None), ((1, 3, 6, 6), None), ((10, 3, 4, 5), 3),
                                        ((4, 1, 3, 3), 10), ((64, 3, 8, 8), None)])
def test_make_grid_equals_torchvisions(shape, nrow):
    import numpy as np
    import torch
    from torchvision.utils import make_grid as tv_grid

    from gankit.data import make_grid

    x = torch.rand(shape, generator=torch.Generator().manual_seed(0)) * 2.4 - 1.2
    expected = tv_grid(x.clamp(-1, 1), nrow=nrow or int(np.ceil(np.sqrt(shape[0]))), padding=2, pad_value=-1.0)
    assert torch.equal(make_grid(x, nrow), expected)
