"""Representations of a task under a model, computed once and kept in the run store.

:func:`get_representations` is the one door: it builds the full configuration (task,
its data options and data fingerprint, model and its weights fingerprint, split,
layers, dtype, max length, and the fingerprint of the code that extracts), returns the
stored artifact when present and sound, and extracts it otherwise.
"""

import logging
import time

import numpy as np

from . import extract
from .fingerprints import code_fingerprint
from .store import RunStore

logger = logging.getLogger(__name__)


def representation_config(task, model, split, layers, *, dtype="float32", max_length=None,
                          data_options=None, snapshot=None, precision="fp32", data=None):
    """The configuration that keys a representation artifact.

    ``data`` is the task's :attr:`~harness.data.TaskData.fingerprint` (sha256 of the
    files read and the reader's code); ``code`` covers this module and every harness
    module it imports (extraction, encoding, pooling, the store).
    """
    return {
        "artifact": "representations",
        "task": task,
        "data_options": dict(sorted((data_options or {}).items())),
        "data": data,
        "model": model.spec.name,
        "model_fingerprint": model.fingerprint,
        "snapshot": snapshot,
        "split": split,
        "layers": list(layers),
        "dtype": dtype,
        "max_length": max_length,
        "precision": precision,
        "code": code_fingerprint(__name__),
    }


def get_representations(task_data, model, split, *, layers=None, dtype="float32",
                        max_length=None, batch_size=32, data_options=None, store=None,
                        snapshot=None, progress=True, precision="fp32"):
    """Stored or freshly extracted representations of ``task_data``'s ``split``.

    Returns
    -------
    harness.store.Artifact
        Arrays ``layer<k>`` of shape ``(n_examples, dim)`` and ``labels`` (unicode), and
        ``meta`` with the extraction statistics.
    """
    store = store or RunStore()
    layers = extract.resolve_layers(layers, model.n_layers)
    config = representation_config(task_data.name, model, split, layers, dtype=dtype,
                                   max_length=max_length, data_options=data_options,
                                   snapshot=snapshot, precision=precision,
                                   data=task_data.fingerprint)
    found = store.get(config, repair=True)
    if found is not None:
        return found
    part = task_data.split(split)
    dim = extract.output_dim(model.hidden_size, task_data.kind)
    with store.writer(config, kind="representations") as writer:
        out = {layer: writer.create_array(f"layer{layer}", (len(part), dim), np.dtype(dtype))
               for layer in layers}
        started = time.perf_counter()
        result = extract.extract_split(model.model, model.tokenizer, part, task_data.kind,
                                       layers=layers, batch_size=batch_size,
                                       max_length=max_length, out=out, dtype=dtype,
                                       progress=progress, precision=precision,
                                       desc=f"{model.spec.name}/{task_data.name}/{split}")
        for layer in layers:
            out[layer].flush()
        del out
        writer.save_array("labels", np.asarray(part.labels, dtype=str))
        writer.meta.update({"extract": result["_stats"], "kind": task_data.kind,
                            "label_inventory": list(task_data.labels)})
        writer.timings["extract_s"] = time.perf_counter() - started
    return writer.artifact
