"""A run followed off a terminal: plain progress lines on piped stderr, a closing summary, TensorBoard
images, config text and hparams, alarms.json always present, and sample_every: auto."""
import io
import json
import os
import re
import subprocess
import sys

import pytest

from gankit.report import duration
from gankit.train.runlog import Progress

STEPS = 40
LINE = re.compile(r"^gankit: step (\d+)/40 loss/D=\S+ loss/G=\S+ d/acc_real=\S+ d/acc_fake=\S+ d/r_t=\S+ "
                  r"img/s=\d+ elapsed=\d+s eta=\d+s$")


@pytest.fixture(scope="module")
def piped_run(tmp_path_factory):
    """`gankit train` as a batch job runs it: stdout and stderr are pipes, not a terminal."""
    out = tmp_path_factory.mktemp("runlog") / "run"
    cmd = [sys.executable, "-m", "gankit.cli.main", "train", "gan", "--data", "toy2d-ring", "--steps", str(STEPS),
           "--out", str(out), "--set", "train.log_every=10", "--set", "model.g_widths=[32,32]",
           "--set", "model.d_widths=[32]", "--set", "eval.metric=toy2d-modes", "--set", "eval.every=20",
           "--set", "eval.n=500", "--set", "train.report=false"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, proc.stdout, proc.stderr


def test_piped_stderr_gets_a_plain_line_every_log_interval(piped_run):
    _, _, err = piped_run
    steps = [int(m.group(1)) for m in map(LINE.match, err.splitlines()) if m]
    assert steps == [10, 20, 30, 40], err
    assert "\r" not in err and "it/s" not in err  # no tqdm bar drawn into a log file


def test_closing_summary_gives_time_numbers_alarms_and_next_commands(piped_run):
    run, out, _ = piped_run
    assert re.search(rf"finished gan on toy2d-ring: step {STEPS} in \d+s \(cpu", out), out
    assert re.search(r"final: +loss/D=\S+ loss/G=\S+", out), out
    assert re.search(rf"eval: +toy2d-modes = \S+ \(modes=\d+ .*\) at step {STEPS}", out), out
    assert "alarms:     none raised" in out
    for cmd in (f"gankit sample {run}/generator -n 64", f"gankit eval {run} --metrics toy2d",
                f"tensorboard --logdir {run}/tb"):
        assert cmd in out, out
    summary = json.loads((run / "summary.json").read_text())
    last = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert summary["steps"] == STEPS and summary["wall_time_s"] > 0 and summary["alarms"] == []
    assert summary["final"]["loss/G"] == next(r["loss/G"] for r in reversed(last) if "loss/G" in r)
    assert summary["eval"]["step"] == STEPS and summary["eval"]["metric"] == "toy2d-modes"


def test_alarms_json_is_written_when_none_fired(piped_run):
    run, _, _ = piped_run
    assert json.loads((run / "alarms.json").read_text()) == []


def test_sample_every_auto_gives_ten_grids(piped_run):
    run, _, _ = piped_run
    grids = sorted(p.name for p in (run / "samples").glob("step-*.png"))
    assert grids == [f"step-{s:07d}.png" for s in range(4, STEPS + 1, 4)]


def test_tensorboard_holds_sample_images_config_text_and_hparams(piped_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    run, _, _ = piped_run
    acc = EventAccumulator(str(run / "tb"), size_guidance={"images": 0, "tensors": 0})
    acc.Reload()
    images = acc.Images("samples")
    assert [i.step for i in images] == list(range(4, STEPS + 1, 4))
    assert images[0].width == 400 and images[0].height == 400  # the toy scatter plot, as saved
    text = acc.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "recipe: gan" in text and "name: toy2d-ring" in text and f"steps: {STEPS}" in text
    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    assert start.session_start_info.hparams["train.steps"].number_value == STEPS
    assert start.session_start_info.hparams["data.name"].string_value == "toy2d-ring"
    exp = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    metrics = {m.name.tag for m in exp.experiment.metric_infos}
    assert {"loss/D", "loss/G", "eval/value"} <= metrics and metrics <= set(acc.Tags()["scalars"])


def test_hparams_are_written_when_the_run_starts(tmp_path):
    """A run killed before its end still lists its config in TensorBoard's HPARAMS tab."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    from gankit.train.runlog import RunLog, tb_hparams_start

    log = RunLog(tmp_path, alarms=None, enabled=True)
    log.open_tb(0)
    tb_hparams_start(log.tb, {"train": {"steps": 7, "betas": [0.5, 0.999]}, "data": {"name": "mnist"}})
    log.close()  # no tb_hparams_end: the process died here
    acc = EventAccumulator(str(tmp_path / "tb"), size_guidance={"tensors": 0})
    acc.Reload()
    content = acc.PluginTagToContent("hparams")
    assert "_hparams_/experiment" not in content
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hp = start.session_start_info.hparams
    assert hp["train.steps"].number_value == 7 and hp["data.name"].string_value == "mnist"
    assert hp["train.betas"].string_value == "[0.5, 0.999]"


def test_progress_prints_nothing_on_a_terminal_or_when_off():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    for stream, enabled in ((Tty(), True), (io.StringIO(), False)):
        p = Progress(100, 0, enabled=enabled, stream=stream)
        p.report(10, {"loss/D": 1.0})
        assert stream.getvalue() == ""
    pipe = io.StringIO()
    p = Progress(100, 20, enabled=True, stream=pipe)  # resumed at step 20
    p.t0 -= 8.0  # 8 s for 20 steps: 24 s for the last 60
    p.report(40, {"loss/D": 1.25, "loss/G": 0.5, "d/r_t": 0.125, "grad/D": 3.0, "speed/img_per_s": 999.6})
    assert pipe.getvalue() == "gankit: step 40/100 loss/D=1.25 loss/G=0.5 d/r_t=0.125 img/s=1000 elapsed=8s eta=24s\n"


def test_duration():
    assert [duration(s) for s in (0, 9.6, 65, 3600 + 62)] == ["0s", "10s", "1m05s", "1h01m02s"]


def test_summary_lines_name_the_alarms_and_a_resume():
    from gankit.train.runlog import summary_lines

    s = {"recipe": "dcgan", "data": "mnist-5k", "steps": 1500, "start_step": 500, "wall_time_s": 75.2,
         "device": "cpu (2 threads)", "precision": "bf16", "final": {"loss/D": 0.5, "loss/G": 2.0, "grad/D": 1.0},
         "eval": None, "alarms": [{"name": "collapse", "step": 600, "message": "..."},
                                  {"name": "domination", "step": 900, "message": "..."}]}
    lines = summary_lines(s)
    assert lines[0] == "gankit: finished dcgan on mnist-5k: step 1500 in 1m15s (cpu (2 threads), bf16, resumed at step 500)"
    assert lines[1] == "  final:      loss/D=0.5 loss/G=2"
    assert lines[2] == "  alarms:     2 raised: collapse (step 600), domination (step 900); see alarms.json"
