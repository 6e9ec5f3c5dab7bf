"""Shared fixtures. Real datasets come from $GANKIT_DATA (default ../shared/data); tests that need
one skip with a clear reason when it is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from gankit.data import default_data_root

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# OMP_NUM_THREADS, when set, wins: side-by-side jobs on 2 cores each take one thread. Under
# pytest-xdist the cores are shared out among the workers, and the gankit processes a test starts
# inherit the worker's share, so workers never spin against each other.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
if _workers > 1 and "OMP_NUM_THREADS" not in os.environ:
    os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // _workers))
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or max(1, min(2, os.cpu_count() or 1))))

# fixtures that train something, shared by tests in several files: their tests run on one worker
_SHARED_TRAINED = ("digit_classifier", "trained_dcgan_dir")


def pytest_collection_modifyitems(config, items):
    """Group tests for `--dist loadgroup`: a file's tests stay together (its module fixtures are
    built once), the users of a shared trained fixture stay together, and each slow learning test
    is its own unit, sent out first so that the longest one does not start last."""
    for item in items:
        shared = [f for f in _SHARED_TRAINED if f in getattr(item, "fixturenames", ())]
        if shared:
            group = shared[0]
        elif item.get_closest_marker("slow"):
            group = item.nodeid
        else:
            group = item.path.name
        item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda it: it.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = default_data_root()
    if root is None or not root.is_dir():
        pytest.skip("real datasets not found: set GANKIT_DATA to the folder holding mnist/, facades/, ...")
    return root


def _sub(root: Path, name: str) -> Path:
    p = root / name
    if not p.is_dir():
        pytest.skip(f"dataset folder {p} not found (set GANKIT_DATA)")
    return p


@pytest.fixture(scope="session")
def mnist_root(data_root) -> Path:
    return _sub(data_root, "mnist")


@pytest.fixture(scope="session")
def facades_root(data_root) -> Path:
    return _sub(data_root, "facades")


@pytest.fixture(scope="session")
def horse2zebra_root(data_root) -> Path:
    return _sub(data_root, "horse2zebra")


@pytest.fixture(scope="session")
def att_faces_root(data_root) -> Path:
    return _sub(data_root, "att_faces")


@pytest.fixture(scope="session")
def digit_classifier(mnist_root, tmp_path_factory):
    """A digit classifier trained on the MNIST train split (>= 98% on test), shared by learning tests."""
    from gankit.metrics.classifier import train_digit_classifier

    from gankit.data import load_mnist, to_float

    clf, acc = train_digit_classifier(mnist_root, epochs=2, width=16, label_smoothing=0.0,
                                      out_dir=tmp_path_factory.mktemp("digit_classifier"))
    assert acc >= 0.98, f"test classifier reached only {acc:.2%}"
    # tests threshold its confidence at 0.9: real digits must clear that bar (measured 97%; after
    # one epoch only 95%, which would make a sample-quality bar at 0.9 stricter than real data)
    x, _ = load_mnist(mnist_root, "test")
    with torch.no_grad():
        confident = (clf.eval()(to_float(x[:2000])).softmax(1).max(1).values >= 0.9).float().mean()
    assert confident >= 0.96, f"only {confident:.1%} of real test digits are classified at confidence >= 0.9"
    return clf


@pytest.fixture(scope="session")
def trained_dcgan_dir(tmp_path_factory):
    """A DCGAN trained briefly on the embedded MNIST digits, exported, with its run deleted:
    everything that uses it must work from the generator directory alone."""
    import shutil

    from gankit.cli.main import main

    base = tmp_path_factory.mktemp("dcgan")
    assert main(["train", "dcgan", "--data", "mnist-5k", "--steps", "400", "--out", str(base / "run"),
                 "--set", "train.report=false", "--set", "train.progress=false"]) == 0
    assert main(["export", str(base / "run"), str(base / "generator")]) == 0
    shutil.rmtree(base / "run")
    return base / "generator"


@pytest.fixture
def one_thread():
    """One intra-op thread: on 2 shared cores, two OpenMP threads wait on each other (10x slower)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
