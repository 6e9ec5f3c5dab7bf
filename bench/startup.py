"""Start-up time of the ``gankit`` command, timed as whole processes (median of --repeats).

Times ``gankit --help``, every ``gankit SUB --help`` and ``gankit sample`` on a tiny exported MLP
generator (16 samples to a PNG), with two floors beside them: a bare ``python -c pass`` and
``python -c "import torch"`` (``sample`` cannot start faster than torch imports). Commands run
interleaved (all once, then all again ...) so that a change in the machine's load hits every row alike.
Goals (issue 24 item 3 / issue 27 item 4): ``--help`` < 1 s, ``sample`` < 3 s on 2 cores.
``--compare SRC`` also times every gankit command with another source tree first on PYTHONPATH (e.g.
an older checkout), interleaved with this one, and reports the ratio: a figure that survives load.

    OMP_NUM_THREADS=1 python bench/startup.py [--repeats 5] [--compare ../main/src]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import environment, kind_line, md_table, write_results  # noqa: E402

GOALS = {"help": 1.0, "sample": 3.0}


def gankit_command() -> list[str]:
    """The console script pip installed next to this interpreter (what a user's ``gankit`` runs),
    else whatever ``gankit`` is on PATH (a pyenv shim adds its own start-up)."""
    script = Path(sys.executable).with_name("gankit")
    return [str(script)] if script.is_file() else [shutil.which("gankit") or "gankit"]


def tiny_generator(folder: Path) -> Path:
    from gankit.nets.mlp import MLPGenerator

    G = MLPGenerator(16, (1, 28, 28), (32,))
    G.meta = {"kind": "noise", "z_dim": 16}
    return G.save_pretrained(folder / "gen")


def subcommands() -> list[str]:
    from gankit.cli.main import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def timed(cmd: list[str], src: str | None = None) -> float:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([src] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--compare", metavar="SRC", help="another source tree to time the same gankit commands with")
    args = p.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    gk = gankit_command()
    with tempfile.TemporaryDirectory() as tmp:
        gen = tiny_generator(Path(tmp))
        cmds = {"python -c pass": [sys.executable, "-c", "pass"],
                "python -c 'import torch'": [sys.executable, "-c", "import torch"],
                "gankit --help": gk + ["--help"],
                **{f"gankit {s} --help": gk + [s, "--help"] for s in subcommands()},
                "gankit sample": gk + ["sample", str(gen), "-n", "16", "-o", str(Path(tmp) / "s.png")]}
        load_before = os.getloadavg()
        times: dict[str, list[float]] = {k: [] for k in cmds}
        other: dict[str, list[float]] = {k: [] for k in cmds if k.startswith("gankit")}
        for _ in range(args.repeats):
            for name, cmd in cmds.items():
                times[name].append(timed(cmd))
                if args.compare and name in other:
                    other[name].append(timed(cmd, args.compare))
        load_after = os.getloadavg()
    rows = []
    for name, ts in times.items():
        goal = GOALS["sample"] if name == "gankit sample" else GOALS["help"] if name.endswith("--help") else None
        med = statistics.median(ts)
        row = {"command": name, "median_s": med, "min_s": min(ts), "max_s": max(ts), "goal_s": goal,
               "meets_goal": None if goal is None else med < goal}
        if args.compare and name in other:
            row.update(compare_median_s=statistics.median(other[name]), speedup=statistics.median(other[name]) / med)
        rows.append(row)
        print(f"{name:40s} median {med:6.2f} s  (min {min(ts):.2f}, max {max(ts):.2f})"
              + ("" if goal is None else f"  goal < {goal:g} s: {'yes' if med < goal else 'NO'}")
              + (f"  compare {row['compare_median_s']:.2f} s ({row['speedup']:.1f}x)" if "speedup" in row else ""))
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1-min); "
          + kind_line("not used (start-up only)"))
    data = {"environment": {**environment(), "gankit_command": gk,
                            "load_average_before": load_before, "load_average_after": load_after},
            "repeats": args.repeats, "compare": args.compare, "rows": rows}
    cols = ["command", "median_s", "min_s", "max_s", "goal_s", "meets_goal"] + (["compare_median_s", "speedup"]
                                                                               if args.compare else [])
    write_results("startup", data, md_table(rows, cols))


if __name__ == "__main__":
    main()
