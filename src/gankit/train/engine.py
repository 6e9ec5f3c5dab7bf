"""The training loop. It knows nothing of any particular GAN: a recipe supplies the steps."""
from __future__ import annotations

import errno
import shutil
import sys
import time
from pathlib import Path

import torch
from torch import nn

from ..config import save_config
from ..data import Batches, save_grid, save_points, to_float
from ..errors import GankitError
from ..nets.averaging import ema_model
from ..nets.uses import use_of
from ..recipes.base import Recipe
from . import distributed as D
from . import runlog
from .alarms import Alarms
from .export import export_checkpoint, run_facts, write_model_card
from .checkpoint import (check_architecture, clean_temporary, latest_checkpoint, latest_good_checkpoint,
                         load_checkpoint, prune, write_checkpoint)
from .monitors import RtWindow
from .precision import compute_copies, resolve_precision, step_autocast
from .schedule import Schedule


class Divergence(Exception):
    """A loss became NaN or Inf."""


def build_optimizer(params, o) -> torch.optim.Optimizer:
    """Fused kernels where PyTorch has them: the optimizer step is a third of a small GAN's
    iteration on a CPU when each parameter is updated by separate element-wise ops."""
    if o.name == "adam":
        return torch.optim.Adam(params, lr=o.lr, betas=tuple(o.betas), eps=o.eps, weight_decay=o.weight_decay,
                                fused=True)
    if o.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=o.lr, eps=o.eps, weight_decay=o.weight_decay, foreach=True)
    return torch.optim.SGD(params, lr=o.lr, momentum=o.betas[0], weight_decay=o.weight_decay, fused=True)


class Trainer:
    """Runs one training run of a built recipe into ``run_dir`` (see docs/architecture.md for the
    contract); ``dist`` is the process group the recipe was built in (gankit.api.trainer builds both)."""

    def __init__(self, recipe: Recipe, run_dir: str | Path, resume: bool = False, dist: D.DistInfo | None = None):
        self.recipe, self.cfg, self.data, self.device = recipe, recipe.cfg, recipe.data, recipe.device
        cfg, self.run_dir = self.cfg, Path(run_dir)
        self.dist = dist if dist is not None else D.DistInfo()
        self.main = self.dist.is_main
        self.ckpt_dir, self.sample_dir = self.run_dir / "checkpoints", self.run_dir / "samples"
        t = cfg.train
        if t.channels_last:  # oneDNN/cuDNN convolutions run faster on NHWC; a no-op for MLPs
            for m in self.recipe.nets.values():
                m.to(memory_format=torch.channels_last)
        torch.manual_seed(cfg.seed + 1000 * self.dist.rank)  # different noise per rank
        self.batches = Batches(self.data, t.batch_size, cfg.seed, self.device, self.dist.rank, self.dist.world,
                               self.recipe.batch_transform(), labels=self.recipe.batch_labels)
        self.phases = self.recipe.phases()
        t["precision"] = resolve_precision(t.precision, self.device, self.data.kind)  # saved resolved: resume keeps it
        self.autocast = step_autocast(t.precision, self.device, verbose=self.main)
        self.weights = compute_copies(t.precision, self.recipe.nets.values())

        self.params = {p: [q for m in mods for q in m.parameters() if q.requires_grad]
                       for p, mods in self.recipe.players.items()}
        missing = [p for p in self.params if p not in cfg.optim]
        if missing:
            raise GankitError(f"config has no optim.{missing[0]} for player '{missing[0]}' of recipe '{cfg.recipe}'")
        self.opts = {p: build_optimizer(ps, cfg.optim[p]) for p, ps in self.params.items()}
        self.base_lr = {p: cfg.optim[p].lr for p in self.params}

        G = self.recipe.generator()
        self.ema = ema_model(G, t.ema) if t.ema > 0 else None
        self.fixed = self.recipe.fixed_inputs(t.sample_n)
        self.alarms = Alarms(cfg.monitor, classify=self.recipe.domain_classifier())
        self.runlog = runlog.RunLog(self.run_dir, self.alarms, enabled=self.main)
        self.schedule = Schedule(cfg)
        self._alarm_reference: tuple | None = None
        self.rt = RtWindow(cfg.monitor.rt_window)
        self.step = 0
        self.lr_mult = 1.0
        self.rollbacks = 0
        self.acc: dict[str, float] = {}  # sums since the last log line, and how many values each holds:
        self.seen: dict[str, int] = {}   # with n_d > 1 a D number arrives n_d times per iteration, a G number once
        self.best: float | None = None
        self.best_step: int | None = None
        self.log_path = self.runlog.path
        if self.dist.enabled:
            D.broadcast_state(self.recipe.nets.values())
        if resume:
            self.resume()

    # --- helpers --------------------------------------------------------------------------------
    def generator_for_eval(self) -> nn.Module:
        return self.ema.module if self.ema is not None else self.recipe.generator()

    # --- one update ---------------------------------------------------------------------------
    def run_phase(self, phase, batch: dict | None, want_grad_norm: bool):
        """One step of a phase: the recipe's losses, their gradients (in the step's precision), the
        players' updates. Returns the step's output and, when asked, the gradient norms."""
        with self.autocast(), self.weights.swapped():
            out = phase.fn(batch)
            players = list(out.losses)
            for p in players:
                if not torch.isfinite(out.losses[p].detach()).all():
                    raise Divergence(f"loss/{p} became {out.losses[p].item()}")
            for i, p in enumerate(players):
                self.opts[p].zero_grad(set_to_none=True)
                out.losses[p].backward(inputs=self.params[p], retain_graph=i < len(players) - 1)
        return out, self.update(players, want_grad_norm)

    def update(self, players: list[str], want_grad_norm: bool) -> dict[str, float]:
        norms = {}
        for p in players:
            if self.dist.enabled:
                D.average_gradients(self.params[p], self.dist.world)
            if want_grad_norm:
                grads = [q.grad for q in self.params[p] if q.grad is not None]
                norms[f"grad/{p}"] = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))) if grads else 0.0
        for p in players:
            self.opts[p].step()
            self.recipe.after_update(p)
            self.weights.invalidate(self.params[p])
        return norms

    # --- the loop ---------------------------------------------------------------------------------
    def fit(self) -> Path:
        cfg, t = self.cfg, self.cfg.train
        if self.main:
            try:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                clean_temporary(self.ckpt_dir)
                self.runlog.truncate(self.step)
                save_config(cfg, self.run_dir / "config.yaml")
                for name, text in self.recipe.run_files().items():
                    (self.run_dir / name).write_text(text)
            except OSError as e:
                raise self.write_error(e) from None
            self.runlog.open_tb(self.step)
            runlog.tb_config(self.runlog.tb, (self.run_dir / "config.yaml").read_text())
            runlog.tb_hparams_start(self.runlog.tb, cfg.to_dict())
            self.runlog.write_alarms()
        from tqdm.auto import tqdm

        bar = tqdm(total=t.steps, initial=self.step, disable=None if (t.progress and self.main) else True,
                   dynamic_ncols=True, mininterval=1.0, desc=cfg.recipe)
        self.progress = runlog.Progress(t.steps, self.step, enabled=t.progress and self.main)
        sample_every = self.schedule.sample_every()
        acc, seen = self.acc, self.seen  # saved in checkpoints: a resume's first log line averages the same steps
        t0, imgs0 = time.perf_counter(), 0
        batch = None
        try:
            while self.step < t.steps:
                it = self.step
                self.schedule.set_lrs(self.opts, self.base_lr, it, self.lr_mult, self.recipe.lr_scale)
                log_now = (it + 1) % t.log_every == 0 or it + 1 == t.steps
                try:
                    for phase in self.phases:
                        for _ in range(self.schedule.repeats(phase.repeat, it)):
                            if phase.batch == "new":
                                batch = next(self.batches)
                                imgs0 += t.batch_size
                            out, norms = self.run_phase(phase, batch if phase.batch != "none" else None, log_now)
                            if out.carry:
                                batch = {**(batch or {}), **out.carry}
                            for k, v in {**{f"loss/{p}": l.detach() for p, l in out.losses.items()}, **out.logs, **norms}.items():
                                acc[k] = acc.get(k, 0.0) + float(v)
                                seen[k] = seen.get(k, 0) + 1
                            if out.rt is not None:
                                self.rt.add(float(out.rt))
                except Divergence as e:
                    diverged = str(e)
                else:
                    diverged = None
                finally:
                    self.weights.release()  # float32 weights again for EMA, samples, checkpoints, rollbacks
                if diverged is not None:
                    self.handle_divergence(diverged)
                    continue
                if self.ema is not None and it >= t.ema_start:
                    self.ema.update_parameters(self.recipe.generator())
                self.step = it + 1
                bar.update(1)
                if log_now:
                    logs = {k: v / seen[k] for k, v in acc.items()}
                    dt = time.perf_counter() - t0
                    logs["speed/img_per_s"] = imgs0 * self.dist.world / dt if dt > 0 else 0.0
                    if self.rt.value is not None:
                        logs["d/r_t"] = self.rt.value
                    for p, opt in self.opts.items():
                        logs[f"lr/{p}"] = opt.param_groups[0]["lr"]
                    self.log(logs)
                    for msg in self.alarms.on_logs(self.step, logs):
                        self.alarm(msg)
                    bar.set_postfix({k.split("/")[-1]: f"{v:.3f}" for k, v in logs.items() if k.startswith("loss/")})
                    self.progress.report(self.step, logs)
                    acc.clear()
                    seen.clear()
                    t0, imgs0 = time.perf_counter(), 0
                if self.step % sample_every == 0 or self.step == t.steps:
                    self.save_samples()
                if cfg.eval.metric and cfg.eval.every and (self.step % cfg.eval.every == 0 or self.step == t.steps):
                    self.evaluate()
                if self.step % t.ckpt_every == 0 or self.step == t.steps:
                    self.save()
            if self.runlog.tb is not None:
                runlog.tb_hparams_end(self.runlog.tb, cfg.to_dict(), self.runlog.final)
        except OSError as e:  # a log row or sample grid on a full disk or an unwritable directory
            raise self.write_error(e) from None
        finally:
            bar.close()
            self.runlog.close()
        if self.dist.enabled:
            D.broadcast_state(self.recipe.nets.values(), params=False)
            diff = D.max_rank_difference(self.recipe.nets.values())
            if self.main:
                self.log({"dist/max_rank_diff": diff, "dist/world": self.dist.world})
            D.shutdown()
        if self.main:
            try:
                self.finish()
            except OSError as e:
                raise self.write_error(e) from None
        return self.run_dir

    # --- side outputs ---------------------------------------------------------------------------------
    def log(self, logs: dict, step: int | None = None) -> None:
        self.runlog.log(logs, self.step if step is None else step)

    def alarm(self, message: str) -> None:
        self.runlog.alarm(message, self.step)

    @torch.no_grad()
    def save_samples(self) -> None:
        if not self.main:
            return
        G = self.generator_for_eval()
        was_training = G.training
        G.eval()
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            imgs = self.recipe.render(G, self.fixed).float().cpu()
        G.train(was_training)
        path = self.sample_dir / f"step-{self.step:07d}.png"
        if imgs.ndim == 2:
            save_points(imgs, path, reference=self.data.x)
        else:
            save_grid(imgs, path, nrow=self.recipe.grid_nrow(self.fixed))
        if self.runlog.tb is not None:
            runlog.tb_samples(self.runlog.tb, path, self.step)
        # collapse is judged on grids of G's draws from noise: a translation or upscaling grid holds
        # inputs, outputs and targets side by side, near one another by design
        if use_of(self.recipe.generator()).judged_for_collapse:
            real, *labels = self.alarm_reference(imgs.shape[0])
            if imgs.shape[1:] == real.shape[1:]:
                for msg in self.alarms.on_samples(self.step, imgs, real, *labels):
                    self.alarm(msg)

    def alarm_reference(self, n: int) -> tuple:
        """The real data the collapse alarm compares the sample grid with, drawn once at random (a
        folder read class by class would give one class as its first n): for labelled data with at
        most 64 classes (on the grid, for a conditional G), up to 16 images of each with their
        labels, and the grid's labels for a conditional G, so that collapse can be judged within
        classes; otherwise n examples."""
        if self._alarm_reference is None:
            order = torch.randperm(len(self.data.x), generator=torch.Generator().manual_seed(self.cfg.seed))
            asked = self.fixed.get("y")  # a conditional G's grid asks for these classes
            asked = None if asked is None else asked.cpu()
            y = None if self.data.y is None or not self.recipe.batch_labels else self.data.y[order]
            classes = [] if y is None else (y if asked is None else asked).unique().tolist()
            if y is None or len(classes) > 64:
                real, labels = self.data.x[order[:n]], ()
            else:
                idx = torch.cat([order[y == c][:16] for c in classes])
                real, labels = self.data.x[idx], (asked, self.data.y[idx])
            self._alarm_reference = (to_float(real) if real.dtype == torch.uint8 else real, *labels)
        return self._alarm_reference

    @torch.no_grad()
    def evaluate(self) -> None:
        from ..metrics.train_metrics import compute_train_metric

        G = self.generator_for_eval()
        was_training = G.training
        G.eval()
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            torch.manual_seed(self.cfg.seed + 777)
            values = compute_train_metric(self.cfg.eval.metric, self.recipe, G, self.cfg)
        G.train(was_training)
        if not self.main:
            return
        logs = {f"eval/{k}": v for k, v in values.items()}
        head = values.get("value")
        if head is not None and self.cfg.eval.best_mode != "none":
            better = self.best is None or (head < self.best if self.cfg.eval.best_mode == "min" else head > self.best)
            if better:
                self.best, self.best_step = head, self.step
                self.write_checkpoint(self.ckpt_dir / "best.pt")
            logs["eval/best"] = self.best
        self.log(logs)

    # --- checkpoints ------------------------------------------------------------------------------------
    def state(self) -> dict:
        rng = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "step": self.step,
            "config": self.cfg.to_dict(),
            "nets": {k: m.state_dict() for k, m in self.recipe.nets.items()},
            "optim": {p: o.state_dict() for p, o in self.opts.items()},
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "rng": rng,
            "batches": self.batches.state_dict(),
            "recipe": self.recipe.state_dict(),
            "engine": {"lr_mult": self.lr_mult, "rollbacks": self.rollbacks, "best": self.best,
                       "best_step": self.best_step, "rt": self.rt.state_dict(), "alarms": self.alarms.state_dict(),
                       "acc": dict(self.acc), "seen": dict(self.seen), "numerics": self.numerics()},
        }

    def numerics(self) -> dict:
        """What, besides the config, changes a run's numbers: a resume that differs cannot be exact."""
        device = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else self.device.type
        return {"threads": torch.get_num_threads(), "torch": str(torch.__version__), "device": device,
                "cpu": torch.backends.cpu.get_cpu_capability(), "world": self.dist.world}

    def write_checkpoint(self, path: Path) -> None:
        write_checkpoint(self.state(), path, latest_checkpoint(self.ckpt_dir))

    def write_error(self, e: OSError) -> GankitError:
        """One line for a log row, sample grid or export that could not be written."""
        where = e.filename or self.run_dir
        why = e.strerror or str(e)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            free = shutil.disk_usage(self.run_dir).free if self.run_dir.is_dir() else 0
            why = f"the disk is full ({free / 2**20:.1f} MB free)"
        last = latest_checkpoint(self.ckpt_dir)
        return GankitError(f"cannot write {where}: {why}; last good checkpoint: {last or 'none yet'}")

    def save(self) -> None:
        if not self.main:
            return
        if self.runlog.tb is not None:  # the events up to this step reach the disk with the checkpoint
            self.runlog.tb.flush()
        self.write_checkpoint(self.ckpt_dir / f"step-{self.step:07d}.pt")
        prune(self.ckpt_dir, self.cfg.train.keep_last)

    def resume(self) -> None:
        """Continue from the newest checkpoint that verifies; a run killed before its first
        checkpoint starts again from step 0 with its saved config."""
        path, state, bad = latest_good_checkpoint(self.ckpt_dir)
        if path is None and bad:
            raise GankitError(f"--resume {self.run_dir}: no checkpoint verifies ({bad[0]}"
                              + (f", and {len(bad) - 1} older" if len(bad) > 1 else "") + ")")
        if path is None:
            if self.main:
                print(f"gankit: {self.run_dir} has no checkpoint yet: starting from step 0 with its saved config",
                      file=sys.stderr)
            return
        if bad and self.main:
            which = (f"checkpoint {bad[0].path} is" if len(bad) == 1
                     else f"checkpoints {', '.join(str(e.path) for e in reversed(bad))} are")
            print(f"gankit: warning: {which} corrupt ({bad[0].why}); resuming from {path}", file=sys.stderr)
        self.load(path, state)
        was = state["engine"].get("numerics")
        now = self.numerics()
        changed = [f"{k} {was[k]} -> {now[k]}" for k in now if was is not None and was.get(k) != now[k]]
        if changed and self.main:
            print(f"gankit: warning: resuming with {', '.join(changed)} since {path.name} was written: "
                  "the numbers will differ from an uninterrupted run's", file=sys.stderr)

    def load(self, path: Path, s: dict | None = None) -> None:
        s = load_checkpoint(path) if s is None else s
        check_architecture(self.recipe.nets, self.cfg, path, s)
        for k, m in self.recipe.nets.items():
            m.load_state_dict(s["nets"][k])
        for p, o in self.opts.items():
            o.load_state_dict(s["optim"][p])
        if self.ema is not None and s["ema"] is not None:
            self.ema.load_state_dict(s["ema"])
        torch.set_rng_state(s["rng"]["torch"])
        if "cuda" in s["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(s["rng"]["cuda"], self.device)
        if self.dist.enabled:  # distinct noise per rank after a resume too
            torch.manual_seed(int(torch.randint(2**31, (1,))) + self.dist.rank)
        self.batches.load_state_dict(s["batches"])
        self.recipe.load_state_dict(s["recipe"])
        e = s["engine"]
        self.lr_mult, self.rollbacks, self.best, self.best_step = e["lr_mult"], e["rollbacks"], e["best"], e["best_step"]
        self.rt.load_state_dict(e["rt"])
        self.alarms.load_state_dict(e["alarms"])
        for mine, saved in ((self.acc, e.get("acc", {})), (self.seen, e.get("seen", {}))):
            mine.clear()
            mine.update(saved)
        self.step = s["step"]
        self.weights.invalidate()

    def handle_divergence(self, what: str) -> None:
        """Stop, or roll back to the last good checkpoint at half the learning rates. The rollback
        count, the rates' multiplier and the alarms raised survive the reload, so rollbacks end."""
        failing = self.step + 1
        max_rollbacks = self.cfg.train.max_rollbacks
        last, state, _ = latest_good_checkpoint(self.ckpt_dir)
        if self.cfg.train.on_nan == "rollback" and last is not None and self.rollbacks < max_rollbacks:
            rollbacks, lr_mult, fired = self.rollbacks + 1, self.lr_mult * 0.5, dict(self.alarms.fired)
            self.load(last, state)
            self.rollbacks, self.lr_mult = rollbacks, lr_mult
            self.alarms.fired = {**self.alarms.fired, **fired}
            if self.main:
                self.runlog.truncate(self.step, keep_alarms=True)
                self.runlog.open_tb(self.step)
            msg = (f"{what} at step {failing}; rolled back to step {self.step} and halved the learning rates "
                   f"(rollback {self.rollbacks}/{max_rollbacks})")
            self.alarms.on_divergence(failing, msg)
            self.alarm(msg)
            return
        where = f"last good checkpoint: {last}" if last else "no checkpoint was written yet"
        if self.cfg.train.on_nan != "rollback":
            msg = (f"{what} at step {failing}: training stopped ({where}). Lower the learning rates "
                   "(--set optim.D.lr=...) or pass --set train.on_nan=rollback")
        elif last is None:
            msg = (f"{what} at step {failing}: training stopped, nothing to roll back to ({where}). Lower the "
                   "learning rates (--set optim.D.lr=...) or checkpoint sooner (train.ckpt_every)")
        else:
            msg = (f"{what} at step {failing} after {self.rollbacks} rollbacks (train.max_rollbacks="
                   f"{max_rollbacks}): training stopped ({where}). Lower the learning rates (--set optim.D.lr=...)")
        self.alarms.on_divergence(failing, msg)
        self.alarm(msg)
        raise GankitError(msg)

    def finish(self) -> None:
        """Export the generator, write summary.json and the report, and say how the run went, where
        everything is and what to run next."""
        exported_best = False
        if self.best_step is None:
            gen_dir = self.recipe.export(self.generator_for_eval(), self.run_dir / "generator")
            write_model_card(gen_dir, **run_facts(self.run_dir, getattr(latest_checkpoint(self.ckpt_dir), "name", None),
                                                  self.step))
        else:  # the checkpoint the training metric ranked best (the newest that verifies, if it does not)
            gen_dir, used = export_checkpoint(self.run_dir, self.run_dir / "generator", "auto")
            exported_best = used == "best.pt"
        summary = self.summary()
        runlog.write_summary(self.run_dir / "summary.json", summary)
        report = None
        if self.cfg.train.report:
            from ..report import write_report
            report = write_report(self.run_dir)
        lines = runlog.summary_lines(summary)
        lines += [f"run directory: {self.run_dir}",
                  f"  samples:    {self.sample_dir}/step-{self.step:07d}.png",
                  f"  curves:     {self.log_path}",
                  f"  checkpoint: {latest_checkpoint(self.ckpt_dir)}",
                  f"  generator:  {gen_dir}" + (f" (best, step {self.best_step})" if exported_best else "")]
        if self.best_step is not None:
            lines.append(f"  best:       {self.ckpt_dir / 'best.pt'} (step {self.best_step}, {self.cfg.eval.metric} = {self.best:.4g})")
        if report is not None:
            lines.append(f"  report:     {report}")
        next_commands = use_of(self.recipe.generator()).next_commands(self.run_dir, Path(gen_dir), self.cfg.data)
        lines += ["next:"] + [f"  {c}" for c in next_commands]
        print("\n".join(lines))

    def summary(self) -> dict:
        """The facts of the finished run that its closing message and report show."""
        ev = None
        final = self.runlog.final
        if self.runlog.eval_step is not None:
            ev = {"metric": self.cfg.eval.metric, "step": self.runlog.eval_step, "value": final["eval/value"],
                  "values": {k[5:]: v for k, v in final.items() if k.startswith("eval/") and k != "eval/best"},
                  "best": self.best, "best_step": self.best_step}
        device = str(self.device) + (f" x{self.dist.world}" if self.dist.enabled else "")
        if self.device.type == "cpu":
            n = torch.get_num_threads()
            device += f" ({n} thread{'s' if n > 1 else ''})"
        elif self.device.type == "cuda":
            device += f" ({torch.cuda.get_device_name(self.device)})"
        return {"recipe": self.cfg.recipe, "data": self.cfg.data.name, "steps": self.step,
                "start_step": self.progress.start_step, "wall_time_s": round(self.progress.elapsed, 2),
                "device": device, "precision": self.cfg.train.precision,
                "final": {k: v for k, v in final.items() if not k.startswith("eval/")},
                "eval": ev, "alarms": self.runlog.alarm_records()}

