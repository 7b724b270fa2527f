r"""The angular Procrustes shape distance of Williams, Kunz, Kornblith & Linderman (2021).

Each representation is centred and scaled to unit Frobenius norm,
:math:`\bar X = (X - \mathbf 1 \mu_X^\top) / \|X - \mathbf 1 \mu_X^\top\|_F`; the
distance is the angle left after the best orthogonal alignment,

.. math::

    \theta(X, Y) = \min_{Q \in O(d)} \arccos \langle \bar X, \bar Y Q \rangle_F
                 = \arccos \|\bar X^\top \bar Y\|_*,

with :math:`\|\cdot\|_*` the nuclear norm (sum of singular values). Inputs with different
feature counts are zero-padded to the larger one (which leaves :math:`\bar X^\top \bar Y`'s
singular values unchanged). :math:`\theta` is a metric on shapes (symmetric, zero exactly
for inputs that differ by a translation, an isotropic scaling and an orthogonal map, and
it satisfies the triangle inequality), with values in :math:`[0, \pi/2]`.

The arccos loses half the digits near 0 (:math:`\arccos(1 - \epsilon) \approx
\sqrt{2\epsilon}`: rounding of 1e-16 would read as 1.4e-8), so the angle is taken from the
aligned residual instead: :math:`\theta = 2 \arcsin(\|\bar X - \bar Y Q^*\|_F / 2)`, the
chord between two unit vectors, with :math:`Q^*` from the SVD of :math:`\bar X^\top \bar Y`.
"""

import numpy as np

from ._validation import centred, check_pair, unit_scale

__all__ = ["angular_shape_distance"]


def angular_shape_distance(X, Y):
    r"""Angular Procrustes distance between two representations of the same examples.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)

    Returns
    -------
    float
        In radians, in :math:`[0, \pi/2]`; 0 when ``Y`` is a translated, scaled and
        rotated (or reflected) copy of ``X``.

    Raises
    ------
    SimilarityInputError
        Mismatched rows, fewer than 4 examples, non-finite values or a constant input.

    Notes
    -----
    Time :math:`O(n d^2 + d^3)` with :math:`d = \max(d_1, d_2)` (the cross-product, its
    SVD and the aligned residual); memory :math:`O(n d + d^2)`. This is the ``alpha = 1``
    member of Williams et al.'s family (rotations only, no whitening); netrep's
    ``LinearMetric(alpha=1, score_method="angular")`` computes the same quantity.

    References
    ----------
    Williams, Kunz, Kornblith & Linderman, "Generalized Shape Metrics on Neural
    Representations", NeurIPS 2021, section 2 (eq. 4).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 4))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    >>> angular_shape_distance(X, 3 * X @ Q + 1) < 1e-12
    True
    """
    caller = "angular_shape_distance"
    X, Y = check_pair(X, Y, caller=caller)
    X, Y = unit_scale(X), unit_scale(Y)  # the angle ignores scale; squares must not overflow
    Xc = centred(X, name="X", caller=caller)
    Yc = centred(Y, name="Y", caller=caller)
    d = max(Xc.shape[1], Yc.shape[1])
    Xc = _pad(Xc / np.linalg.norm(Xc), d)
    Yc = _pad(Yc / np.linalg.norm(Yc), d)
    U, _, Vt = np.linalg.svd(Xc.T @ Yc)
    residual = np.linalg.norm(Xc - Yc @ (Vt.T @ U.T))
    return float(2.0 * np.arcsin(min(1.0, residual / 2.0)))


def _pad(A, d):
    """``A`` with zero columns appended up to ``d`` features."""
    if A.shape[1] == d:
        return A
    return np.hstack([A, np.zeros((A.shape[0], d - A.shape[1]))])
