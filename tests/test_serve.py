"""End to end: `gankit serve` in headless Chromium changes the image with the seed; a non-image
upload shows an error."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed (.ci/run installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(trained_dcgan_dir):
    port = _free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False")
    proc = subprocess.Popen([sys.executable, "-m", "gankit.cli.main", "serve", str(trained_dcgan_dir), "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(proc.stdout.read().decode()[-2000:])
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("gankit serve did not start within 120 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def _image_bytes(page, selector):
    src = page.locator(f"{selector} img").first.get_attribute("src")
    return page.evaluate("async (u) => Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer()))", src), src


def test_seed_changes_the_image_and_bad_upload_errors(server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        page.goto(server)
        page.locator("#generate").click()
        page.locator("#sample img").first.wait_for(timeout=60_000)
        first, src1 = _image_bytes(page, "#sample")
        assert bytes(first[:8]) == b"\x89PNG\r\n\x1a\n"
        page.locator("#seed input").fill("7")
        page.locator("#generate").click()
        page.wait_for_function("(s) => { const i = document.querySelector('#sample img'); return i && i.src !== s; }",
                               arg=src1, timeout=60_000)
        second, _ = _image_bytes(page, "#sample")
        assert bytes(second[:8]) == b"\x89PNG\r\n\x1a\n" and second != first
        bad = tmp_path / "notes.txt"
        bad.write_text("this is not an image")
        page.locator("#upload input[type=file]").set_input_files(str(bad))
        page.locator("#embed").click()
        page.get_by_text("not an image", exact=False).first.wait_for(timeout=60_000)
        browser.close()


def test_serve_rejects_a_wrong_directory(tmp_path, capsys):
    from gankit.cli.main import main

    assert main(["serve", str(tmp_path)]) == 2
    assert "has no config.json" in capsys.readouterr().err
