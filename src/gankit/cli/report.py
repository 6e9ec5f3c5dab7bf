"""gankit report RUN_DIR [-o report.html]"""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("report", help="write a run's self-contained HTML report",
                       description="Curves (losses, D accuracy, logits, r_t and p, BEGAN k_t and M_global, metrics "
                                   "with the best checkpoint), samples over time, alarms and the resolved config, "
                                   "in one HTML file with everything embedded (opens offline).")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("-o", "--out", metavar="FILE", help="output file (default RUN_DIR/report.html)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..report import write_report

    print(f"wrote {write_report(args.run_dir, args.out)}")
    return 0
