"""gankit classify CLASSIFIER_DIR IMAGE_OR_FOLDER..."""
from __future__ import annotations

from pathlib import Path

from ..errors import GankitError
from .common import add_device_arg, device_of


def register(sub) -> None:
    p = sub.add_parser("classify", help="predict the classes of images with an exported classifier (SGAN's D)",
                       description="Prints one line per image: path, predicted class name and its probability "
                                   "(softmax over the K real classes). Images are converted to the classifier's "
                                   "channels and size.",
                       epilog="Example: gankit classify runs/my-sgan/generator/classifier digits/")
    p.add_argument("classifier_dir", metavar="CLASSIFIER_DIR",
                   help="exported classifier (an SGAN export's classifier/ folder, or the export folder holding it)")
    p.add_argument("inputs", nargs="+", metavar="IMAGE", help="image files or folders (searched recursively)")
    p.add_argument("--batch-size", type=int, default=256, metavar="B")
    add_device_arg(p)
    p.set_defaults(func=run)


def load_classifier(path: str | Path, device: str = "cpu"):
    """A network saved with meta kind "classifier"; an SGAN export's folder resolves to its classifier/."""
    from ..nets import load_pretrained, read_config

    path = Path(path)
    if (path / "classifier").is_dir() and read_config(path).get("meta", {}).get("kind") != "classifier":
        path = path / "classifier"
    meta = read_config(path).get("meta", {})
    if meta.get("kind") != "classifier":
        raise GankitError(f"{path} holds a {meta.get('kind') or 'network'} model, not a classifier "
                          "(export an sgan run and pass its classifier/ folder)")
    return load_pretrained(path, device)


def run(args) -> int:
    import torch

    from ..data import expand_inputs, read_image, to_float

    if args.batch_size < 1:
        raise GankitError(f"--batch-size must be >= 1, got {args.batch_size}")
    device = device_of(args)
    net = load_classifier(args.classifier_dir, device)
    meta = net.meta
    names = meta.get("class_names") or [str(i) for i in range(meta["num_classes"])]
    files = expand_inputs(args.inputs)
    for i in range(0, len(files), args.batch_size):
        chunk = files[i:i + args.batch_size]
        x = torch.stack([read_image(f, meta["channels"], meta["image_size"]) for f in chunk])
        with torch.no_grad():
            prob, pred = net(to_float(x).to(device)).softmax(1).max(1)
        for f, k, p in zip(chunk, pred.tolist(), prob.tolist()):
            print(f"{f}\t{names[k]}\t{p:.4f}")
    return 0
