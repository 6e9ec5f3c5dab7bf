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


def test_report_summary_block_and_throughput(run_dir):
    page = (run_dir / "report.html").read_text()
    summary = page[page.index('<table class="summary">'):page.index("</table>")]
    for needle in ("wall time", "cpu", "fp32", "60 of 60", "final losses", "loss/D=", "toy2d-modes = ",
                   "img/s", "none raised"):
        assert needle in summary, needle
    assert page.index('class="summary"') < page.index("<h2>Curves")
    assert 'alt="Throughput"' in page


def test_report_of_an_unfinished_run_says_so(run_dir, tmp_path):
    shutil.copytree(run_dir, tmp_path / "run", ignore=shutil.ignore_patterns("summary.json", "checkpoints"))
    from gankit.report import write_report

    page = write_report(tmp_path / "run").read_text()
    assert "the run has not finished" in page and "60 of 60" in page and "toy2d-modes = " in page
    # a summary.json older than the log (the run resumed since) is not taken as the run's end
    (tmp_path / "run" / "summary.json").write_text((run_dir / "summary.json").read_text().replace('"steps": 60', '"steps": 40'))
    assert "the run has not finished" in write_report(tmp_path / "run").read_text()
    shutil.copy(run_dir / "summary.json", tmp_path / "run" / "summary.json")
    assert "the run has not finished" not in write_report(tmp_path / "run").read_text()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed (.ci/run installs it)")
def test_report_panels_sit_two_per_row(run_dir, tmp_path):
    """At common screen widths the curve panels form two columns, each panel drawn (not blank)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from PIL import Image

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for width in (1024, 1280, 1920):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto((run_dir / "report.html").resolve().as_uri())
            boxes = [b.bounding_box() for b in page.locator("figure.plot img").all()]
            assert len(boxes) >= 6
            lefts = sorted({round(b["x"]) for b in boxes})
            assert len(lefts) == 2, (width, lefts)  # two columns ...
            for a, b in zip(boxes[::2], boxes[1::2]):  # ... filled row by row, side by side
                assert abs(a["y"] - b["y"]) < 2 and b["x"] >= a["x"] + a["width"], (width, a, b)
                assert 400 <= a["width"] <= 620, (width, a)
            shot = tmp_path / f"report-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            img = Image.open(shot).convert("L")
            for b in boxes[:2]:  # the panel's pixels in the screenshot hold a drawn plot, not a blank
                crop = img.crop((int(b["x"]), int(b["y"]), int(b["x"] + b["width"]), int(b["y"] + b["height"])))
                lo, hi = crop.getextrema()
                assert hi - lo > 150, (width, b)
            page.close()
        browser.close()
