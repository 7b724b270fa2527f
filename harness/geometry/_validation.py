"""Input checks shared by the geometry kernels.

Errors follow scikit-learn's shape: which parameter of which function, what was
expected, what was got.
"""

import numpy as np

from ._scaling import check_kernel_range

__all__ = ["check_points", "check_point_sets", "check_groups"]


def check_points(X, *, name, caller):
    """Return `X` as a finite, non-empty, C-contiguous float64 array of shape (n, d).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    name : str
        Parameter name used in error messages.
    caller : str
        Function name used in error messages.

    Raises
    ------
    ValueError
        If `X` is not 2-D, is empty (no rows or no columns), or holds NaN or infinity.
    """
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"The {name!r} parameter of {caller} must be a 2-D array of real numbers. "
            f"Got an object that cannot be converted to float64 ({exc})."
        ) from None
    if arr.ndim != 2:
        raise ValueError(
            f"The {name!r} parameter of {caller} must be a 2-D array of shape "
            f"(n_samples, n_features). Got an array with {arr.ndim} dimension(s), shape {arr.shape}."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"The {name!r} parameter of {caller} must hold at least one point with at least "
            f"one feature. Got shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        bad = int(np.argwhere(~np.isfinite(arr))[0, 0])
        raise ValueError(
            f"The {name!r} parameter of {caller} must hold finite values only. "
            f"Got NaN or infinity (first in row {bad})."
        )
    return np.ascontiguousarray(arr)


def check_point_sets(A, B, *, caller):
    """Check two point sets with :func:`check_points` and that they share the dimension.

    Returns
    -------
    A, B : ndarray of float64, shapes (n_a, d) and (n_b, d)

    Raises
    ------
    ValueError
        On any failure of :func:`check_points`, or when the numbers of columns differ.
    """
    A = check_points(A, name="A", caller=caller)
    B = check_points(B, name="B", caller=caller)
    check_kernel_range((A, B), caller=caller)  # squares would overflow or underflow
    if A.shape[1] != B.shape[1]:
        raise ValueError(
            f"The 'A' and 'B' parameters of {caller} must have the same number of features. "
            f"Got A.shape={A.shape} and B.shape={B.shape}."
        )
    return A, B


def check_groups(X, groups, *, caller):
    """Check a point matrix and one integer group id per row.

    Returns
    -------
    X : ndarray of float64, shape (n, d)
    codes : ndarray of intp, shape (n,)
        Group index in ``0 .. k-1`` of each row, in the order of `labels`.
    labels : ndarray, shape (k,)
        The sorted distinct group ids (``np.unique(groups)``); row/column ``i`` of the
        pairwise outputs refers to ``labels[i]``.

    Raises
    ------
    ValueError
        If `X` fails :func:`check_points`, `groups` is not 1-D of length n, or holds
        values that are not integers.
    """
    X = check_points(X, name="X", caller=caller)
    check_kernel_range((X,), caller=caller)  # squares would overflow or underflow
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != X.shape[0]:
        raise ValueError(
            f"The 'groups' parameter of {caller} must be a 1-D array with one id per row of X "
            f"(length {X.shape[0]}). Got shape {g.shape}."
        )
    if g.dtype.kind not in "iub":
        if g.dtype.kind == "f" and np.all(np.isfinite(g)) and np.all(g == np.round(g)):
            g = g.astype(np.int64)
        else:
            raise ValueError(
                f"The 'groups' parameter of {caller} must hold integer group ids. "
                f"Got dtype {g.dtype}."
            )
    labels, codes = np.unique(g, return_inverse=True)
    return X, codes.astype(np.intp).ravel(), labels
