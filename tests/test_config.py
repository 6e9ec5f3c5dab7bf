"""Config layering and validation: bad keys and values name themselves in one line."""
import pytest
import yaml

from gankit.config import load_config, recipe_defaults
from gankit.errors import GankitError


def test_recipe_inherits_and_overrides():
    cfg = load_config("wgan-gp")
    assert cfg.model.arch == "dcgan"            # from dcgan.yaml via inherit
    assert cfg.loss.name == "wgan-gp" and cfg.train.n_d == 5
    assert cfg.optim.D.betas == [0.0, 0.9] and cfg.optim.D.lr == pytest.approx(1e-4)
    assert cfg.train.log_every == 50            # from defaults.yaml


def test_set_overrides_parse_yaml_scalars():
    cfg = load_config("dcgan", overrides=["optim.D.lr=1e-3", "train.steps=7", "optim.G.betas=[0.0, 0.99]"])
    assert cfg.optim.D.lr == pytest.approx(1e-3) and cfg.train.steps == 7
    assert cfg.optim.G.betas == [0.0, 0.99]


@pytest.mark.parametrize("override, fragment", [
    ("train.stepz=3", "unknown config key 'train.stepz'"),
    ("train.steps=abc", "config key 'train.steps' expects int"),
    ("train.steps=0", "'train.steps' must be >= 1"),
    ("optim.D.name=adagrad", "optim.D.name"),
    ("train.on_nan=ignore", "train.on_nan"),
    ("optim.D.eps=0", "'optim.D.eps' must be > 0"),
    ("train.precision=fp16", "'train.precision' must be one of auto, fp32, bf16"),
    ("nokey", "--set expects key=value"),
])
def test_bad_overrides_are_one_line_errors(override, fragment):
    with pytest.raises(GankitError) as e:
        load_config("dcgan", overrides=[override])
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_unknown_recipe_lists_choices():
    with pytest.raises(GankitError, match="unknown recipe 'dcgann'.*dcgan"):
        recipe_defaults("dcgann")


def test_config_file_layer(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump({"train": {"batch_size": 8}, "model": {"g_width": 16}}))
    cfg = load_config("dcgan", f)
    assert cfg.train.batch_size == 8 and cfg.model.g_width == 16
    f.write_text("train: [unclosed")
    with pytest.raises(GankitError, match="not valid YAML"):
        load_config("dcgan", f)
    with pytest.raises(GankitError, match="does not exist"):
        load_config("dcgan", tmp_path / "missing.yaml")


def test_cli_prints_one_line_error(capsys):
    from gankit.cli.main import main

    assert main(["train", "--set", "train.bogus=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit: error: unknown config key 'train.bogus'") and "\n" not in err


@pytest.mark.parametrize("recipe, sets, fragment", [
    ("dcgan", ["model.g_widths=[10,10]"], "'model.g_widths' is used only with model.arch = mlp, not dcgan"),
    ("gan", ["model.d_width=16"], "'model.d_width' is used only with model.arch = dcgan, not mlp"),
    ("gan", ["model.g_fc=16"], "'model.g_fc' is used only with model.arch = dcgan, not mlp"),
    ("dcgan", ["model.d_fc=-1"], "config key 'model.d_fc' must be >= 0"),
    ("gan", ["loss.name=lsgan", "loss.clip=0.02"], "'loss.clip' is used only with loss.name = wgan, not lsgan"),
    ("gan", ["loss.gp_weight=1"], "'loss.gp_weight' is used only with gp in loss.reg or loss.name = wgan-gp, not bce alone"),
    ("gan", ["loss.reg=[r0]"], "config key 'loss.reg' lists unknown regulariser 'r0'"),
    ("gan", ["loss.ls_c=0.5"], "'loss.ls_c' is used only with loss.name = lsgan, not bce"),
])
def test_keys_the_run_would_ignore_are_refused(tmp_path, recipe, sets, fragment):
    import gankit

    with pytest.raises(GankitError, match=fragment.replace(".", r"\.")):
        gankit.fit(recipe, data="mnist-5k", steps=1, out=tmp_path / "run", overrides=sets)
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize("recipe", ["dcgan", "wgan"])
def test_optimizer_takes_its_config(recipe):
    import torch

    from gankit.train.engine import build_optimizer

    cfg = load_config(recipe, overrides=["optim.D.eps=1e-4", "optim.D.lr=3e-4"])
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(3))], cfg.optim.D)
    assert type(opt).__name__ == {"dcgan": "Adam", "wgan": "RMSprop"}[recipe]
    assert opt.param_groups[0]["eps"] == 1e-4 and opt.param_groups[0]["lr"] == 3e-4


@pytest.mark.parametrize("recipe", ["gan", "dcgan", "began", "sgan", "cgan"])
def test_parameter_lower_bound_is_below_the_real_count(recipe):
    """The memory check refuses only what cannot fit: its estimate never exceeds the networks' real size."""
    from gankit.config import parameter_lower_bound
    from gankit.data import build_dataset
    from gankit.recipes import get_recipe_class

    cfg = load_config(recipe)
    bound, key = parameter_lower_bound(cfg)
    nets = get_recipe_class(recipe)(cfg, build_dataset(cfg.data, 0), "cpu").nets
    real = sum(p.numel() for net in nets.values() for p in net.parameters())
    assert 0 < bound <= real and key.startswith("model.")


def test_memory_check_names_the_key_and_uses_the_arch():
    from gankit.config import check_memory, recipe_defaults

    cfg = recipe_defaults("dcgan")
    cfg["model"]["g_widths"] = [10 ** 9, 10 ** 9]  # an mlp key: a dcgan does not build it (refused elsewhere)
    check_memory(cfg)
    cfg["model"]["d_width"] = 10 ** 6
    with pytest.raises(GankitError, match=r"'model.d_width' makes networks of at least 1,000,000,000,000 parameters"):
        check_memory(cfg)


@pytest.mark.parametrize("override, fragment", [
    ("train.batch_size=", "'train.batch_size' expects int (like 64), got null"),
    ("data.image_size=abc", "'data.image_size' expects int"),
    ("data.image_size=32", None),
    ("data.root=[a, b]", "'data.root' expects str"),
    ("optim.decay_start=100", None),
    ("model.g_width=0", "'model.g_width' must be >= 1"),
    ("train.ema=-0.1", "'train.ema' must be in [0, 1)"),
])
def test_null_defaults_have_types_and_null_needs_a_null_default(override, fragment):
    if fragment is None:
        load_config("dcgan", overrides=[override])
        return
    with pytest.raises(GankitError) as e:
        load_config("dcgan", overrides=[override])
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_a_dataset_brings_its_protocol_below_the_users_settings():
    """configs/data/toy2d-ring.yaml (PacGAN's networks and schedule) sits between the recipe's defaults
    and the user's file, --loss preset and --set; other datasets and recipes are untouched."""
    from gankit.config import resolve_config

    ring = resolve_config("gan", data="toy2d-ring")
    assert ring.model.g_widths == [400, 400, 400, 400] and ring.model.z_dim == 2 and ring.train.batch_size == 100
    assert ring.train.steps == 20000 and ring.optim.decay_start == 10000 and ring.optim.G.lr == 1e-4
    mine = resolve_config("gan", data="toy2d-ring", steps=500, overrides=["model.z_dim=4", "optim.G.lr=3e-4"])
    assert (mine.train.steps, mine.model.z_dim, mine.optim.G.lr, mine.model.d_widths) == (500, 4, 3e-4, [200, 200, 200])
    assert resolve_config("gan", data="toy2d-ring", loss="lsgan").optim.G.lr == 2e-4  # the family's paper rate
    plain = resolve_config("gan")
    assert plain.model.g_widths == [128, 256, 512, 1024] and plain.train.steps == 3000
    saved = resolve_config("gan", overrides=["data.name=toy2d-ring", "data.name=mnist-5k"])
    assert saved.model.z_dim == 100  # the data layer follows the dataset the run ends up with
    own = resolve_config("gan", data="toy2d-ring", overrides=["data.protocol=false"])
    assert own.model.g_widths == [128, 256, 512, 1024] and own.train.steps == 3000  # the recipe's own defaults
