"""gankit datasets | gankit config RECIPE: what can be chosen, and every config key."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("datasets", help="list the datasets --data accepts")
    p.set_defaults(func=run_datasets)
    p = sub.add_parser("config", help="print a recipe's full default config (every key --set accepts)")
    p.add_argument("recipe", nargs="?", default="dcgan", metavar="RECIPE")
    p.set_defaults(func=run_config)


def run_datasets(args) -> int:
    from ..data import DATASETS

    for name, (_, help_) in sorted(DATASETS.items()):
        print(f"{name:16s} {help_}")
    return 0


def run_config(args) -> int:
    import yaml

    from ..config import recipe_defaults

    print(yaml.safe_dump(recipe_defaults(args.recipe), sort_keys=False), end="")
    return 0
