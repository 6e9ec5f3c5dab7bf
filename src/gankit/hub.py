"""Sharing exported generators through the Hugging Face Hub: loading by Hub id (``user/repo``,
through huggingface_hub's cache) and pushing an export folder (weights and model card) to the Hub."""
from __future__ import annotations

import re
from pathlib import Path

from .errors import GankitError
from .extras import require

CARD_NAME, SAMPLES_NAME = "README.md", "samples.png"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


def is_hub_id(path: str | Path) -> bool:
    """``user/repo`` that is not a local path."""
    s = str(path)
    return not Path(s).exists() and bool(_REPO_ID.match(s)) and ".." not in s


def resolve_model_dir(path: str | Path) -> Path:
    """A local model folder as given, or the cached snapshot of a Hub repo (downloaded when
    online; offline, HF_HUB_OFFLINE=1, the cache alone)."""
    if not is_hub_id(path):
        return Path(path)
    require("huggingface_hub", f"loading '{path}' from the Hugging Face Hub")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=str(path), repo_type="model"))
    except Exception as e:  # offline without a cached copy, no such repo, network errors
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GankitError(f"{path} is not a local model folder and cannot be loaded from the Hugging Face Hub "
                          f"({type(e).__name__}: {reason})") from None


def check_repo_id(repo_id: str) -> None:
    """Refuse a malformed repo id or a missing huggingface_hub before any work is done."""
    if not _REPO_ID.match(repo_id):
        raise GankitError(f"--push-to-hub expects a Hub repo id 'user/repo', got '{repo_id}'")
    require("huggingface_hub", "--push-to-hub")


def push_to_hub(folder: str | Path, repo_id: str, private: bool = False, token: str | None = None) -> str:
    """Upload an exported generator folder to the Hub repo ``repo_id`` (created when absent);
    returns the repo's URL. The token is huggingface_hub's (HF_TOKEN or `hf auth login`)."""
    folder = Path(folder)
    check_repo_id(repo_id)
    from huggingface_hub import HfApi

    card = folder / CARD_NAME
    if card.is_file():  # the card's load commands name the Hub id, not the local folder
        card.write_text(_name_in_commands(card.read_text(), str(folder), repo_id))
    api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="model",
                          commit_message="gankit export")
    except Exception as e:  # offline, no token, no rights, network errors
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GankitError(f"cannot push {folder} to the Hub repo {repo_id} ({type(e).__name__}: {reason})") from None
    return str(url)


def _name_in_commands(card: str, old: str, new: str) -> str:
    """The card with ``old`` replaced by ``new`` in its commands and load code only (a folder named
    like a word of the prose, "gan", must not change the prose)."""
    token = re.compile(rf'(?<=[\s"`]){re.escape(old)}(?=[\s"`]|$)')
    return "\n".join(token.sub(new, line) if line.startswith(("gankit ", "G = gankit.load_generator", "Measure more"))
                     else line for line in card.splitlines()) + "\n"
