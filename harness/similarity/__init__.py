"""Similarity of two representations of the same examples (beyond the paper).

``harness.geometry`` holds the paper's own quantities, which compare *labels* (DirectProbe
clusters, hull distances, and the paper's spatial similarity: the Pearson correlation of
two label-distance vectors). This package compares two *representations* example by
example: ``X`` of shape ``(n, d1)`` against ``Y`` of shape ``(n, d2)``, row ``i`` of both
being example ``i`` (a layer before and after fine-tuning, say). Pure functions over
NumPy arrays, float64 throughout; no I/O. One idea per module:

==================  ==========================================================================
module              what it holds
==================  ==========================================================================
``cka``             linear CKA, biased and debiased (unbiased HSIC), Gram and Gram-free
``minibatch``       debiased CKA accumulated over batches (Nguyen, Raghu & Kornblith 2021)
``shape``           the angular Procrustes shape distance (Williams et al. 2021)
``rsa``             RDMs and their comparison, with rsatoolbox's names and conventions
``_validation``     input checks and :class:`SimilarityInputError`
==================  ==========================================================================

:data:`MEASURES` maps the command line's measure names to functions of ``(X, Y)``.
Degenerate inputs (mismatched or fewer than 4 examples, non-finite values, a constant
input) raise :class:`SimilarityInputError` with a one-line message, never return NaN.
"""

from ._validation import SimilarityInputError
from .cka import linear_cka
from .minibatch import MinibatchCKA, minibatch_cka
from .rsa import COMPARE_METHODS, RDM_METRICS, compare_rdms, rdm, rsa
from .shape import angular_shape_distance

__all__ = ["SimilarityInputError", "linear_cka", "MinibatchCKA", "minibatch_cka",
           "angular_shape_distance", "rdm", "compare_rdms", "rsa", "RDM_METRICS",
           "COMPARE_METHODS", "MEASURES", "measure"]


def _cka(X, Y):
    return linear_cka(X, Y, debiased=False)


def _cka_debiased(X, Y):
    return linear_cka(X, Y, debiased=True)


#: ``name: (function of (X, Y, **options), what the value is)``.
MEASURES = {
    "cka": (_cka, "linear CKA (biased HSIC), in [0, 1]; 1 = same up to rotation and scale"),
    "cka-debiased": (_cka_debiased, "linear CKA (unbiased HSIC), in [-1, 1]; 0 = independent"),
    "procrustes": (lambda X, Y: angular_shape_distance(X, Y),
                   "angular Procrustes shape distance in radians, in [0, pi/2]; 0 = same shape"),
    "rsa": (lambda X, Y, metric="euclidean", method="corr": rsa(X, Y, metric=metric,
                                                                method=method),
            "correlation of the two RDMs, in [-1, 1]"),
}


def measure(name):
    """The function and description of measure ``name`` (unknown names: nearest matches)."""
    from ..registry import unknown_name_message

    if name not in MEASURES:
        raise SimilarityInputError(unknown_name_message("similarity measure", name, MEASURES))
    return MEASURES[name]
