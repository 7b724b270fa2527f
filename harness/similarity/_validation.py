"""Input checks shared by the similarity measures, and the error they raise.

Every measure compares two representations of the same examples: ``X`` of shape
``(n, d1)`` and ``Y`` of shape ``(n, d2)``, row ``i`` of both being example ``i``. The
checks run before any product, so that a degenerate input is one line, never a NaN.
"""

import numpy as np

from ..exceptions import HarnessError

__all__ = ["SimilarityInputError", "MIN_SAMPLES", "check_pair", "centred", "CONSTANT_RTOL",
           "unit_scale", "check_value"]

#: The unbiased HSIC estimator divides by ``n (n - 3)``: it needs four examples, and the
#: same floor serves every measure so that they all accept the same inputs.
MIN_SAMPLES = 4
#: An input is constant when its centred Frobenius norm is at most this fraction of its
#: uncentred norm (rounding leaves ~1e-16 relative; ``scipy.stats.pearsonr`` uses 1e-13).
CONSTANT_RTOL = 1e-13


class SimilarityInputError(HarnessError, ValueError):
    """Two representations cannot be compared: the message is one line saying why.

    Raised for mismatched or too few examples, non-finite values and constant inputs,
    for which every measure here is undefined (a NaN would otherwise propagate into a
    claim as a number). A :class:`ValueError`, so that callers who do not know the
    harness can still catch it, and the command line turns it into exit status 2.
    """


def check_pair(X, Y, *, caller, min_samples=MIN_SAMPLES):
    """``X`` and ``Y`` as finite float64 arrays of shapes ``(n, d1)`` and ``(n, d2)``.

    Float64 from here on: snapshots may be stored as float16 or float32, and the sums
    of ``n`` products (n up to ~17k) must not accumulate in the input precision.

    Raises
    ------
    SimilarityInputError
        Not 2-D, empty, NaN or infinity, different numbers of rows, or fewer than
        ``min_samples`` rows.
    """
    out = []
    for name, A in (("X", X), ("Y", Y)):
        try:
            arr = np.asarray(A, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise SimilarityInputError(
                f"The {name!r} parameter of {caller} must be a 2-D array of real numbers; "
                f"got an object that cannot be converted to float64 ({exc}).") from None
        if arr.ndim != 2:
            raise SimilarityInputError(
                f"The {name!r} parameter of {caller} must have shape (n_samples, n_features); "
                f"got shape {arr.shape}.")
        if arr.shape[1] == 0:
            raise SimilarityInputError(
                f"The {name!r} parameter of {caller} has no features (shape {arr.shape}).")
        bad = ~np.isfinite(arr)
        if bad.any():
            raise SimilarityInputError(
                f"The {name!r} parameter of {caller} holds NaN or infinity (first in row "
                f"{int(np.argwhere(bad)[0, 0])}); every value must be finite.")
        out.append(arr)
    X, Y = out
    if X.shape[0] != Y.shape[0]:
        raise SimilarityInputError(
            f"{caller} compares two representations of the same examples: X has "
            f"{X.shape[0]} rows and Y has {Y.shape[0]}.")
    if X.shape[0] < min_samples:
        raise SimilarityInputError(
            f"{caller} needs at least {min_samples} examples; got {X.shape[0]}.")
    return X, Y


def unit_scale(X):
    """``X`` divided by the power of two that brings its largest magnitude into
    ``[0.5, 1)``.

    Every measure here ignores an input's scale, but computes squares and products of
    its values: at magnitude 1e160 they overflow, at 1e-160 they underflow, and the input
    then looked constant or gave NaN. A power of two changes no digit (``np.ldexp`` is
    exact), so inputs of ordinary magnitude give the same value, bit for bit.
    """
    m = float(np.max(np.abs(X))) if X.size else 0.0
    return X if m == 0.0 else np.ldexp(X, -int(np.frexp(m)[1]))


def check_value(value, *, caller):
    """``value`` as a float; raise rather than return NaN or infinity (never a number)."""
    value = float(value)
    if not np.isfinite(value):
        raise SimilarityInputError(f"{caller}: the similarity came out as {value} for these "
                                   "inputs; it is undefined for them.")
    return value


def centred(X, *, name, caller):
    """``X`` minus its column means; raise when ``X`` is constant (every row the same).

    A constant representation has no variance to compare: CKA divides by zero, the
    shape distance normalises a zero matrix, an RDM is all zeros.
    """
    Xc = X - X.mean(axis=0, keepdims=True)
    norm = np.linalg.norm(Xc)
    if norm == 0.0 or norm <= CONSTANT_RTOL * np.linalg.norm(X):
        raise SimilarityInputError(
            f"The {name!r} parameter of {caller} is constant (every example has the same "
            "vector): the similarity is undefined.")
    return Xc
