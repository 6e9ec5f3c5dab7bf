"""The run report: one self-contained HTML file that renders in headless Chromium without errors."""
import shutil
from pathlib import Path

import pytest

from gankit.cli.main import main

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "run"
    assert main(["train", "gan", "--data", "toy2d-ring", "--steps", "60", "--out", str(out), "--batch-size", "64",
                 "--set", "train.log_every=10", "--set", "train.sample_every=20", "--set", "model.g_widths=[32,32]",
                 "--set", "model.d_widths=[32]", "--set", "eval.metric=toy2d-modes", "--set", "eval.every=20",
                 "--set", "eval.n=500"]) == 0
    return out


def test_report_is_written_and_self_contained(run_dir):
    page = (run_dir / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 5  # curves + sample grids, embedded
    for needle in ("Losses", "Discriminator accuracy", "r_t", "Samples over time", "Resolved config", "best (step"):
        assert needle in page
    assert "http://" not in page and "https://" not in page  # nothing to fetch


def test_report_cli_and_bad_dir(run_dir, tmp_path, capsys):
    assert main(["report", str(run_dir), "-o", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").stat().st_size > 10_000
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed (.ci/run installs it)")
def test_report_renders_in_headless_chromium(run_dir):
    sync_api = pytest.importorskip("playwright.sync_api")
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((run_dir / "report.html").resolve().as_uri())
        plots = page.locator("figure.plot img")
        samples = page.locator("figure.sample img")
        assert plots.count() >= 3 and samples.count() >= 2
        # every embedded image decoded to a real picture
        widths = page.evaluate("Array.from(document.images).map(i => i.naturalWidth)")
        assert all(w > 0 for w in widths)
        browser.close()
    assert not errors, errors
