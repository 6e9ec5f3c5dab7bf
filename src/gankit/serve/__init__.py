"""A local web demo of an exported generator (Gradio): sample by seed and class, interpolate with a
slider, add noise, embed an uploaded image, or translate one. Loads only config.json + safetensors."""
from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image

from ..errors import GankitError


def _to_pil(x: torch.Tensor, scale: int = 4) -> Image.Image:
    from ..data import make_grid, to_uint8

    img = to_uint8(x if x.ndim == 3 else make_grid(x)).cpu()
    arr = img[0].numpy() if img.shape[0] == 1 else img.permute(1, 2, 0).numpy()
    pil = Image.fromarray(arr)
    return pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST) if pil.width < 128 else pil


def build_app(gen_dir: str):
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from ..api import load_generator, seeded_noise
    from ..data import read_image, to_float
    from ..latent import invert, slerp, vary
    from ..latent.interpolate import generate

    G = load_generator(gen_dir)
    meta = G.meta
    kind = meta.get("kind", "noise")
    classes = meta.get("class_names") or []

    def checked_image(path):
        if path is None:
            raise gr.Error("upload an image first")
        try:
            img = read_image(path, meta.get("channels") or None,
                             meta.get("image_size") if kind == "noise" else None)
        except GankitError as e:
            raise gr.Error(f"not an image: {e}") from None
        return to_float(img)

    with gr.Blocks(title="gankit demo") as app:
        gr.Markdown(f"## gankit: {meta.get('recipe', '?')} generator ({kind}) from `{gen_dir}`")
        if kind == "noise":
            with gr.Row():
                seed = gr.Number(value=0, precision=0, label="seed", elem_id="seed")
                label = gr.Dropdown(choices=classes, value=classes[0] if classes else None, label="class",
                                    visible=bool(classes), elem_id="label")
                sigma = gr.Slider(0, 1.5, value=0.0, step=0.05, label="noise sigma (variations)", elem_id="sigma")
            with gr.Row():
                seed_b = gr.Number(value=1, precision=0, label="interpolate to seed", elem_id="seed_b")
                t = gr.Slider(0, 1, value=0.0, step=0.05, label="interpolation t (slerp)", elem_id="t")
            button = gr.Button("Generate", elem_id="generate")
            out = gr.Image(label="sample", type="pil", elem_id="sample", format="png")

            def sample_fn(seed, label, sigma, seed_b, t):
                y = classes.index(label) if classes and label in classes else None
                z = slerp(seeded_noise(1, G.z_dim, int(seed or 0)), seeded_noise(1, G.z_dim, int(seed_b or 0)), float(t))
                if sigma > 0:
                    _, imgs = vary(G, z[0], float(sigma), 9, seed=int(seed or 0), label=y)
                    return _to_pil(imgs)
                return _to_pil(generate(G, z, y)[0])

            inputs = [seed, label, sigma, seed_b, t]
            button.click(sample_fn, inputs, out)
            gr.Markdown("### Embed a real image (find z with G(z) close to it)")
            upload = gr.File(label="image to embed", elem_id="upload")
            embed_btn = gr.Button("Embed", elem_id="embed")
            recon = gr.Image(label="reconstruction G(z)", type="pil", elem_id="recon", format="png")
            err = gr.Markdown(elem_id="embed_error")

            def embed_fn(path, label):
                x = checked_image(path)
                y = classes.index(label) if classes and label in classes else None
                res = invert(G, x[None], steps=200, restarts=2, label=y)
                return _to_pil(res.recon[0]), f"mean absolute error {float(res.error[0]):.4f}"

            embed_btn.click(embed_fn, [upload, label], [recon, err])
        else:
            upload = gr.File(label="image to translate", elem_id="upload")
            two_way = meta.get("directions") is not None or "CycleGAN" in type(G).__name__
            direction = gr.Radio(["AtoB", "BtoA"], value="AtoB", label="direction", visible=two_way, elem_id="direction")
            button = gr.Button("Translate", elem_id="generate")
            out = gr.Image(label="output", type="pil", elem_id="sample", format="png")

            def translate_fn(path, direction):
                from ..translate import run_on_image
                x = checked_image(path)
                return _to_pil(run_on_image(G, x, direction=direction if two_way else None))

            button.click(translate_fn, [upload, direction], out)
    return app


def serve(gen_dir: str, host: str = "127.0.0.1", port: int = 7860, block: bool = True):
    app = build_app(gen_dir)
    app.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=not block, quiet=True)
    return app
