"""A model folder is checked before anything trains: it must agree with itself.

Without loading the weights (:func:`check_model_directory`, a few milliseconds: the
safetensors header is JSON at the start of the file):

* ``config.json`` is a JSON object whose sizes (``num_hidden_layers``, ``hidden_size``,
  ``num_attention_heads``, ``vocab_size``, ``max_position_embeddings``) are integers
  >= 1, with ``hidden_size`` a multiple of ``num_attention_heads``;
* the weight file is whole (a truncated or random-bytes file is named as such) and holds
  as many transformer layers as ``num_hidden_layers`` says, with embeddings of
  ``hidden_size`` columns and ``vocab_size`` rows;
* the folder has tokenizer files (without them transformers builds a 5-token vocabulary,
  and every word becomes ``[UNK]``).

After loading, :func:`check_loading_info` turns transformers' report of weights the
architecture expected but the checkpoint lacked (left randomly initialised), or
checkpoint weights of the encoder that went unused, into an error. Every problem is one
:class:`~harness.exceptions.ModelFormatError` line naming the file.
"""

import json
import re
import struct
from pathlib import Path

from ..exceptions import ModelFormatError

#: ``config.json`` sizes that must be integers >= 1 when present.
SIZE_FIELDS = ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size",
               "max_position_embeddings", "intermediate_size")
#: Files one of which a tokenizer needs (fast tokenizer, WordPiece, BPE, SentencePiece).
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model",
                   "sentencepiece.bpe.model", "tokenizer.model")
#: ``...layer.3.`` (BERT's ``encoder.layer.N``) or ``...layers.3.``: a transformer layer.
_LAYER = re.compile(r"(?:^|\.)layers?\.(\d+)\.")
#: Weights of the encoder proper (an unused one means the config and weights disagree);
#: other unused weights (a pooler, a pretraining head such as BERT's ``cls.``) are expected.
_ENCODER = re.compile(r"(?:^|\.)(embeddings|encoder|transformer)\.")
#: Buffers that older checkpoints saved and newer code recomputes (not weights).
_BUFFERS = ("position_ids", "token_type_ids")
#: Largest safetensors header we read (the format's own limit is 100 MB).
_MAX_HEADER = 100_000_000


def read_config(directory):
    """``config.json`` of ``directory`` as a dict, its sizes checked (see module docstring)."""
    path = Path(directory) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as err:
        raise ModelFormatError(f"{path}: not valid utf-8 ({err.reason}).") from None
    except ValueError as err:
        raise ModelFormatError(f"{path}: not valid JSON ({err}).") from None
    if not isinstance(config, dict):
        raise ModelFormatError(f"{path}: expected a JSON object of settings; got a JSON "
                               f"{type(config).__name__}.")
    for name in SIZE_FIELDS:
        value = config.get(name)
        if name in config and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ModelFormatError(f"{path}: {name} must be an integer >= 1; got {value!r}.")
    heads, hidden = config.get("num_attention_heads"), config.get("hidden_size")
    if heads and hidden and hidden % heads:
        raise ModelFormatError(f"{path}: hidden_size {hidden} is not a multiple of "
                               f"num_attention_heads {heads}.")
    return config


def safetensors_shapes(path):
    """``{tensor name: shape}`` from a ``.safetensors`` file's header, after checking that
    the file is long enough for every tensor the header lists."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else None
        if n is None or n > min(_MAX_HEADER, size - 8):
            raise ModelFormatError(f"{path}: not a safetensors file (no valid header); "
                                   "replace it with the model's weights.")
        try:
            header = json.loads(fh.read(n))
        except ValueError:
            header = None
    if not isinstance(header, dict):
        raise ModelFormatError(f"{path}: not a safetensors file (its header is not JSON); "
                               "replace it with the model's weights.")
    shapes, end = {}, 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            shapes[name] = tuple(int(d) for d in info["shape"])
            end = max(end, int(info["data_offsets"][1]))
        except (KeyError, TypeError, ValueError, IndexError):
            raise ModelFormatError(f"{path}: damaged safetensors header (tensor {name!r}); "
                                   "replace it with the model's weights.") from None
    if 8 + n + end > size:
        raise ModelFormatError(f"{path}: truncated ({size} bytes; its header lists "
                               f"{8 + n + end}); replace it with the model's weights.")
    return shapes


def _bin_shapes(path):
    """``{tensor name: shape}`` of a ``pytorch_model.bin``, read without running code
    (``weights_only``) and without reading the tensors (``meta``)."""
    import torch

    try:
        state = torch.load(path, map_location="meta", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure means the file is not weights
        raise ModelFormatError(f"{path}: cannot be read as weights ({type(err).__name__}: "
                               f"{str(err).splitlines()[0] if str(err) else ''}).") from None
    if not isinstance(state, dict):
        raise ModelFormatError(f"{path}: expected a state dict of tensors.")
    return {k: tuple(v.shape) for k, v in state.items() if hasattr(v, "shape")}


def weight_shapes(directory):
    """``(weight file, {tensor name: shape})`` of the model in ``directory``."""
    directory = Path(directory)
    if (directory / "model.safetensors").is_file():
        path = directory / "model.safetensors"
        return path, safetensors_shapes(path)
    path = directory / "pytorch_model.bin"
    return path, _bin_shapes(path)


def check_weights(directory, config):
    """Raise unless the weights hold the layers and sizes ``config.json`` says."""
    path, shapes = weight_shapes(directory)
    config_path = Path(directory) / "config.json"
    if not shapes:
        raise ModelFormatError(f"{path}: holds no tensors.")
    layers = {int(m.group(1)) for name in shapes if (m := _LAYER.search(name))}
    n_layers = config.get("num_hidden_layers")
    if layers and n_layers is not None and len(layers) != n_layers:
        raise ModelFormatError(
            f"{config_path}: num_hidden_layers is {n_layers}, but {path.name} holds weights "
            f"for {len(layers)} layer(s); the other layers would be random. Fix "
            "num_hidden_layers, or use the weights that belong to this config.")
    embeddings = [shape for name, shape in shapes.items()
                  if name.endswith("word_embeddings.weight") and len(shape) == 2]
    if embeddings:
        vocab, hidden = embeddings[0]
        for name, want in (("hidden_size", hidden), ("vocab_size", vocab)):
            if config.get(name) is not None and config[name] != want:
                raise ModelFormatError(
                    f"{config_path}: {name} is {config[name]}, but the word embeddings in "
                    f"{path.name} have shape {list(embeddings[0])} ({name} {want}).")
    return shapes


def check_tokenizer_files(directory):
    """Raise unless ``directory`` has the files of a tokenizer."""
    directory = Path(directory)
    if not any((directory / f).is_file() for f in TOKENIZER_FILES):
        raise ModelFormatError(
            f"{directory}: no tokenizer files (one of {', '.join(TOKENIZER_FILES)}); a model "
            "directory needs the tokenizer the model was trained with (save it with "
            "tokenizer.save_pretrained(directory)).")


def check_model_directory(directory):
    """Check a model folder without loading it; return its ``config.json`` as a dict."""
    config = read_config(directory)
    check_weights(directory, config)
    check_tokenizer_files(directory)
    return config


def check_loading_info(directory, info):
    """Raise when transformers left expected weights uninitialised, or did not use
    weights of the encoder (``info``: ``from_pretrained(..., output_loading_info=True)``)."""
    missing = sorted(info.get("missing_keys") or ())
    unused = sorted(k for k in info.get("unexpected_keys") or ()
                    if _ENCODER.search(k) and not k.endswith(_BUFFERS))
    mismatched = sorted(info.get("mismatched_keys") or ())
    for what, keys in (("are missing from the weights (they would be random)", missing),
                       ("in the weights are not used by the architecture config.json "
                        "describes", unused),
                       ("have a shape other than config.json implies", mismatched)):
        if keys:
            shown = ", ".join(str(k) for k in keys[:3]) + (" ..." if len(keys) > 3 else "")
            raise ModelFormatError(f"{directory}: {len(keys)} weight(s) {what} ({shown}); "
                                   "config.json and the weights do not belong together.")


def check_tokenizer(directory, tokenizer, config):
    """Raise when the tokenizer has more tokens than the model has embeddings."""
    vocab = config.get("vocab_size")
    if vocab is not None and len(tokenizer) > vocab:
        raise ModelFormatError(f"{directory}: the tokenizer has {len(tokenizer)} tokens but "
                               f"config.json's vocab_size is {vocab}; they do not belong "
                               "together.")
