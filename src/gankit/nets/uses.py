"""What an exported generator is for, as a class with its methods: every command that takes a
generator asks its use (``use_of(G)``) rather than comparing the ``meta["kind"]`` string, which is
only how config.json records it.

- :class:`Noise`: images from a latent code (dcgan, cgan, began, sgan...): sample, latent tools.
- :class:`Points`: 2-D points from a latent code (the toy GANs): sample, shown as a scatter.
- :class:`Translate`: image to image (pix2pix, CycleGAN): translate files, scored on held-out pairs.
- :class:`Upscale`: low to high resolution (SRResNet, SRGAN): upscale files, scored on held-out pairs.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import GankitError

MAX_SEED = 2**64 - 1  # torch.Generator.manual_seed's largest


def check_seed(seed, name: str = "seed") -> int:
    """A seed as an int, or a one-line error (a huge or fractional seed would overflow torch's generator)."""
    if isinstance(seed, float) and seed.is_integer():
        seed = int(seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise GankitError(f"{name} must be a whole number from 0 to {MAX_SEED} (2**64-1), got {seed}")
    return seed


Z_PRIORS = ("normal", "uniform")


def z_prior_of(G: nn.Module) -> str:
    """The latent prior a generator was trained with, as its meta records it (none recorded: normal)."""
    return (getattr(G, "meta", None) or {}).get("z_prior", "normal")


def draw_z(n: int, z_dim: int, prior: str = "normal", generator: torch.Generator | None = None,
           device=None) -> torch.Tensor:
    """n latent codes from ``prior``: "normal" N(0, I), or "uniform" U(-1, 1) per coordinate (BEGAN's
    and PacGAN's codes; Improved GAN's U(0, 1) is the same up to G's first affine layer). With a
    ``generator`` the codes are drawn on the CPU from it, then moved to ``device``."""
    if prior not in Z_PRIORS:
        raise GankitError(f"latent prior must be one of {', '.join(Z_PRIORS)}, got {prior!r}")
    where = "cpu" if generator is not None else device
    z = (torch.randn(n, z_dim, generator=generator, device=where) if prior == "normal"
         else torch.rand(n, z_dim, generator=generator, device=where).mul_(2).sub_(1))
    return z if device is None else z.to(device)


def seeded_noise(n: int, z_dim: int, seed: int, prior: str = "normal") -> torch.Tensor:
    """n latent codes from ``seed``, drawn one row at a time so that the first k codes do not
    depend on n (PyTorch's vectorised sampler gives a different stream for different sizes)."""
    g = torch.Generator().manual_seed(check_seed(seed))
    return torch.cat([draw_z(1, z_dim, prior, g) for _ in range(n)])


class Use:
    kind = ""              # the name config.json records (meta["kind"])
    verb = ""              # the CLI command that runs the generator
    from_noise = False     # takes a latent code (and a class label when conditional)
    card_metrics = ""      # what `gankit eval` measures on it, for its model card
    judged_for_collapse = False  # the engine's collapse alarms read its sample grids

    def check(self, verb: str) -> None:
        """Refuse a command that is not this generator's."""
        if verb != self.verb:
            raise GankitError(f"this generator is of kind '{self.kind}', not '{verb}'; use `gankit {self.verb}`")

    def sample(self, G: nn.Module, n: int, seed: int = 0, label: int | None = None, batch_size: int = 256):
        raise GankitError(f"this generator takes images, not noise: use `gankit {self.verb}`")

    def metrics_for(self, data: dict) -> str:
        """What `gankit eval` measures on this generator when it was trained on ``data`` (a data config)."""
        return self.card_metrics

    def eval_command(self, run_dir: Path, data: dict) -> str:
        return f"gankit eval {run_dir} --metrics {self.metrics_for(data)} -n 2000"

    def next_commands(self, run_dir: Path, gen_dir: Path, data: dict) -> list[str]:
        """What a user runs next on a finished run's generator."""
        return [self.run_command(gen_dir), self.eval_command(run_dir, data), f"tensorboard --logdir {run_dir / 'tb'}"]

    def run_command(self, where, inputs: str = "INPUT... -o OUT_DIR") -> str:
        """The command that runs the generator at ``where`` (``inputs``: its files, for image-to-image)."""
        return f"gankit {self.verb} {where} {inputs}"

    def load_code(self) -> list[str]:
        """Python lines after ``G = gankit.load_generator(...)`` in a model card."""
        return []

    def card_samples(self, G: nn.Module, path: Path, grid: Path | None) -> bool:
        """Write samples.png for a model card; False when there is nothing to show."""
        if grid is None or not Path(grid).is_file():
            return False
        import shutil

        shutil.copyfile(grid, path)
        return True


class Noise(Use):
    kind, verb, from_noise, card_metrics, judged_for_collapse = "noise", "sample", True, "fid,kid,pr,diversity", True
    images = True  # the latent tools (interpolate, invert, arithmetic) work on its images

    @torch.no_grad()
    def sample(self, G: nn.Module, n: int, seed: int = 0, label: int | None = None, batch_size: int = 256):
        """n samples in [-1, 1] on the CPU; a conditional generator gives class ``label``, or
        classes in turn when ``label`` is None."""
        k = getattr(G, "num_classes", 0)
        if label is not None and not k:
            raise GankitError("--label given but this generator is unconditional")
        if label is not None and not 0 <= label < k:
            raise GankitError(f"--label must be in 0..{k - 1}, got {label}")
        device = next(G.parameters()).device
        z_all = seeded_noise(n, G.z_dim, seed, z_prior_of(G))
        outs = []
        for i in range(0, n, batch_size):
            b = min(batch_size, n - i)
            y = None
            if k:
                y = (torch.full((b,), label) if label is not None else torch.arange(i, i + b) % k).to(device)
            outs.append(G(z_all[i:i + b].to(device), y).float().cpu())
        return torch.cat(outs)

    def eval_command(self, run_dir: Path, data: dict) -> str:
        if (data.get("name") or "").startswith("mnist"):
            return f"gankit eval {run_dir} --metrics mnist-fid,classes -n 2000"
        return f"gankit eval {run_dir} --metrics fid,kid -n 2000"

    def run_command(self, where, inputs: str = "") -> str:
        return f"gankit sample {where} -n 64 -o samples.png"

    def load_code(self) -> list[str]:
        return ["x = gankit.sample(G, 16, seed=0)  # in [-1, 1]"]

    def card_samples(self, G: nn.Module, path: Path, grid: Path | None) -> bool:
        from ..data import save_grid

        k = getattr(G, "num_classes", 0)
        save_grid(self.sample(G, k * 8 if k else 64, seed=0), path, nrow=k or None)  # a column per class
        return True


class Points(Noise):
    kind, card_metrics, images = "points", "toy2d", False

    def eval_command(self, run_dir: Path, data: dict) -> str:
        return f"gankit eval {run_dir} --metrics toy2d -n 2500"

    def card_samples(self, G: nn.Module, path: Path, grid: Path | None) -> bool:
        from ..data import save_points

        save_points(self.sample(G, 2000, seed=0), path)
        return True


class Translate(Use):
    kind, verb, card_metrics = "translate", "translate", "paired,fid"
    scales = False  # outputs at the input's size

    def metrics_for(self, data: dict) -> str:
        from ..data.translation import eval_metrics_for

        return eval_metrics_for(data)

    def eval_command(self, run_dir: Path, data: dict) -> str:
        return f"gankit eval {run_dir} --metrics {self.metrics_for(data)} --split {data.get('eval_split') or 'val'} -n 100"


class Upscale(Translate):
    kind, verb, card_metrics, scales = "upscale", "upscale", "paired,fid", True

    def metrics_for(self, data: dict) -> str:  # outputs are HR images of the input side, whatever the dataset
        return self.card_metrics


USES: dict[str, Use] = {u.kind: u for u in (Noise(), Points(), Translate(), Upscale())}


def use_of(G: nn.Module | dict) -> Use:
    """The use of a generator, or of the ``meta`` its config.json records (a network whose meta
    records no kind is an image generator from noise)."""
    kind = (G if isinstance(G, dict) else getattr(G, "meta", None) or {}).get("kind", "noise")
    if kind not in USES:
        raise GankitError(f"this network is a {kind}, not a generator")
    return USES[kind]


def sample(G: nn.Module, n: int, seed: int = 0, label: int | None = None, batch_size: int = 256) -> torch.Tensor:
    """n samples in [-1, 1] from a noise generator (N x 2 points for toy generators), on the CPU.
    A conditional generator gives class ``label``, or classes in turn when ``label`` is None."""
    return use_of(G).sample(G, n, seed, label, batch_size)
