"""``gankit`` entry point. Every module in this package with a ``register(subparsers)`` function
adds its subcommands; user mistakes (GankitError) print one line and exit 2."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from ..version import __version__
from ..errors import GankitError


class OneLineParser(argparse.ArgumentParser):
    """Argument mistakes print one line (not the usage block) and exit 2, like every other bad input."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="gankit", description="Train, watch, evaluate and use generative adversarial networks.",
        epilog="Run `gankit COMMAND --help` for a command's options. Quick start: `gankit train`.")
    parser.add_argument("--version", action="version", version=f"gankit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    package = importlib.import_module(__package__)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name in ("main", "common"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        result = args.func(args)
    except GankitError as e:
        print(f"gankit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
