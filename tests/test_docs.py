"""Every `gankit` command written in the README and docs/ parses with the real CLI, and every
`gankit train` one also resolves to a valid config: a renamed option, recipe or config key breaks
this test instead of the reader's first try."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from gankit.api import resolve_config
from gankit.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# the command's arguments start after one of these (plain, chained after pip, or under torchrun)
STARTS = re.compile(r"(?:^|&&\s*)gankit\s+(?=[a-z-])|-m gankit\.cli\.main\s+")
# inline `gankit ...` spans in prose, less the synopses (`[--opt]`, `INPUT...`, `RECIPE`) and bare names
INLINE = re.compile(r"`gankit ([a-z-]+ [^`]+)`")
SYNOPSIS = re.compile(r"\.\.\.|\[|--help|\bRECIPE\b")


def documented_commands() -> list[tuple[str, list[str]]]:
    found = []
    for doc in DOCS:
        text = re.sub(r"\\\n\s*", " ", doc.read_text())  # join shell line continuations
        for n, line in enumerate(text.splitlines(), 1):
            m = STARTS.search(line.strip())
            if m:
                found.append((f"{doc.name}:{n}", shlex.split(line.strip()[m.end():], comments=True)))
            found += [(f"{doc.name}:{n}", shlex.split(span)) for span in INLINE.findall(line)
                      if not SYNOPSIS.search(span)]
    return found


COMMANDS = documented_commands()


def test_the_docs_hold_commands():
    assert len(COMMANDS) >= 60, f"found only {len(COMMANDS)} commands: is the extraction broken?"
    assert {argv[0] for _, argv in COMMANDS} >= {"train", "export", "sample", "eval", "interpolate", "invert",
                                                   "serve", "classify", "translate", "upscale", "report"}


@pytest.mark.parametrize("where,argv", COMMANDS, ids=[w for w, _ in COMMANDS])
def test_documented_command_is_valid(where, argv):
    try:
        args = build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: `gankit {shlex.join(argv)}` does not parse")
    if argv[0] == "train" and args.resume is None:
        config = ROOT / args.config if args.config else None
        resolve_config(args.recipe, data=args.data, data_root=args.data_root, steps=args.steps,
                       batch_size=args.batch_size, seed=args.seed, device=args.device, loss=args.loss,
                       aug=args.aug, config_file=config, overrides=args.overrides,
                       labels_per_class=args.labels_per_class)


def test_help_texts_cite_no_file_users_lack():
    """SPEC.md is a developers' file; `--help` must stand on its own."""
    parser = build_parser()
    subs = next(a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict)).choices
    for name, sub in {"gankit": parser, **subs}.items():
        assert "SPEC" not in sub.format_help(), name


def test_architecture_walkthroughs_name_files_that_hold_what_they_say():
    """The files docs/architecture.md cites exist, and the "how to add a loss" walkthrough's two
    files are where RaGAN (a family) and R1 (a regulariser) live, each whole."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    cited = set(re.findall(r"`((?:src|tests)/[\w/.-]+\.(?:py|yaml))`", text))
    assert len(cited) >= 5
    assert [p for p in cited if not (ROOT / p).is_file()] == []
    adversarial = (ROOT / "src/gankit/losses/adversarial.py").read_text()
    assert "class RaGAN(LossFamily)" in adversarial and "def d_ragan" in adversarial and "def g_ragan" in adversarial
    assert (ROOT / "src/gankit/configs/losses/ragan.yaml").is_file()
    regularisers = (ROOT / "src/gankit/losses/regularisers.py").read_text()
    assert '"r1"' in regularisers and "r1_gamma" in (ROOT / "src/gankit/configs/adversarial.yaml").read_text()
