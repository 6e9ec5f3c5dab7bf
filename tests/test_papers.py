"""The pieces the papers' benches stand on: PacGAN's stacked MNIST (128k seeded triples) and the
mode count / KL to uniform it is scored with."""
import math

import torch

from gankit.config import load_config
from gankit.data import build_dataset, load_mnist
from gankit.metrics.coverage import kl_to_uniform, stacked_coverage


def _stacked(mnist_root, seed):
    cfg = load_config("dcgan", overrides=["data.name=stacked-mnist", f"data.root={mnist_root}"])
    return build_dataset(cfg.data, seed)


def test_stacked_mnist_is_128k_seeded_triples_of_train_digits(mnist_root):
    a, b, c = _stacked(mnist_root, 0), _stacked(mnist_root, 0), _stacked(mnist_root, 1)
    assert a.x.shape == (128_000, 3, 28, 28) and a.x.dtype == torch.uint8 and len(a.y) == 128_000
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)  # same seed, same triples
    assert (a.y != c.y).float().mean() > 0.9  # another seed, other triples (1/1000 agree by chance)
    assert len(a.y.unique()) == 1000  # 128 draws per mode on average: every mode is there
    # each channel is a train digit, and the label is the mode index of the three digits' labels
    x, y = load_mnist(mnist_root, "train")
    label_of = {}
    for img, lab in zip(x[:, 0].reshape(len(x), -1).numpy(), y.tolist()):
        label_of.setdefault(img.tobytes(), set()).add(lab)
    for img, mode in zip(a.x[:300], a.y[:300].tolist()):
        digits = [label_of[img[ch].numpy().tobytes()] for ch in range(3)]
        assert {mode // 100} <= digits[0] and {mode // 10 % 10} <= digits[1] and {mode % 10} <= digits[2]


def test_kl_to_uniform_by_hand():
    assert math.isclose(kl_to_uniform(torch.tensor([2, 1, 1, 0])), 0.5 * math.log(2))  # q = (1/2, 1/4, 1/4, 0)
    assert math.isclose(kl_to_uniform(torch.tensor([5, 5, 5])), 0.0, abs_tol=1e-12)
    assert math.isclose(kl_to_uniform(torch.tensor([0, 7, 0, 0, 0])), math.log(5))


class _ReadsTheValue:
    """A 'classifier' whose digit is the grey value of the channel: the test knows every answer."""

    def predict(self, x):
        return x[:, 0, 0, 0].round().long()


def test_stacked_coverage_counts_modes_and_kl_by_hand():
    triples = [(1, 2, 3), (1, 2, 3), (4, 5, 6), (7, 8, 9)]
    images = torch.tensor(triples, dtype=torch.float32).view(4, 3, 1, 1).expand(4, 3, 28, 28)
    cov = stacked_coverage(images, _ReadsTheValue(), batch_size=3)  # two batches
    assert cov["modes"] == 3 and cov["modes_total"] == 1000 and cov["n"] == 4
    # q = (1/2, 1/4, 1/4) on 3 of 1000 modes: KL = sum q log(1000 q)
    assert math.isclose(cov["kl_uniform"], 0.5 * math.log(500) + 0.5 * math.log(250))
    # channel 0 holds 1, 1, 4, 7: q = (1/2, 1/4, 1/4) on 3 of 10 digits; so do channels 1 and 2
    per = 0.5 * math.log(5) + 0.5 * math.log(2.5)
    assert all(math.isclose(k, per) for k in cov["channel_kl"]) and math.isclose(cov["kl_marginals"], 3 * per)
    assert cov["channel_histograms"][2] == [0, 0, 0, 2, 0, 0, 1, 0, 0, 1]  # 3, 3, 6, 9
