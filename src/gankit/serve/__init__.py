"""A local web demo of an exported generator (Gradio), with the page that fits its kind: images from
noise (sample by seed and class, interpolate, add noise, embed an uploaded image beside its
reconstruction), points (a scatter), or image-to-image (an uploaded input beside its output).
Every control updates the output as it changes; the page shows a result as it opens.
Loads only config.json + safetensors."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from ..errors import GankitError
from ..extras import require


def _to_pil(x: torch.Tensor, scale: int = 4) -> Image.Image:
    from ..data import make_grid, to_uint8

    img = to_uint8(x if x.ndim == 3 else make_grid(x)).cpu()
    arr = img[0].numpy() if img.shape[0] == 1 else img.permute(1, 2, 0).numpy()
    pil = Image.fromarray(arr)
    return pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST) if pil.width < 128 else pil


def _scatter(points: torch.Tensor) -> Image.Image:
    from ..data import save_points

    with tempfile.TemporaryDirectory() as tmp:
        path = save_points(points, Path(tmp) / "points.png")
        with Image.open(path) as img:
            return img.convert("RGB")


def build_app(gen_dir: str):
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    require("gradio", "gankit serve")
    import gradio as gr

    from ..nets import load_pretrained as load_generator
    from ..nets.uses import Noise, Points, check_seed, sample, seeded_noise, use_of, z_prior_of
    from ..data import read_image, to_float
    from ..latent import invert, lerp, slerp, vary
    from ..latent.interpolate import generate

    G = load_generator(gen_dir)
    meta = G.meta
    use = use_of(G)
    prior = z_prior_of(G)
    classes = meta.get("class_names") or []

    def shown(fn):
        """Gradio shows a gr.Error's message; any GankitError becomes one (a bare 'Error' otherwise)."""
        def wrapped(*args):
            try:
                return fn(*args)
            except GankitError as e:
                raise gr.Error(str(e)) from None
        return wrapped

    def checked_image(path):
        if path is None:
            raise GankitError("upload an image first")
        try:
            img = read_image(path, meta.get("channels") or None,
                             meta.get("image_size") if use.from_noise else None)
        except GankitError as e:
            raise GankitError(f"not an image: {e}") from None
        return to_float(img)

    def class_index(label):
        return classes.index(label) if classes and label in classes else None

    live = {"trigger_mode": "always_last", "show_progress": "minimal"}
    with gr.Blocks(title="gankit demo") as app:
        gr.Markdown(f"## gankit: {meta.get('recipe', '?')} generator ({use.kind}) from `{gen_dir}`")
        if isinstance(use, Points):
            with gr.Row():
                seed = gr.Number(value=0, precision=0, label="seed", elem_id="seed")
                n = gr.Slider(100, 5000, value=2000, step=100, label="points", elem_id="n")
            button = gr.Button("Generate", elem_id="generate")
            out = gr.Image(label="generated points", type="pil", elem_id="scatter", format="png")

            @shown
            def points_fn(seed, n):
                return _scatter(sample(G, int(n), check_seed(seed, "seed")))

            for event in (button.click, seed.change, n.change, app.load):
                event(points_fn, [seed, n], out, **live)
        elif isinstance(use, Noise):
            with gr.Row():
                seed = gr.Number(value=0, precision=0, label="seed", elem_id="seed")
                label = gr.Dropdown(choices=classes, value=classes[0] if classes else None, label="class",
                                    visible=bool(classes), elem_id="label")
                sigma = gr.Slider(0, 1.5, value=0.0, step=0.05, label="noise sigma (variations)", elem_id="sigma")
            with gr.Row():
                seed_b = gr.Number(value=1, precision=0, label="interpolate to seed", elem_id="seed_b")
                walk_name = "slerp" if prior == "normal" else "lerp"
                t = gr.Slider(0, 1, value=0.0, step=0.05, label=f"interpolation t ({walk_name})", elem_id="t")
            button = gr.Button("Generate", elem_id="generate")
            out = gr.Image(label="sample", type="pil", elem_id="sample", format="png")

            @shown
            def sample_fn(seed, label, sigma, seed_b, t):
                a, b = check_seed(seed, "seed"), check_seed(seed_b, "interpolate to seed")
                walk = slerp if prior == "normal" else lerp  # a straight line stays inside a uniform prior's box
                z = walk(seeded_noise(1, G.z_dim, a, prior), seeded_noise(1, G.z_dim, b, prior), float(t))
                if sigma > 0:
                    _, imgs = vary(G, z[0], float(sigma), 9, seed=a, label=class_index(label))
                    return _to_pil(imgs)
                return _to_pil(generate(G, z, class_index(label))[0])

            inputs = [seed, label, sigma, seed_b, t]
            for event in (button.click, app.load, *(c.change for c in inputs)):
                event(sample_fn, inputs, out, **live)
            gr.Markdown("### Embed a real image (find z with G(z) close to it)")
            with gr.Row():
                upload = gr.File(label="image to embed", elem_id="upload")
                shown_input = gr.Image(label="input", type="pil", elem_id="embed_input", format="png",
                                       interactive=False)
                recon = gr.Image(label="reconstruction G(z)", type="pil", elem_id="recon", format="png",
                                 interactive=False)
            embed_btn = gr.Button("Embed", elem_id="embed")
            err = gr.Markdown(elem_id="embed_error")

            @shown
            def embed_fn(path, label):
                if path is None:  # the upload was cleared
                    return None, None, ""
                x = checked_image(path)
                res = invert(G, x[None], steps=200, restarts=2, label=class_index(label))
                return _to_pil(x), _to_pil(res.recon[0]), f"mean absolute error {float(res.error[0]):.4f}"

            for event in (embed_btn.click, upload.change):
                event(embed_fn, [upload, label], [shown_input, recon, err], **live)
        else:  # an image-to-image generator (translation, upscaling)
            two_way = meta.get("directions") is not None  # a CycleGAN pair translates both ways
            with gr.Row():
                upload = gr.File(label="image to translate", elem_id="upload")
                direction = gr.Radio(["AtoB", "BtoA"], value="AtoB", label="direction", visible=two_way,
                                     elem_id="direction")
            button = gr.Button("Translate", elem_id="generate")
            with gr.Row():
                shown_input = gr.Image(label="input", type="pil", elem_id="translate_input", format="png",
                                       interactive=False)
                out = gr.Image(label="output", type="pil", elem_id="sample", format="png", interactive=False)

            @shown
            def translate_fn(path, direction):
                from ..translate import run_on_image

                if path is None:
                    return None, None
                x = checked_image(path)
                return _to_pil(x), _to_pil(run_on_image(G, x, direction=direction if two_way else None))

            for event in (button.click, upload.change, direction.change):
                event(translate_fn, [upload, direction], [shown_input, out], **live)
    return app


def _patient_url_ok(url: str, wait: float = 60.0) -> bool:
    """Gradio's own check gives up on the first HEAD request slower than 3 s and then refuses to
    serve ("localhost is not accessible"); on a loaded machine the first answer can take longer."""
    import httpx

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            if httpx.head(url, timeout=10, verify=False).status_code < 500:  # any answer: localhost is reachable
                return True
        except (httpx.ConnectError, httpx.TimeoutException):
            pass
        time.sleep(0.5)
    return False


def serve(gen_dir: str, host: str = "127.0.0.1", port: int = 7860, block: bool = True):
    from gradio import networking

    app = build_app(gen_dir)
    networking.url_ok = _patient_url_ok
    app.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=not block, quiet=True)
    return app
