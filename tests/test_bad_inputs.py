"""The bad-input corpus: every case is a hostile-but-fair mistake that must end in exit code 2 and
ONE line on stderr naming the thing and what is expected, never a traceback (issue 26, items 5-8).

Most cases fail in validation before any training or heavy import, so they run in-process through
``gankit.cli.main.main``; a few run as real processes to check the same from the outside."""
from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from gankit.cli.main import main
from gankit.config import load_config, save_config

TOY = ["train", "gan", "--data", "toy2d-ring", "--steps", "2", "--out", "{tmp}/toyrun"]

# (case id, argv with {placeholders} for the world's files, a fragment the one line must contain)
CASES = [
    # --- training options and --set values (issue: 14 of 80 tracebacks, silent z_dim=0) -------------
    ("z_dim negative", TOY + ["--set", "model.z_dim=-3"], "'model.z_dim' must be >= 1"),
    ("z_dim zero", TOY + ["--set", "model.z_dim=0"], "'model.z_dim' must be >= 1"),
    ("ckpt_every zero", TOY + ["--set", "train.ckpt_every=0"], "'train.ckpt_every' must be >= 1"),
    ("sample_every zero", TOY + ["--set", "train.sample_every=0"], "'train.sample_every' must be 'auto' or an integer >= 1"),
    ("sample_every a word", TOY + ["--set", "train.sample_every=often"], "'train.sample_every' must be 'auto' or an integer"),
    ("log_every zero", TOY + ["--set", "train.log_every=0"], "'train.log_every' must be >= 1"),
    ("steps zero", ["train", "gan", "--set", "train.steps=0"], "'train.steps' must be >= 1"),
    ("--steps negative", ["train", "gan", "--steps", "-5"], "'train.steps' must be >= 1"),
    ("--batch-size zero", ["train", "gan", "--batch-size", "0"], "'train.batch_size' must be >= 1"),
    ("n_d zero", TOY + ["--set", "train.n_d=0"], "'train.n_d' must be >= 1"),
    ("keep_last zero", TOY + ["--set", "train.keep_last=0"], "'train.keep_last' must be >= 1"),
    ("huge MLP width", TOY + ["--set", "model.g_widths=[100000000]"], "more than this machine's"),
    ("huge DCGAN width", ["train", "dcgan", "--steps", "1", "--set", "model.g_width=100000"], "'model.g_width' makes networks"),
    ("zero MLP width", TOY + ["--set", "model.g_widths=[0]"], "'model.g_widths' must be a list of integers >= 1"),
    ("width list of strings", TOY + ["--set", "model.d_widths=[a,b]"], "'model.d_widths' must be a list of integers"),
    ("width not a list", TOY + ["--set", "model.g_widths=64"], "'model.g_widths' expects list"),
    ("image_size zero", ["train", "dcgan", "--set", "data.image_size=0"], "'data.image_size' must be in [1, 8192]"),
    ("image_size huge", ["train", "dcgan", "--set", "data.image_size=100000"], "'data.image_size' must be in [1, 8192]"),
    ("channels 2", ["train", "dcgan", "--set", "data.channels=2"], "'data.channels' must be one of 1, 3"),
    ("lr 1e6 adam", TOY + ["--set", "optim.D.lr=1e6"], "'optim.D.lr' must be in (0, 1.0] for adam"),
    ("lr zero", TOY + ["--set", "optim.G.lr=0"], "'optim.G.lr' must be in (0"),
    ("lr nan", TOY + ["--set", "optim.G.lr=nan"], "'optim.G.lr' must be a finite number"),
    ("lr inf", TOY + ["--set", "optim.D.lr=.inf"], "'optim.D.lr' must be a finite number"),
    ("betas one value", TOY + ["--set", "optim.D.betas=[0.5]"], "'optim.D.betas' must be two numbers in [0, 1)"),
    ("betas above 1", TOY + ["--set", "optim.G.betas=[1.5, 0.9]"], "'optim.G.betas' must be two numbers"),
    ("weight_decay negative", TOY + ["--set", "optim.D.weight_decay=-1"], "'optim.D.weight_decay' must be >= 0"),
    ("optimizer name", TOY + ["--set", "optim.D.name=adagrad"], "'optim.D.name' must be adam, rmsprop or sgd"),
    ("ema 1", TOY + ["--set", "train.ema=1.0"], "'train.ema' must be in [0, 1)"),
    ("on_nan", TOY + ["--set", "train.on_nan=ignore"], "'train.on_nan' must be one of stop, rollback"),
    ("precision", TOY + ["--set", "train.precision=fp16"], "'train.precision' must be one of auto, fp32, bf16"),
    ("null steps", TOY + ["--set", "train.steps="], "'train.steps' expects int"),
    ("unknown key", TOY + ["--set", "train.stepz=3"], "unknown config key 'train.stepz'"),
    ("unknown section", TOY + ["--set", "trian.steps=3"], "unknown config key 'trian'"),
    ("--set without =", TOY + ["--set", "nokey"], "--set expects key=value"),
    ("steps not a number", TOY + ["--set", "train.steps=abc"], "'train.steps' expects int"),
    ("steps a bool", TOY + ["--set", "train.steps=true"], "'train.steps' expects int"),
    ("section set to a scalar", TOY + ["--set", "train=5"], "'train' expects dict"),
    ("steps beyond 64 bits", ["train", "gan", "--set", "train.steps=" + "1" * 30], "'train.steps' must fit in 64 bits"),
    ("seed negative", TOY + ["--seed", "-1"], "'seed' must be in [0,"),
    ("aug target", TOY + ["--set", "aug.target=2"], "'aug.target' must be in [0, 1]"),
    ("aug mode", ["train", "dcgan", "--aug", "sometimes"], "'aug.mode' (--aug) must be none, ada, diffaug or fixed:P"),
    ("aug fixed p", ["train", "dcgan", "--aug", "fixed:3"], "fixed:P with P in [0, 1]"),
    ("best_mode", TOY + ["--set", "eval.best_mode=avg"], "'eval.best_mode' must be one of min, max, none"),
    ("eval.n zero", TOY + ["--set", "eval.n=0"], "'eval.n' must be >= 1"),
    ("crop above load", ["train", "pix2pix", "--set", "data.crop_size=512"], "'data.load_size' (286) must be >= data.crop_size (512)"),
    ("began gamma zero", ["train", "began", "--set", "model.gamma=0"], "'model.gamma' must be in (0, 1]"),
    ("pool size negative", ["train", "cyclegan", "--set", "model.pool_size=-1"], "'model.pool_size' must be >= 0"),
    ("unknown recipe", ["train", "dcgann"], "invalid choice: 'dcgann'"),
    ("--steps not an int", ["train", "gan", "--steps", "abc"], "invalid int value: 'abc'"),
    ("unknown command", ["trian"], "invalid choice: 'trian'"),
    ("unknown option", ["train", "gan", "--stepz", "3"], "unrecognized arguments: --stepz"),
    ("unknown loss", ["train", "dcgan", "--loss", "bogus"], "bogus"),
    ("unknown dataset", ["train", "gan", "--data", "nosuch", "--steps", "1", "--out", "{tmp}/r"], "unknown dataset 'nosuch'"),
    ("unknown device", TOY + ["--device", "tpu"], "unknown device 'tpu'"),
    ("cuda without a GPU", TOY + ["--device", "cuda"], "CUDA is not available"),
    # --- config files: the same one-line errors as --set ------------------------------------------
    ("config file missing", TOY + ["--config", "{tmp}/missing.yaml"], "does not exist"),
    ("config file invalid YAML", TOY + ["--config", "{bad_yaml}"], "is not valid YAML"),
    ("config file a list", TOY + ["--config", "{list_yaml}"], "must hold a mapping of keys, not list"),
    ("config file wrong type", TOY + ["--config", "{type_yaml}"], "'train.steps' expects int"),
    ("config file unknown key", TOY + ["--config", "{unknown_yaml}"], "unknown config key 'optim.G.momentum'"),
    ("config file section scalar", TOY + ["--config", "{scalar_yaml}"], "'train' expects dict"),
    ("config file null", TOY + ["--config", "{null_yaml}"], "'train.batch_size' expects int (like 32), got null"),
    ("config file other recipe", TOY + ["--config", "{recipe_yaml}"], "is for recipe 'cyclegan', not 'gan'"),
    ("config file z_dim negative", TOY + ["--config", "{zdim_yaml}"], "'model.z_dim' must be >= 1"),
    # --- resume ------------------------------------------------------------------------------------
    ("resume missing run", ["train", "--resume", "{tmp}/nothing"], "not a run directory (no config.yaml)"),
    ("resume with a bad value", ["train", "--resume", "{run}", "--set", "train.ckpt_every=0"], "'train.ckpt_every' must be >= 1"),
    # --- sample / export / serve / latent tools on generators -------------------------------------
    ("sample missing dir", ["sample", "{tmp}/nogen", "-o", "{tmp}/s.png"], "is not a model directory"),
    ("sample dir without config", ["sample", "{empty_dir}", "-o", "{tmp}/s.png"], "has no config.json"),
    ("sample corrupt config", ["sample", "{bad_json_gen}", "-o", "{tmp}/s.png"], "is not valid JSON"),
    ("sample corrupt weights", ["sample", "{bad_weights_gen}", "-o", "{tmp}/s.png"], "model.safetensors is corrupt"),
    ("sample jpg output", ["sample", "{gen}", "-o", "{tmp}/s.jpg"], "expected a file ending in .png or .npy"),
    ("sample n zero", ["sample", "{gen}", "-n", "0", "-o", "{tmp}/s.png"], "-n must be >= 1"),
    ("sample label unconditional", ["sample", "{gen}", "--label", "3", "-o", "{tmp}/s.png"], "unconditional"),
    ("sample huge seed", ["sample", "{gen}", "--seed", str(2 ** 70), "-o", "{tmp}/s.png"], "seed must be a whole number from 0"),
    ("export not a run", ["export", "{tmp}", "{tmp}/out"], "is not a run directory"),
    ("export no checkpoint", ["export", "{run}", "{tmp}/out"], "has no checkpoint yet"),
    ("export best missing", ["export", "{run}", "{tmp}/out", "--which", "best"], "has no best checkpoint"),
    ("serve missing dir", ["serve", "{tmp}/nogen"], "is not a model directory"),
    ("vary on points", ["vary", "{points_gen}", "-o", "{tmp}/v.png"], "is not an image generator from noise"),
    ("translate a noise generator", ["translate", "{gen}", "{img_dir}", "-o", "{tmp}/t"], "of kind 'noise', not 'translate'"),
    ("classify with a generator", ["classify", "{gen}", "{img_dir}"], "not a classifier"),
    ("sample unwritable output", ["sample", "{gen}", "-o", "{npy_as_dir}/s.png"], "cannot write"),
    ("sample unwritable npy", ["sample", "{gen}", "-o", "{npy_as_dir}/s.npy"], "cannot write"),
    ("interpolate codes of another size", ["interpolate", "{gen}", "--from", "{z3_npy}", "--to", "2", "-o", "{tmp}/i.png"],
     "this generator takes K x 8 codes"),
    ("interpolate NaN codes", ["interpolate", "{gen}", "--from", "{znan_npy}", "--to", "2", "-o", "{tmp}/i.png"],
     "codes hold NaN or Inf"),
    ("interpolate zero steps", ["interpolate", "{gen}", "--from", "1", "--to", "2", "--steps", "0", "-o", "{tmp}/i.png"],
     "--steps must be >= 1"),
    ("interpolate negative seed", ["interpolate", "{gen}", "--from", "-1", "--to", "2", "-o", "{tmp}/i.png"],
     "seed must be a whole number from 0"),
    ("interpolate unknown extension", ["interpolate", "{gen}", "--from", "1", "--to", "2", "-o", "{tmp}/i.pngx"],
     "unknown file extension"),
    ("vary huge seed", ["vary", "{gen}", "--seed", str(10 ** 30), "-o", "{tmp}/v.png"], "seed must be a whole number from 0"),
    ("vary negative sigma", ["vary", "{gen}", "--sigma", "-1", "-o", "{tmp}/v.png"], "--sigma must be >= 0"),
    ("vary zero n", ["vary", "{gen}", "-n", "0", "-o", "{tmp}/v.png"], "-n must be >= 1"),
    ("arithmetic without terms", ["arithmetic", "{gen}", "-o", "{tmp}/a.png"], "give terms with --plus"),
    ("arithmetic bad term", ["arithmetic", "{gen}", "--plus", "1,2", "--minus", "x", "-o", "{tmp}/a.png"],
     "term 'x' is not a folder"),
    ("invert zero restarts", ["invert", "{gen}", "{img_dir}", "-o", "{tmp}/inv", "--restarts", "0"], "--restarts must be >= 1"),
    ("train-classifier zero epochs", ["train-classifier", "--epochs", "0"], "--epochs must be >= 1"),
    ("report not a run", ["report", "{empty_dir}"], "is not a run directory"),
    ("config unknown recipe", ["config", "nosuch"], "unknown recipe 'nosuch'"),
    ("invert missing image", ["invert", "{gen}", "{tmp}/none.png", "-o", "{tmp}/inv"], "does not exist"),
    # --- gankit eval inputs ------------------------------------------------------------------------
    ("eval pickled npy", ["eval", "{obj_npy}", "--data", "mnist-5k", "--metrics", "diversity"], "object (pickled) array"),
    ("eval 3-column points", ["eval", "{pts3_npy}", "--data", "toy2d-ring", "--metrics", "toy2d"], "2-D (toy2d) points are N x 2"),
    ("eval NaN images", ["eval", "{nan_npy}", "--data", "mnist-5k", "--metrics", "fid", "-n", "10"], "are NaN or Inf"),
    ("eval Inf points", ["eval", "{inf_npy}", "--data", "toy2d-ring", "--metrics", "toy2d"], "are NaN or Inf"),
    ("eval int64 array", ["eval", "{int_npy}", "--data", "mnist-5k", "--metrics", "diversity"], "dtype int64"),
    ("eval empty array", ["eval", "{empty_npy}", "--data", "mnist-5k", "--metrics", "diversity"], "no samples"),
    ("eval truncated npy", ["eval", "{trunc_npy}", "--data", "mnist-5k"], "is not a readable .npy array"),
    ("eval 3-D array", ["eval", "{hw_npy}", "--data", "mnist-5k"], "expected N x C x H x W images or N x 2 points"),
    ("eval 2 channels", ["eval", "{c2_npy}", "--data", "mnist-5k"], "with C = 1 or 3"),
    ("eval float 0-255", ["eval", "{f255_npy}", "--data", "mnist-5k"], "expected float images in [-1, 1]"),
    ("eval fid on points", ["eval", "{pts_npy}", "--data", "toy2d-ring", "--metrics", "fid"], "metric 'fid' needs images"),
    ("eval stacked on grey", ["eval", "{img_npy}", "--data", "mnist-5k", "--metrics", "stacked"], "N x 3 x 28 x 28"),
    ("eval unknown metric", ["eval", "{img_npy}", "--data", "mnist-5k", "--metrics", "fud"], "unknown metric 'fud'"),
    ("eval no metric", ["eval", "{img_npy}", "--data", "mnist-5k", "--metrics", ","], "no metric given"),
    ("eval n zero", ["eval", "{img_npy}", "--data", "mnist-5k", "-n", "0"], "-n must be >= 1"),
    ("eval fid of one", ["eval", "{img_npy}", "--data", "mnist-5k", "--metrics", "fid", "-n", "1"], "needs at least 2"),
    ("eval missing weights", ["eval", "{img_npy}", "--data", "mnist-5k", "--inception-weights", "{tmp}/no.pt"], "does not exist"),
    ("eval weights not TorchScript", ["eval", "{img_npy}", "--data", "mnist-5k", "--split", "train", "-n", "4",
                                      "--inception-weights", "{bad_yaml}"],
     "cannot load Inception weights"),
    ("eval missing target", ["eval", "{tmp}/nothing.npy", "--data", "mnist-5k"], "nothing.npy does not exist: give a run directory"),
    ("eval no real data", ["eval", "{img_npy}"], "say which real data"),
    ("eval corrupt image", ["eval", "{broken_dir}", "--data", "mnist-5k"], "not a valid or complete image"),
    ("eval unknown dataset", ["eval", "{img_npy}", "--data", "nosuch", "--metrics", "diversity"], "nosuch"),
    # --- image files --------------------------------------------------------------------------------
    ("decompression bomb", ["train", "dcgan", "--data", "image-folder", "--data-root", "{bomb_dir}", "--steps", "1",
                            "--out", "{tmp}/r"], "decompression bombs"),
    ("truncated png", ["train", "dcgan", "--data", "image-folder", "--data-root", "{broken_dir}", "--steps", "1",
                       "--out", "{tmp}/r"], "not a valid or complete image"),
    ("float tiff", ["train", "dcgan", "--data", "image-folder", "--data-root", "{float_dir}", "--steps", "1",
                    "--out", "{tmp}/r"], "32-bit float pixels"),
    ("mixed sizes", ["train", "dcgan", "--data", "image-folder", "--data-root", "{mixed_dir}", "--steps", "1",
                     "--out", "{tmp}/r"], "set data.image_size to resize all images"),
    ("empty image folder", ["train", "dcgan", "--data", "image-folder", "--data-root", "{empty_dir}", "--steps", "1",
                            "--out", "{tmp}/r"], "holds no images"),
    ("image folder without root", ["train", "dcgan", "--data", "image-folder", "--steps", "1", "--out", "{tmp}/r"],
     "needs --data-root"),
]


def _png_claiming(width: int, height: int) -> bytes:
    """A small valid PNG whose header claims width x height: a decompression bomb without the memory."""
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, "PNG")
    b = bytearray(buf.getvalue())
    b[16:24] = struct.pack(">II", width, height)
    b[29:33] = struct.pack(">I", zlib.crc32(bytes(b[12:29])))
    return bytes(b)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, str]:
    from gankit.nets.mlp import MLPGenerator

    t = tmp_path_factory.mktemp("bad")
    w = {"tmp": str(t)}

    def folder(name: str) -> Path:
        (t / name).mkdir()
        w[name] = str(t / name)
        return t / name

    gen = MLPGenerator(8, (1, 28, 28), (16,))
    gen.meta = {"kind": "noise", "z_dim": 8}
    w["gen"] = str(gen.save_pretrained(t / "gen"))
    pts = MLPGenerator(8, (2,), (16,), out_act="none")
    pts.meta = {"kind": "points", "z_dim": 8}
    w["points_gen"] = str(pts.save_pretrained(t / "points_gen"))
    bad_json = gen.save_pretrained(t / "bad_json_gen")
    (bad_json / "config.json").write_text("{not json")
    w["bad_json_gen"] = str(bad_json)
    bad_w = gen.save_pretrained(t / "bad_weights_gen")
    (bad_w / "model.safetensors").write_bytes(b"\x00" * 64)
    w["bad_weights_gen"] = str(bad_w)
    folder("empty_dir")
    run = folder("run")
    save_config(load_config("gan", overrides=["model.z_dim=8", "model.g_widths=[32]"], **{"data.name": "toy2d-ring"}),
                run / "config.yaml")

    rng = np.random.default_rng(0)
    arrays = {"obj_npy": np.array([{"a": 1}, None], dtype=object), "pts3_npy": rng.normal(size=(50, 3)),
              "int_npy": np.zeros((4, 1, 28, 28), np.int64), "empty_npy": np.zeros((0, 1, 28, 28), np.uint8),
              "hw_npy": np.zeros((4, 28, 28), np.uint8), "c2_npy": np.zeros((4, 2, 28, 28), np.uint8),
              "f255_npy": rng.uniform(0, 255, (4, 1, 28, 28)).astype(np.float32),
              "pts_npy": rng.normal(size=(50, 2)).astype(np.float32),
              "img_npy": rng.integers(0, 256, (20, 1, 28, 28), dtype=np.uint8)}
    arrays.update(z3_npy=np.zeros((1, 3), np.float32), znan_npy=np.full((1, 8), np.nan, np.float32),
                  npy_as_dir=np.zeros(1))  # a file where an output folder should be
    nan = rng.uniform(-1, 1, (10, 1, 28, 28)).astype(np.float32)
    nan[0, 0, 3, 3] = np.nan
    inf = rng.normal(size=(50, 2))
    inf[7, 1] = np.inf
    arrays.update(nan_npy=nan, inf_npy=inf)
    for name, arr in arrays.items():
        np.save(t / f"{name}.npy", arr, allow_pickle=True)
        w[name] = str(t / f"{name}.npy")
    (t / "trunc_npy.npy").write_bytes((t / "img_npy.npy").read_bytes()[:100])
    w["trunc_npy"] = str(t / "trunc_npy.npy")
    for name, text in {"bad_yaml": "train: [unclosed", "list_yaml": "- 1\n- 2\n",
                       "type_yaml": yaml.safe_dump({"train": {"steps": "many"}}),
                       "unknown_yaml": yaml.safe_dump({"optim": {"G": {"momentum": 0.9}}}),
                       "scalar_yaml": "train: 5\n", "null_yaml": "train:\n  batch_size: null\n",
                       "recipe_yaml": "recipe: cyclegan\n", "zdim_yaml": "model:\n  z_dim: -3\n"}.items():
        (t / f"{name}.yaml").write_text(text)
        w[name] = str(t / f"{name}.yaml")

    img = folder("img_dir")
    Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(img / "a.png")
    (folder("bomb_dir") / "bomb.png").write_bytes(_png_claiming(50000, 50000))
    broken = folder("broken_dir")
    Image.new("L", (28, 28)).save(broken / "a.png")
    (broken / "b.png").write_bytes((broken / "a.png").read_bytes()[:40])
    Image.fromarray(np.ones((8, 8), np.float32)).save(folder("float_dir") / "f.tif")
    mixed = folder("mixed_dir")
    Image.new("L", (28, 28)).save(mixed / "a.png")
    Image.new("L", (32, 32)).save(mixed / "b.png")
    ab = folder("mixed_ab")
    for split in ("train", "val"):
        (ab / split).mkdir()
        Image.new("RGB", (64, 32)).save(ab / split / "0.png")
        Image.new("RGB", (80, 40)).save(ab / split / "1.png")
    return w


def _argv(argv: list[str], world: dict) -> list[str]:
    return [a.format(**world) for a in argv]


def _check_one_line(rc, err: str, fragment: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, f"exit code {rc}; stderr: {err!r}"
    assert "Traceback" not in err
    assert len(lines) == 1, f"{len(lines)} lines on stderr: {err!r}"
    assert lines[0].startswith("gankit") and "error:" in lines[0]
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("argv, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line(argv, fragment, world, capsys):
    argv = _argv(argv, world)
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's own errors
        rc = e.code
    _check_one_line(rc, capsys.readouterr().err, fragment.format(**world))
    assert not (Path(world["tmp"]) / "toyrun").exists() and not (Path(world["tmp"]) / "r").exists()  # nothing ran


def test_mixed_size_ab_pairs_load_at_load_size_and_else_say_so(world):
    """pix2pix's side-by-side AB files of different sizes: each is split at its own middle and resized to
    data.load_size; without a size the line names the key that helps."""
    from gankit.data.translation import load_paired
    from gankit.errors import GankitError

    a, b = load_paired(world["mixed_ab"], "train", "AtoB", 24)
    assert a.shape == b.shape == (2, 3, 24, 24)
    with pytest.raises(GankitError, match="differ in size; set data.load_size=N"):
        load_paired(world["mixed_ab"], "train", "AtoB", None)


def test_the_corpus_is_large():
    assert len(CASES) >= 80 and len({c[0] for c in CASES}) == len(CASES)


SUBPROCESS = ["z_dim negative", "config file wrong type", "unknown recipe", "eval pickled npy", "decompression bomb"]


@pytest.mark.parametrize("name", SUBPROCESS)
def test_bad_input_from_the_outside(name, world):
    """The same cases as whole `gankit` processes: what a user's shell sees, warnings included."""
    argv = _argv(next(c[1] for c in CASES if c[0] == name), world)
    proc = subprocess.run([sys.executable, "-m", "gankit.cli.main", *argv], capture_output=True, text=True)
    _check_one_line(proc.returncode, proc.stderr, next(c[2] for c in CASES if c[0] == name).format(**world))


def test_config_errors_come_before_importing_torch(world):
    """A bad value is reported without the seconds-long import of torch and the engine."""
    code = ("import sys\nfrom gankit.cli.main import main\n"
            f"rc = main({_argv(TOY + ['--set', 'model.z_dim=0'], world)!r})\n"
            "print(json.dumps([rc, 'torch' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == [2, False]


# --- odd inputs that are handled, not refused ----------------------------------------------------------

def test_16_bit_grey_is_scaled_not_clipped(tmp_path):
    from gankit.data import read_image

    ramp = (np.arange(4 * 256).reshape(4, 256) * 64).astype(np.uint16)  # 0 .. 65472
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    x = read_image(tmp_path / "g16.png")
    assert x.shape == (1, 4, 256) and x.dtype.is_floating_point is False
    assert np.array_equal(x[0].numpy(), np.round(ramp / 257.0).astype(np.uint8))  # not 99.8% at 255
    assert float((x == 255).float().mean()) < 0.01


def test_alpha_cmyk_palette_and_exif_rotation(tmp_path):
    from gankit.data import read_image

    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[0, 0, 3] = 255                      # one opaque red pixel, the rest fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    x = read_image(tmp_path / "a.png")
    assert x[:, 0, 0].tolist() == [255, 0, 0] and x[:, 1, 1].tolist() == [255, 255, 255]  # over white
    assert read_image(tmp_path / "a.png", channels=1)[0, 1, 1] == 255
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)
    assert read_image(tmp_path / "c.jpg")[:, 4, 4].tolist() == [255, 0, 0]
    pal = Image.new("P", (4, 4))
    pal.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    pal.putpixel((0, 0), 1)
    pal.save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png")[:, 0, 0].tolist() == [10, 200, 30]
    im = Image.new("L", (4, 2))                   # 4 wide, 2 high; EXIF orientation 6 = rotate 90° clockwise
    im.putpixel((0, 0), 255)
    exif = im.getexif()
    exif[0x0112] = 6
    im.save(tmp_path / "r.png", exif=exif.tobytes())
    x = read_image(tmp_path / "r.png")
    assert x.shape == (1, 4, 2) and x[0, 0, 1] == 255  # top-left went to top-right


def test_foreign_inception_weights_are_labelled(world, tmp_path, capsys):
    """A TorchScript that is not the FID network gives numbers, loudly marked as not FIDs."""
    import torch

    from gankit.metrics.inception import default_weights, file_sha256, is_fid_inception

    assert is_fid_inception(file_sha256(default_weights()))
    class Foreign(torch.nn.Module):
        def forward(self, x):
            return x.mean((2, 3)).repeat(1, 683)[:, :2048]

    torch.jit.trace(Foreign(), torch.zeros(1, 3, 299, 299)).save(str(tmp_path / "foreign.pt"))
    out = tmp_path / "eval.json"
    assert main(["eval", world["img_npy"], "--data", "mnist-5k", "--metrics", "fid", "-n", "4",
                 "--inception-weights", str(tmp_path / "foreign.pt"), "--json", str(out)]) == 0
    cap = capsys.readouterr()
    assert "WARNING" in cap.out and "NOT the standard FID network" in cap.err
    result = json.loads(out.read_text())
    assert result["settings"]["fid_inception"] is False and "NOT the standard FID network" in result["warnings"][0]
