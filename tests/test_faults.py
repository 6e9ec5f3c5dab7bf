"""Nothing lost: runs killed with SIGKILL at seeded points (mid-step, mid-checkpoint, mid-log-row,
before the first checkpoint, before the export) resume to the uninterrupted run's generator bit for
bit and its logs row for row; corrupt, truncated and unwritable checkpoints give one line and keep
the last good one; rollbacks end."""
from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import gankit
from gankit.cli.main import main
from gankit.errors import GankitError
from gankit.train import checkpoint as C
from gankit.train.engine import Trainer
from gankit.train.runlog import RunLog

STEPS = 90
# ckpt_every is no multiple of log_every: a resume from step 15 must average steps 11-20 for the row at 20
TINY = ["--batch-size", "32", "--seed", "3", "--set", "data.protocol=false", "--set", "model.g_widths=[32,32]",
        "--set", "model.d_widths=[32]",
        "--set", "data.toy_n=1000", "--set", "train.ckpt_every=15", "--set", "train.log_every=10",
        "--set", "train.keep_last=2", "--set", "train.ema=0.9", "--set", "train.report=false",
        "--set", "train.progress=false"]
# thresholds at which the domination alarm fires at step 40, between the checkpoints at 30 and 45
RUN = ["train", "gan", "--data", "toy2d-ring", "--steps", str(STEPS), *TINY, "--set", f"train.sample_every={STEPS}",
       "--set", "eval.metric=toy2d-modes", "--set", "eval.every=30", "--set", "eval.n=200",
       "--set", "monitor.domination_acc=0", "--set", "monitor.domination_intervals=4"]
SHORT = ["train", "gan", "--data", "toy2d-ring", "--steps", "30", *TINY]  # two checkpoints, no best.pt


def _rows(run: Path) -> list[dict]:
    """metrics.jsonl without its wall-clock fields (a row cut short kept as text, to differ)."""
    def parse(line: str) -> dict:
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            return {"unparsable": line}
    rows = [parse(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "time" and not k.startswith("speed/")} for r in rows]


def _tb_scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tb"))
    acc.Reload()  # replays the event files in order, purging a restarted run's orphaned steps
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)]
            for tag in acc.Tags()["scalars"] if not tag.startswith("speed/")}


def _generator(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "generator" / "model.safetensors"))


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """The whole module on one intra-op thread: a child forked from a process whose OpenMP pool has
    run with 2 threads hangs in its first parallel region (libgomp is not fork-safe), and the
    straight run, the killed children and the resumes must all run on the same thread count for
    their weights to be comparable bit for bit."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("faults") / "straight"
    assert main([*RUN, "--out", str(run)]) == 0
    return run


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(kind: str, n: int, frac: float) -> None:
    """In the child: SIGKILL itself at the n-th event of ``kind``."""
    count = {"n": 0}

    def due() -> bool:
        count["n"] += 1
        return count["n"] == n

    if kind == "step":  # inside an update, between the D and G phases or before either
        run_phase = Trainer.run_phase
        Trainer.run_phase = lambda self, *a: _die() if due() else run_phase(self, *a)
    elif kind in ("write", "rename"):  # part of a checkpoint's bytes written / all of them, not renamed
        write = C._write_file

        def write_file(path, data):
            if due() and kind == "write":
                with open(path, "wb") as f:
                    f.write(bytes(data[: int(len(data) * frac)]))
                _die()
            write(path, data)
            if count["n"] == n:
                _die()
        C._write_file = write_file
    elif kind == "row":  # half a metrics.jsonl row written
        log = RunLog.log

        def half_row(self, logs, step):
            if due():
                with open(self.path, "a") as f:
                    f.write(json.dumps({"step": step, **logs})[: int(40 * frac) + 5])
                _die()
            log(self, logs, step)
        RunLog.log = half_row
    elif kind == "export":  # after the last checkpoint, before the generator is exported
        Trainer.finish = lambda self: _die()


def _killed(argv: list[str], kind: str, n: int, frac: float = 0.5) -> None:
    """Run ``gankit argv`` in a forked process (no second import of torch) that kills itself."""
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            _arm(kind, n, frac)
            main(argv)
        finally:
            os._exit(code)  # reached only when the kill never came
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, \
        f"{kind} #{n}: the child was not killed (status {status})"


def _external_kill(run: Path) -> None:
    """A real `gankit` process, killed from outside once its first checkpoint exists."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "gankit.cli.main", *RUN, "--out", str(run)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not C.step_checkpoints(run / "checkpoints") and proc.poll() is None:
            assert time.monotonic() < deadline, "the run wrote no checkpoint in 300 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"


def _cases(rng: random.Random) -> list[tuple[str, list[tuple[str, int, float]], str]]:
    """(name, kills in turn, how the run is finished). Points are drawn from the seeded ``rng``;
    two phases (D, G) per step, a checkpoint every 15 steps and a best.pt at most every 30."""
    first_ckpt_calls = 2 * 15
    return [
        ("step, before the first checkpoint; resumed", [("step", rng.randint(1, first_ckpt_calls), 0)], "resume"),
        ("first checkpoint half written; restarted in place", [("write", 1, rng.random())], "restart"),
        ("step, mid-run", [("step", rng.randint(first_ckpt_calls, 2 * STEPS), 0)], "resume"),
        ("step, after the alarm at step 40", [("step", 2 * rng.randint(41, 44) + rng.randint(0, 1), 0)], "resume"),
        ("checkpoint half written", [("write", rng.randint(2, 6), rng.random())], "resume"),
        ("checkpoint written, not renamed", [("rename", rng.randint(1, 6), 0)], "resume"),
        ("metrics row half written", [("row", rng.randint(1, STEPS // 10), rng.random())], "resume"),
        ("step, then a checkpoint write of the resumed run", [("step", rng.randint(40, 120), 0),
                                                             ("write", rng.randint(1, 3), rng.random())], "resume"),
        ("after the last checkpoint, before the export", [("export", 1, 0)], "resume"),
    ]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the kills are forked processes (POSIX)")
def test_killed_runs_resume_bit_identical(reference, tmp_path, capsys):
    want_gen, want_rows, want_tb = _generator(reference), _rows(reference), _tb_scalars(reference)
    want_alarms = json.loads((reference / "alarms.json").read_text())
    assert [r["step"] for r in want_rows if "alarm" in r] == [40] and len(want_alarms) == 1
    cases = _cases(random.Random(26))
    runs = []
    for i, (name, kills, finish) in enumerate(cases):
        run = tmp_path / f"k{i}"
        for j, (kind, n, frac) in enumerate(kills):
            _killed([*RUN, "--out", str(run)] if j == 0 else ["train", "--resume", str(run)], kind, n, frac)
        runs.append((name, run, finish))
    runs.append(("external SIGKILL of a gankit process", tmp_path / "ext", "resume"))
    _external_kill(tmp_path / "ext")

    same_gen, same_rows, same_tb, failures = 0, 0, 0, []
    for name, run, finish in runs:
        argv = [*RUN, "--out", str(run)] if finish == "restart" else ["train", "--resume", str(run)]
        assert main(argv) == 0, name
        assert not list((run / "checkpoints").glob(".*tmp*")), f"{name}: temporary files left"
        gen = _generator(run)
        if gen.keys() == want_gen.keys() and all(torch.equal(gen[k], want_gen[k]) for k in gen):
            same_gen += 1
        else:
            failures.append(f"{name}: generator differs")
        if _rows(run) == want_rows and json.loads((run / "alarms.json").read_text()) == want_alarms:
            same_rows += 1
        else:
            failures.append(f"{name}: metrics.jsonl or alarms.json differs")
        if _tb_scalars(run) == want_tb:
            same_tb += 1
        else:
            failures.append(f"{name}: TensorBoard scalars differ")
    n = len(runs)
    with capsys.disabled():
        print(f"\nfault suite: {n} killed runs; bit-identical generators {same_gen}/{n}, row-identical "
              f"metrics.jsonl (and alarms.json) {same_rows}/{n}, identical TensorBoard scalars {same_tb}/{n}")
    assert not failures, failures


# --- corrupt and truncated checkpoints --------------------------------------------------------------


def _flip_a_weight_bit(path: Path) -> None:
    """Flip one bit inside G's first weight tensor (the zip stores tensors uncompressed)."""
    w = C.load_checkpoint(path)["nets"]["G"]
    first = next(v for v in w.values() if v.numel() >= 16)
    needle = first.reshape(-1)[:16].contiguous().numpy().tobytes()
    data = bytearray(path.read_bytes())
    at = data.find(needle)
    assert at >= 0
    data[at + 5] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["bit flip", "truncated"])
def test_corrupt_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys, damage):
    run = tmp_path / "r"
    assert main([*SHORT, "--out", str(run)]) == 0
    newest, older = C.step_checkpoints(run / "checkpoints")[-1], C.step_checkpoints(run / "checkpoints")[-2]
    if damage == "bit flip":
        _flip_a_weight_bit(newest)
    else:
        newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    with pytest.raises(GankitError, match="is corrupt"):
        C.load_checkpoint(newest)
    capsys.readouterr()
    assert main(["export", str(run), str(tmp_path / "gen"), "--which", "last"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(newest) in err[0] and str(older) in err[0], err
    # resuming recomputes the lost steps from the older checkpoint: same weights as before the damage
    before = _generator(run)
    assert main(["train", "--resume", str(run), "--steps", "30"]) == 0
    err = capsys.readouterr().err
    assert f"checkpoint {newest} is corrupt" in err and f"resuming from {older}" in err
    after = _generator(run)
    assert all(torch.equal(before[k], after[k]) for k in before)
    C.load_checkpoint(newest)  # rewritten whole


def test_a_corrupt_best_checkpoint_does_not_stop_the_export(tmp_path, capsys, monkeypatch):
    """best.pt damaged after it was written: the finished run exports the newest checkpoint that
    verifies, with one line naming both, and does not call that generator the best."""
    finish = Trainer.finish

    def damage_then_finish(self):
        _flip_a_weight_bit(self.ckpt_dir / "best.pt")
        finish(self)
    monkeypatch.setattr(Trainer, "finish", damage_then_finish)
    run = tmp_path / "r"
    assert main([*SHORT, "--out", str(run), "--set", "eval.metric=toy2d-modes", "--set", "eval.every=15",
                 "--set", "eval.n=200"]) == 0
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "best.pt is corrupt" in lines[0] and "step-0000030.pt instead" in lines[0], lines
    assert "(best, step" not in out and (run / "generator" / "config.json").is_file()
    gankit.load_generator(run / "generator")


def test_resume_refuses_when_no_checkpoint_verifies(tmp_path, capsys):
    run = tmp_path / "r"
    assert main([*SHORT, "--out", str(run)]) == 0
    for p in C.step_checkpoints(run / "checkpoints"):
        p.write_bytes(b"PK\x03\x04 not a checkpoint")
    capsys.readouterr()
    assert main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no checkpoint verifies" in err[0] and "Traceback" not in err[0]


def test_exported_generator_is_verified(tmp_path, capsys):
    run = tmp_path / "r"
    assert main([*SHORT, "--out", str(run)]) == 0
    cfg = json.loads((run / "generator" / "config.json").read_text())
    assert len(cfg["weights_sha256"]) == 64
    weights = run / "generator" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x01  # the last weight's bytes
    weights.write_bytes(bytes(data))
    with pytest.raises(GankitError, match="is corrupt: its sha256 differs"):
        gankit.load_generator(run / "generator")
    capsys.readouterr()
    assert main(["sample", str(run / "generator"), "-n", "4", "-o", str(tmp_path / "s.npy")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is corrupt" in err[0]


# --- a full disk and an unwritable output ----------------------------------------------------------
def test_disk_full_names_the_path_the_space_and_the_last_good_checkpoint(tmp_path, capsys, monkeypatch):
    write, calls = C._write_file, {"n": 0}

    def full_on_the_second(path, data):
        calls["n"] += 1
        if calls["n"] == 2:  # the disk fills half-way through the second checkpoint
            with open(path, "wb") as f:
                f.write(bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        write(path, data)
    monkeypatch.setattr(C, "_write_file", full_on_the_second)
    run = tmp_path / "r"
    assert main([*SHORT, "--out", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    first, second = run / "checkpoints" / "step-0000015.pt", run / "checkpoints" / "step-0000030.pt"
    assert len(err) == 1, err
    assert f"cannot write checkpoint {second}: the disk is full (needs " in err[0]
    assert f"last good checkpoint: {first}" in err[0]
    assert C.load_checkpoint(first)["step"] == 15 and not second.exists()
    assert [p.name for p in (run / "checkpoints").iterdir()] == [first.name]  # no temporary file left
    # the check before writing: too little free space is refused without touching the disk
    monkeypatch.setattr(C, "_write_file", write)
    monkeypatch.setattr(C, "_free_bytes", lambda directory: 1000)
    with pytest.raises(GankitError, match=r"the disk is full \(needs 3\.8 MB, "):
        C.save_atomic({"nets": {"w": torch.ones(10**6)}}, tmp_path / "x" / "step-0000001.pt")
    assert not (tmp_path / "x").exists() or not list((tmp_path / "x").iterdir())


@pytest.mark.skipif(getattr(os, "geteuid", lambda: 1)() != 0, reason="mounting a tmpfs needs root")
def test_disk_full_on_a_real_tmpfs(tmp_path, capsys, monkeypatch):
    """The kernel's ENOSPC half-way through a checkpoint, on a filesystem filled to leave room for one."""
    assert main([*SHORT, "--out", str(tmp_path / "sized")]) == 0
    size = C.latest_checkpoint(tmp_path / "sized" / "checkpoints").stat().st_size
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        (disk / "filler").write_bytes(b"\0" * (shutil.disk_usage(disk).free - size - 48 * 1024))
        monkeypatch.setattr(C, "_free_bytes", lambda directory: 2**40)  # let the write itself hit the wall
        run = disk / "run"
        capsys.readouterr()
        assert main([*SHORT[:5], "45", *SHORT[6:], "--set", "train.sample_every=1000", "--out", str(run)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        first, second = run / "checkpoints" / "step-0000015.pt", run / "checkpoints" / "step-0000030.pt"
        assert len(err) == 1 and f"cannot write checkpoint {second}: the disk is full (needs " in err[0], err
        assert f"last good checkpoint: {first}" in err[0], err
        assert C.load_checkpoint(first)["step"] == 15
        assert [p.name for p in (run / "checkpoints").iterdir()] == [first.name]
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_unwritable_output_directory_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("not a directory")
    assert main([*SHORT, "--out", str(tmp_path / "file" / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"cannot write {tmp_path / 'file' / 'run'}" in err[0] and "none yet" in err[0], err


# --- resume refuses or flags what would change the numbers -------------------------------------------
def test_changed_architecture_on_resume_is_refused(tmp_path, capsys):
    run = tmp_path / "r"
    assert main([*SHORT, "--out", str(run), "--set", "model.z_dim=2"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "40", "--set", "model.z_dim=5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    assert "in this config but shape [" in err[0] and "model.z_dim 2 -> 5" in err[0], err


def test_a_resume_with_other_threads_says_so(tmp_path, capsys):
    run = tmp_path / "r"
    assert main([*SHORT, "--out", str(run)]) == 0
    last = C.latest_checkpoint(run / "checkpoints")
    state = C.load_checkpoint(last)
    assert state["engine"]["numerics"]["threads"] == torch.get_num_threads()
    state["engine"]["numerics"]["threads"] = 7  # as if written on another machine (no 2-thread job here)
    C.save_atomic(state, last)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "31"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert err == [f"gankit: warning: resuming with threads 7 -> {torch.get_num_threads()} since {last.name} was "
                   "written: the numbers will differ from an uninterrupted run's"]


# --- rollback ----------------------------------------------------------------------------------------------
def test_rollback_ends_after_max_rollbacks(tmp_path, capsys):
    """The issue's reproduction: SGD at lr 1 on D diverges at the same step after every rollback."""
    def timeout(*_):
        raise AssertionError("the rollbacks did not end within 120 s")
    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(120)
    try:
        code = main(["train", "gan", "--data", "toy2d-ring", "--steps", "60", "--out", str(tmp_path / "r"),
                     "--set", "data.protocol=false", "--set", "train.ckpt_every=5",
                     "--set", "optim.D.name=sgd", "--set", "optim.D.lr=1.0",
                     "--set", "train.on_nan=rollback", "--set", "train.log_every=1", "--set", "train.report=false",
                     "--set", "train.progress=false"])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("gankit: error")]
    assert len(err) == 1 and "after 3 rollbacks (train.max_rollbacks=3): training stopped" in err[0]
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    alarms = [r["alarm"] for r in rows if "alarm" in r]
    steps = [r["step"] for r in rows if "alarm" not in r]
    assert len(alarms) == 4 and [f"(rollback {i}/3)" in a for i, a in enumerate(alarms[:3], 1)] == [True] * 3
    failing = int(alarms[0].split(" at step ")[1].split(";")[0])
    restart = int(alarms[0].split("rolled back to step ")[1].split(" ")[0])
    # each row once: the steps a rollback recomputes replace the ones it threw away
    assert steps == list(range(1, failing)) and restart % 5 == 0 and restart < failing
    lr = {r["step"]: r["lr/D"] for r in rows if "lr/D" in r}
    assert lr[restart] == 1.0 and all(lr[s] == 1.0 / 8 for s in range(restart + 1, failing))  # halved 3 times
    # the named step is the one that diverges: with on_nan=stop the run stops at that same step
    capsys.readouterr()
    assert main(["train", "gan", "--data", "toy2d-ring", "--steps", "60", "--out", str(tmp_path / "s"),
                 "--set", "data.protocol=false", "--set", "train.ckpt_every=5",
                 "--set", "optim.D.name=sgd", "--set", "optim.D.lr=1.0",
                 "--set", "train.report=false", "--set", "train.progress=false"]) == 2
    assert f"at step {failing}: training stopped" in capsys.readouterr().err


def test_max_rollbacks_bounds_the_retries(tmp_path, capsys):
    assert main(["train", "gan", "--data", "toy2d-ring", "--steps", "60", "--out", str(tmp_path / "r"),
                 "--set", "data.protocol=false", "--set", "train.ckpt_every=5",
                 "--set", "optim.D.name=sgd", "--set", "optim.D.lr=1.0",
                 "--set", "train.on_nan=rollback", "--set", "train.max_rollbacks=1", "--set", "train.report=false",
                 "--set", "train.progress=false"]) == 2
    out = "".join(capsys.readouterr())
    assert out.count("ALARM") == 2 and "(rollback 1/1)" in out and "after 1 rollbacks" in out
