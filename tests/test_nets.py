"""Network building blocks: checked against their definitions."""
import pytest
import torch
from torch import nn

from gankit.config import load_config
from gankit.data import build_dataset
from gankit.errors import GankitError
from gankit.nets.blocks import Maxout, maxout_pieces
from gankit.nets.mlp import MLPDiscriminator
from gankit.recipes import get_recipe_class


def test_maxout_is_the_max_over_each_units_pieces():
    torch.manual_seed(0)
    layer = Maxout(3, 4, pieces=5)
    x = torch.randn(6, 3, requires_grad=True)
    pieces = (x @ layer.linear.weight.T + layer.linear.bias).view(6, 4, 5)  # unit i owns rows 5i..5i+4
    out = layer(x)
    assert out.shape == (6, 4)
    assert torch.allclose(out, pieces.max(2).values)
    out.sum().backward()
    # only the winning piece of each unit receives gradient
    winners = torch.zeros(4 * 5)
    for unit, piece in enumerate(pieces.argmax(2).flatten().tolist()):
        winners[(unit % 4) * 5 + piece] += 1
    assert torch.equal(layer.linear.bias.grad, winners)


def test_maxout_discriminator_matches_pacgan_toy_d():
    D = MLPDiscriminator((2,), (200, 200, 200), act="maxout")
    blocks = [m for m in D.body if isinstance(m, Maxout)]
    assert [b.linear.out_features for b in blocks] == [1000, 1000, 1000]
    assert D(torch.randn(7, 2)).shape == (7,)
    assert maxout_pieces("maxout:3") == 3 and maxout_pieces("relu") == 0


@pytest.mark.parametrize("bad", ["maxout:1", "maxout:x"])
def test_bad_maxout_spec_is_one_line_error(bad):
    with pytest.raises(GankitError, match="maxout takes an integer number of pieces"):
        MLPDiscriminator((2,), (8,), act=bad)


@pytest.mark.parametrize("recipe,data,small", [("gan", "toy2d-grid", ["model.g_widths=[8]", "model.d_widths=[8]"]),
                                               ("dcgan", "mnist-5k", ["model.g_width=8", "model.d_width=8"])])
def test_packed_discriminator_judges_m_consecutive_samples_at_once(recipe, data, small):
    """model.pack = m (PacGAN): D's input is m samples concatenated along features/channels, one logit per pack."""
    cfg = load_config(recipe, overrides=[f"data.name={data}", "model.pack=4", "train.batch_size=8", "data.limit=64",
                                         "data.toy_n=64", *small])
    r = get_recipe_class(recipe)(cfg, build_dataset(cfg.data, 0), "cpu")
    x = r.sample(r.G, 8)
    r.D.eval()
    logits = r.judge(x, None)
    assert logits.shape == (2,)
    manual = torch.stack([r.D(torch.cat(list(x[i:i + 4]), 0)[None])[0] for i in (0, 4)])
    assert torch.allclose(logits, manual, atol=1e-5)
    with pytest.raises(GankitError, match="must be >= 1 and divide train.batch_size"):
        get_recipe_class(recipe)(load_config(recipe, overrides=[f"data.name={data}", "model.pack=3"]), r.data, "cpu")


def test_dcgan_fc_layers_sit_after_z_and_before_the_logit(tmp_path):
    """model.g_fc / model.d_fc: one hidden FC layer (InfoGAN's MNIST nets), normalised like the convs."""
    from gankit.nets import load_pretrained
    from gankit.nets.dcgan import DCGANDiscriminator, DCGANGenerator

    G = DCGANGenerator(z_dim=10, width=8, fc=24).eval()
    assert [type(m) for m in G.stem] == [nn.Linear, nn.BatchNorm1d, nn.ReLU] and G.stem[0].out_features == 24
    assert G.net[0].in_channels == 24
    z = torch.randn(5, 10)
    assert G(z).shape == (5, 1, 28, 28)
    G.save_pretrained(tmp_path / "g")
    assert torch.equal(load_pretrained(tmp_path / "g").eval()(z), G(z))
    assert isinstance(DCGANGenerator(z_dim=10, width=8).stem, nn.Identity)

    D = DCGANDiscriminator(width=8, fc=24, num_classes=10, cond="projection").eval()
    x, y = torch.randn(5, 1, 28, 28), torch.arange(5)
    assert D.feature_dim == 24 and D.features(x, y).shape == (5, 24) and D(x, y).shape == (5,)
    assert isinstance(DCGANDiscriminator(width=8, fc=24, norm="instance").body[-2], nn.LayerNorm)
    assert isinstance(DCGANDiscriminator(width=8, fc=24, norm="none").body[-2], nn.Identity)
    assert DCGANDiscriminator(width=8).feature_dim == 16 * 7 * 7


@pytest.mark.parametrize("channels_last", [False, True])
def test_project_reshape_is_the_transposed_convolution_it_replaces(channels_last):
    """DCGAN G's first layer multiplies as a matrix but must give the ConvTranspose's outputs and
    gradients on a 1x1 map, and fall back to it on larger maps."""
    from gankit.nets.dcgan import ProjectReshape

    torch.manual_seed(0)
    layer = ProjectReshape(16, 8, 7, 1, 0, bias=True)
    if channels_last:
        layer = layer.to(memory_format=torch.channels_last)
    x = torch.randn(5, 16, 1, 1, requires_grad=True)
    out, ref = layer(x), torch.nn.functional.conv_transpose2d(x, layer.weight, layer.bias)
    assert out.shape == ref.shape == (5, 8, 7, 7) and torch.allclose(out, ref, atol=1e-6)
    g = torch.randn_like(ref)
    for a, b in zip(torch.autograd.grad(out, (x, layer.weight, layer.bias), g),
                    torch.autograd.grad(ref, (x, layer.weight, layer.bias), g)):
        assert torch.allclose(a, b, atol=1e-5)
    wide = torch.randn(2, 16, 3, 3)
    assert torch.equal(layer(wide), torch.nn.functional.conv_transpose2d(wide, layer.weight, layer.bias))


def test_dcgan_discriminator_hands_channels_last_gradients_back():
    """D flattens in (H, W, C) order, so every conv-side layer's output gradient keeps the channels-last
    format of its output: a mixed pair sends activations' backward down a ~20x slower path."""
    from gankit.nets.dcgan import DCGANDiscriminator

    D = DCGANDiscriminator(1, 28, 8, fc=16).to(memory_format=torch.channels_last)
    grads = []

    def keep_grad(module, inputs, out):
        if out.dim() == 4:
            out.register_hook(grads.append)

    for m in D.body:
        m.register_forward_hook(keep_grad)
    D(torch.randn(4, 1, 28, 28).contiguous(memory_format=torch.channels_last)).sum().backward()
    assert len(grads) == 5
    assert all(g.is_contiguous(memory_format=torch.channels_last) and not g.is_contiguous() for g in grads)
