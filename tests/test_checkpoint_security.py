"""A shared store runs no code: checkpoints are not unpickled (issue 22).

A checkpoint is loaded only when its sha256 is the one written beside it, and then with
``torch.load(weights_only=True)``; a checkpoint carrying a pickle payload is refused with
one line, and the payload does not run, whether or not its digest was forged too.
"""

import hashlib
import json
import pickle
import random

import numpy as np
import pytest
import torch

from harness.exceptions import StoreError
from harness.finetune import _load_checkpoint, _save_checkpoint, _schedule


class _Tiny(torch.nn.Linear):
    """A stand-in for the encoder: what the checkpoint code uses of it is state and device."""

    device = torch.device("cpu")


def _parts(seed=0):
    torch.manual_seed(seed)
    model, head = _Tiny(3, 2), torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(list(model.parameters()) + list(head.parameters()), lr=1e-3)
    loss = head(model(torch.ones(4, 3))).sum()
    loss.backward()
    optimizer.step()
    return model, head, optimizer, _schedule(optimizer, 10, 1)


class _Payload:
    """Pickled, it calls ``marker.write_text`` when loaded: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.write_text, (pathlib.Path(self.marker), "pwned"))


def test_checkpoint_round_trip_restores_weights_and_every_rng(tmp_path):
    path = tmp_path / "checkpoint.pt"
    model, head, optimizer, scheduler = _parts()
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    state = {"update": 7, "history": [{"update": 5, "test_head_accuracy": None}],
             "snapshots": {"0": {"train": "k"}}, "losses": [0.5], "seconds": 1.5}
    _save_checkpoint(path, model, head, optimizer, scheduler, state)
    expected = (random.random(), np.random.random(), torch.rand(1).item())

    other = _parts(seed=9)
    assert _load_checkpoint(path, *other) == state
    assert torch.equal(other[0].weight, model.weight)
    assert other[2].state_dict()["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"]
    assert (random.random(), np.random.random(), torch.rand(1).item()) == expected


def test_a_checkpoint_with_a_pickle_payload_is_refused_and_does_not_run(tmp_path):
    path, marker = tmp_path / "checkpoint.pt", tmp_path / "marker"
    model, head, optimizer, scheduler = _parts()
    _save_checkpoint(path, model, head, optimizer, scheduler, {"update": 1})
    # Someone with write access to the store replaces the checkpoint ...
    path.write_bytes(pickle.dumps({"model": _Payload(marker)}))
    with pytest.raises(StoreError, match="checkpoint refused, not loaded .*sha256 is not the one"):
        _load_checkpoint(path, model, head, optimizer, scheduler)
    assert not marker.exists()
    # ... and forges its digest as well: weights_only refuses the object all the same.
    torch.save({"model": _Payload(marker)}, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_name("checkpoint.pt.sha256").write_text(json.dumps({"sha256": [digest]}))
    with pytest.raises(StoreError, match="holds more than tensors and plain data"):
        _load_checkpoint(path, model, head, optimizer, scheduler)
    assert not marker.exists()


def test_a_checkpoint_without_its_digest_is_refused(tmp_path):
    path = tmp_path / "checkpoint.pt"
    model, head, optimizer, scheduler = _parts()
    _save_checkpoint(path, model, head, optimizer, scheduler, {"update": 1})
    path.with_name("checkpoint.pt.sha256").unlink()
    with pytest.raises(StoreError, match="harness store gc"):
        _load_checkpoint(path, model, head, optimizer, scheduler)


def test_a_kill_between_digest_and_checkpoint_leaves_a_loadable_run(tmp_path):
    # The digest file is written first and vouches for the previous checkpoint as well.
    path = tmp_path / "checkpoint.pt"
    model, head, optimizer, scheduler = _parts()
    _save_checkpoint(path, model, head, optimizer, scheduler, {"update": 1})
    first = path.read_bytes()
    _save_checkpoint(path, model, head, optimizer, scheduler, {"update": 2})
    path.write_bytes(first)  # as if the second checkpoint's rename never happened
    assert _load_checkpoint(path, model, head, optimizer, scheduler) == {"update": 1}
