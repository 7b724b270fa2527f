r"""Slow, obviously correct twins of the geometry kernels (for tests only).

Nothing here shares code with the fast paths beyond input validation: no centring, no
working sets, no certificates, no filters.
"""

import numpy as np
from scipy.optimize import linprog, minimize, nnls

from harness.exceptions import SolverError

from harness.geometry._validation import check_point_sets

__all__ = [
    "are_separable_reference",
    "hull_distance_reference",
    "hull_distance_svm_reference",
    "separable_at_reference",
]


def are_separable_reference(A, B):
    r"""Plain feasibility LP: is there ``(w, b)`` with ``A w + b >= 1``, ``B w + b <= -1``?

    Solved once with ``scipy.optimize.linprog(method="highs")`` on the raw data, default
    tolerances (primal feasibility 1e-7). Status 0 means separable, 2 not separable;
    any other status raises :class:`SolverError`.

    Parameters
    ----------
    A, B : array-like of shape (n_a, d), (n_b, d)

    Returns
    -------
    bool

    See Also
    --------
    harness.geometry.separability.are_separable : the fast, verified version.
    """
    A, B = check_point_sets(A, B, caller="are_separable_reference")
    d = A.shape[1]
    A_ub = np.vstack([np.hstack([-A, -np.ones((len(A), 1))]),
                      np.hstack([B, np.ones((len(B), 1))])])
    res = linprog(np.zeros(d + 1), A_ub=A_ub, b_ub=-np.ones(len(A_ub)),
                  bounds=[(None, None)] * (d + 1), method="highs")
    if res.status == 0:
        return True
    if res.status == 2:
        return False
    raise SolverError(f"linprog status {res.status}: {res.message}")


def hull_distance_reference(A, B):
    r"""Hull distance by least-distance programming (Lawson & Hanson), via exact NNLS.

    The distance is the norm of the nearest point to 0 of the Minkowski difference
    :math:`\operatorname{conv}\{v_{ij} = a_i - b_j\}`. With ``V`` the ``n_a n_b``
    differences scaled by ``c = max |v_ij|`` (distances scale linearly), the
    non-negative least-squares problem

    .. math::

        \min_{u \ge 0} \|V^T u\|^2 + (1^T u - 1)^2
        = \min_{t \ge 0,\ \lambda \in \Delta} t^2 \|V^T \lambda\|^2 + (t - 1)^2
        = \frac{\delta^2}{1 + \delta^2}, \qquad
        \delta = \min_{\lambda \in \Delta} \|V^T \lambda\| ,

    so the NNLS residual norm ``r`` gives :math:`\delta = r / \sqrt{1 - r^2}` and the
    distance is ``c * delta``. ``scipy.optimize.nnls`` is Lawson and Hanson's active-set
    algorithm, finite and exact up to rounding (``r`` is accurate to ~1e-15 absolute,
    so distances below ~1e-14 c are rounding). Cost: ``n_a n_b`` points in ``d``
    dimensions; use only in tests, on small sets.

    Returns
    -------
    distance : float

    References
    ----------
    C. L. Lawson and R. J. Hanson, *Solving Least Squares Problems* (1974), ch. 23.
    """
    A, B = check_point_sets(A, B, caller="hull_distance_reference")
    V = (A[:, None, :] - B[None, :, :]).reshape(-1, A.shape[1])
    c = float(np.sqrt((V ** 2).sum(axis=1).max()))
    if c == 0.0:
        return 0.0
    E = np.vstack([(V / c).T, np.ones(len(V))])
    f = np.zeros(E.shape[0])
    f[-1] = 1.0
    u, _ = nnls(E, f)
    r = float(np.linalg.norm(E @ u - f))
    return c * r / np.sqrt(1.0 - r * r)


def separable_at_reference(A, B, tol, radius):
    """Separable at tolerance ``tol``: the exact hull distance exceeds ``tol * radius``.

    The definition the harness's verdicts implement
    (:data:`harness.geometry.separability.SEPARABILITY_TOL`), computed by brute force
    with :func:`hull_distance_reference`.
    """
    return bool(hull_distance_reference(A, B) > tol * radius)


def hull_distance_svm_reference(A, B):
    r"""Hull distance of separable sets from the hard-margin SVM primal, by SLSQP.

    .. math::

        \min_{w, b} \tfrac12 \|w\|^2 \ \text{s.t.}\ A w + b \ge 1,\ B w + b \le -1;
        \qquad \operatorname{dist} = 2 / \|w^*\| .

    Only defined for separable sets (returns 0.0 if SLSQP reports infeasibility).
    """
    A, B = check_point_sets(A, B, caller="hull_distance_svm_reference")
    d = A.shape[1]
    X = np.vstack([A, B])
    y = np.r_[np.ones(len(A)), -np.ones(len(B))]
    G = y[:, None] * np.hstack([X, np.ones((len(X), 1))])
    z0 = np.zeros(d + 1)
    res = minimize(lambda z: (0.5 * z[:d] @ z[:d], np.r_[z[:d], 0.0]), z0, jac=True,
                   method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda z: G @ z - 1.0,
                                 "jac": lambda z: G}],
                   options={"ftol": 1e-16, "maxiter": 2000})
    # SLSQP with ftol=1e-16 often ends with "Positive directional derivative" at the
    # optimum; feasibility of the constraints is what matters.
    if np.min(G @ res.x - 1.0) < -1e-9:
        return 0.0
    return float(2.0 / np.linalg.norm(res.x[:d]))
