"""How many layers a model has, from its ``config.json``, without loading it or any network.

The claim suite needs the count when it is collected (one cell per layer), and collection
must never download: a registry name knows its count, a directory and a packaged model
have their ``config.json`` on disk, and a hub id is read from the local Hugging Face cache
(``HF_HOME`` / ``HF_HUB_CACHE``) if it is there. Otherwise the count is unknown (None) and
the caller decides, at run time, what to do.

This module is apart from :mod:`harness.models.registry` on purpose: the registry is part
of the code fingerprint of every stored run, and the layer count is not.
"""

import json
from pathlib import Path

from .registry import package_model_dir, resolve_model


def n_layers(name):
    """``num_hidden_layers`` of a registry name, directory or hub id; None when unknown."""
    spec = resolve_model(name)
    if spec.n_layers is not None:
        return spec.n_layers
    path = local_config_path(spec)
    if path is None:
        return None
    try:
        return int(json.loads(Path(path).read_text())["num_hidden_layers"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def local_config_path(spec):
    """Path of the model's ``config.json`` on this machine, or None; never downloads."""
    if spec.scheme == "dir":
        path = Path(spec.location) / "config.json"
    elif spec.scheme == "package":
        try:
            path = package_model_dir(spec.location) / "config.json"
        except ModuleNotFoundError:
            return None
    elif spec.scheme == "hub":
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(spec.location, "config.json")
        path = Path(found) if isinstance(found, str) else None
    else:
        return None
    return path if path is not None and path.is_file() else None


def unknown_layers_message(name):
    """Why a per-layer cell of ``name`` could not be parametrized, and what to do."""
    return (f"the layer count of {name!r} is unknown: its config.json is not in the local "
            "Hugging Face cache (HF_HOME / HF_HUB_CACHE) and collecting the claims never "
            "downloads; fetch the model (with HF_HUB_OFFLINE unset, e.g. "
            f"`hf download {name}`) or pass its directory to --models, then run again")
