"""The layers import one way (docs/architecture.md): a module imports only from packages below its
own, whether at the top of the file or inside a function (lazy imports are for start-up time, never
to dodge a cycle)."""
import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "gankit"

# lowest first; a package may import any package of a lower rank, none of its own rank or above
LAYERS = [
    ("errors", "version"),
    ("extras",),
    ("config", "configs"),  # configs: the YAML data config.py reads
    ("hub", "report"),
    ("data",),
    ("nets", "losses", "augment"),
    ("metrics",),
    ("recipes",),
    ("train", "latent", "translate"),
    ("serve",),
    ("api",),
    ("cli",),
    ("__init__",),
]
RANK = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}


def package_of(path: Path, root: Path = SRC) -> str:
    rel = path.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def gankit_imports(path: Path, root: Path = SRC):
    """(line, imported top-level package) for every import of gankit code in a file under ``root``."""
    tree = ast.parse(path.read_text())
    here = path.relative_to(root).parent.parts  # the importing module's package, below gankit
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here)[:len(here) - node.level + 1]
                parts = base + (node.module.split(".") if node.module else [])
                if parts:
                    yield node.lineno, parts[0]
                else:  # from . import name (in a top-level module of gankit)
                    for alias in node.names:
                        yield node.lineno, alias.name
            elif node.module and node.module.split(".")[0] == "gankit":
                parts = node.module.split(".")
                yield node.lineno, parts[1] if len(parts) > 1 else "__init__"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "gankit":
                    yield node.lineno, parts[1] if len(parts) > 1 else "__init__"


def test_every_package_has_a_layer():
    packages = {package_of(p) for p in SRC.rglob("*.py")}
    assert packages - set(RANK) == set(), "add the new package to LAYERS (and docs/architecture.md)"


def upward_imports(path: Path, root: Path = SRC) -> list[str]:
    mine = package_of(path, root)
    return [f"line {line}: {mine} imports {pkg}" for line, pkg in gankit_imports(path, root)
            if pkg != mine and pkg in RANK and RANK[pkg] >= RANK[mine]]


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_go_down(path):
    bad = upward_imports(path)
    assert not bad, f"{path.relative_to(SRC)}: " + "; ".join(bad)


def test_the_checker_sees_an_upward_import(tmp_path):
    """The test can fail: an engine module importing the API is caught, lazily or not."""
    fake = tmp_path / "gankit" / "train" / "probe.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("def f():\n    from ..api import fit\n    return fit\n")
    root = tmp_path / "gankit"
    assert [pkg for _, pkg in gankit_imports(fake, root)] == ["api"]
    assert upward_imports(fake, root) == ["line 2: train imports api"]


def _string_constants(path: Path) -> set[str]:
    return {n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def test_no_recipe_names_a_loss_and_the_engine_names_no_recipe():
    """Recipes ask their loss family for its terms instead of branching on its name; the engine
    reads the recipe contract instead of knowing a GAN (or a dataset) by name."""
    from gankit.config import loss_names, recipe_registry

    for path in sorted((SRC / "recipes").glob("*.py")):
        assert not _string_constants(path) & set(loss_names()), path.name
    for path in sorted((SRC / "train").glob("*.py")):
        recipes = set(recipe_registry()) - {"gan"}  # also the generic word: a model card's tag
        named = _string_constants(path) & (recipes | {"mnist", "mnist-5k", "d/sign_real"})
        assert not named, f"{path.name} names {named}"
        assert not _reads_kind(path), f"{path.name} reads meta['kind']: ask nets.uses.use_of(G)"


def _reads_kind(path: Path) -> bool:
    """x["kind"] or x.get("kind", ...): the string a generator's use is recorded as."""
    for n in ast.walk(ast.parse(path.read_text())):
        if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Constant) and n.slice.value == "kind":
            return True
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "get" and n.args
                and isinstance(n.args[0], ast.Constant) and n.args[0].value == "kind"):
            return True
    return False


@pytest.mark.parametrize("package", ["api.py", "translate.py", "cli/evaluate.py", "cli/latent.py", "serve/__init__.py"])
def test_commands_ask_a_generator_its_use(package):
    assert not _reads_kind(SRC / package)
