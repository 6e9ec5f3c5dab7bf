"""End to end: `gankit serve` in headless Chromium. The page shows a sample as it opens and follows
its controls without a click; a huge seed gets a clear message; an uploaded image is shown beside
its reconstruction (a translator's upload beside its output), a non-image upload gets an error; a
points generator gets a scatter page."""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed (.ci/run installs it)")
PNG = b"\x89PNG\r\n\x1a\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _server(gen_dir):
    port = _free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False")
    proc = subprocess.Popen([sys.executable, "-m", "gankit.cli.main", "serve", str(gen_dir), "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    try:
        while time.time() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(proc.stdout.read().decode()[-2000:])
                time.sleep(0.5)
        else:
            pytest.fail("gankit serve did not start within 180 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextlib.contextmanager
def _page(url):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        page.goto(url)
        yield page
        browser.close()


def _image_bytes(page, selector):
    src = page.locator(f"{selector} img").first.get_attribute("src")
    return bytes(page.evaluate("async (u) => Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer()))", src)), src


def _changed(page, selector, old_src):
    page.wait_for_function("([sel, s]) => { const i = document.querySelector(sel + ' img'); return i && i.src !== s; }",
                           arg=[selector, old_src], timeout=90_000)


@needs_chromium
def test_noise_page_is_live_validates_seeds_and_embeds_uploads(trained_dcgan_dir, tmp_path):
    from gankit.api import load_generator, sample
    from gankit.data import save_grid

    digit = tmp_path / "digit.png"  # a 28x28 image the generator can reach
    save_grid(sample(load_generator(trained_dcgan_dir), 1, seed=3), digit)
    with _server(trained_dcgan_dir) as url, _page(url) as page:
        page.locator("#sample img").first.wait_for(timeout=90_000)  # shown on open, no click
        first, src1 = _image_bytes(page, "#sample")
        assert first[:8] == PNG
        page.locator("#seed input").fill("7")  # no click on Generate: the change alone updates the sample
        _changed(page, "#sample", src1)
        second, src2 = _image_bytes(page, "#sample")
        assert second[:8] == PNG and second != first
        page.locator("#seed input").fill("99999999999999999999999")
        page.get_by_text("seed must be a whole number from 0 to", exact=False).first.wait_for(timeout=60_000)
        assert _image_bytes(page, "#sample")[1] == src2  # the last good sample stays

        page.locator("#upload input[type=file]").set_input_files(str(digit))  # embeds on upload, no click
        page.locator("#recon img").first.wait_for(timeout=120_000)
        shown, _ = _image_bytes(page, "#embed_input")
        recon, _ = _image_bytes(page, "#recon")
        assert shown[:8] == PNG and recon[:8] == PNG and shown != recon
        boxes = [page.locator(s).first.bounding_box() for s in ("#embed_input", "#recon")]
        assert abs(boxes[0]["y"] - boxes[1]["y"]) < 5 and boxes[0]["x"] < boxes[1]["x"]  # side by side
        page.get_by_text("mean absolute error", exact=False).first.wait_for(timeout=10_000)

        bad = tmp_path / "notes.txt"
        bad.write_text("this is not an image")
        page.reload()  # an empty upload box again
        page.locator("#sample img").first.wait_for(timeout=90_000)
        page.locator("#upload input[type=file]").set_input_files(str(bad))
        page.get_by_text("not an image", exact=False).first.wait_for(timeout=60_000)


@needs_chromium
def test_points_generator_gets_a_scatter_page(tmp_path):
    import torch

    from gankit.nets.mlp import MLPGenerator

    torch.manual_seed(0)
    G = MLPGenerator(z_dim=8, out_shape=(2,), widths=(16,), out_act="none")
    G.meta = {"kind": "points", "recipe": "gan", "dataset": "toy2d-ring", "z_dim": 8, "num_classes": 0}
    G.save_pretrained(tmp_path / "points")
    with _server(tmp_path / "points") as url, _page(url) as page:
        page.locator("#scatter img").first.wait_for(timeout=90_000)
        first, src1 = _image_bytes(page, "#scatter")
        assert first[:8] == PNG
        assert page.locator("#upload").count() == 0 and page.locator("#direction").count() == 0
        page.locator("#seed input").fill("5")
        _changed(page, "#scatter", src1)
        assert _image_bytes(page, "#scatter")[0] != first


@needs_chromium
def test_translator_page_shows_the_upload_beside_its_output(tmp_path):
    import torch

    from gankit.data import save_grid
    from gankit.nets.translation import UNetGenerator

    torch.manual_seed(0)
    G = UNetGenerator(3, 3, num_downs=3, ngf=8)
    G.meta = {"kind": "translate", "recipe": "pix2pix", "dataset": "facades", "image_size": 32, "channels": 3}
    G.save_pretrained(tmp_path / "gen")
    photo = save_grid(torch.rand(1, 3, 32, 32) * 2 - 1, tmp_path / "photo.png")
    with _server(tmp_path / "gen") as url, _page(url) as page:
        assert page.locator("#seed").count() == 0 and page.locator("#scatter").count() == 0
        page.locator("#upload input[type=file]").set_input_files(str(photo))  # translates on upload, no click
        page.locator("#sample img").first.wait_for(timeout=90_000)
        shown, _ = _image_bytes(page, "#translate_input")
        output, _ = _image_bytes(page, "#sample")
        assert shown[:8] == PNG and output[:8] == PNG and shown != output
        boxes = [page.locator(s).first.bounding_box() for s in ("#translate_input", "#sample")]
        assert abs(boxes[0]["y"] - boxes[1]["y"]) < 5 and boxes[0]["x"] < boxes[1]["x"]  # side by side


def test_seeds_are_checked_with_one_line():
    from gankit.api import check_seed, seeded_noise
    from gankit.errors import GankitError

    assert check_seed(7.0) == 7 and check_seed(2**64 - 1) == 2**64 - 1
    for bad in (2**64, -1, 1.5, float("inf"), "3", True):
        with pytest.raises(GankitError, match="seed must be a whole number from 0 to"):
            check_seed(bad)
    with pytest.raises(GankitError, match="got 99999999999999999999999"):
        seeded_noise(1, 4, 99999999999999999999999)


def test_serve_rejects_a_wrong_directory(tmp_path, capsys):
    from gankit.cli.main import main

    assert main(["serve", str(tmp_path)]) == 2
    assert "has no config.json" in capsys.readouterr().err
