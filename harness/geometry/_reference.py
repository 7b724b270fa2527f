r"""Slow, obviously correct twins of the geometry kernels (for tests only).

Nothing here shares code with the fast paths beyond input validation: no centring, no
working sets, no certificates, no filters.
"""

import numpy as np
from scipy.optimize import linprog, minimize

from harness.exceptions import SolverError

from ._validation import check_point_sets

__all__ = [
    "are_separable_reference",
    "hull_distance_reference",
    "hull_distance_svm_reference",
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
    r"""Hull distance by SLSQP on the dual QP over the product of simplices.

    .. math::

        \min_{\alpha \in \Delta_{n_a}, \beta \in \Delta_{n_b}}
        \|A^T \alpha - B^T \beta\|_2^2 ,

    started from the uniform weights, ``ftol=1e-16``, ``maxiter=2000``. Accurate to
    about 1e-7 relative on well-conditioned problems with at most a few dozen points;
    use only in tests.

    Returns
    -------
    distance : float
        ``sqrt`` of the optimal value (clipped at 0).
    """
    A, B = check_point_sets(A, B, caller="hull_distance_reference")
    n_a, n_b = len(A), len(B)
    M = np.vstack([A, -B])  # z = M^T [alpha; beta]

    def f(z):
        v = M.T @ z
        return v @ v, 2.0 * (M @ v)

    cons = [
        {"type": "eq", "fun": lambda z: z[:n_a].sum() - 1.0,
         "jac": lambda z: np.r_[np.ones(n_a), np.zeros(n_b)]},
        {"type": "eq", "fun": lambda z: z[n_a:].sum() - 1.0,
         "jac": lambda z: np.r_[np.zeros(n_a), np.ones(n_b)]},
    ]
    z0 = np.r_[np.full(n_a, 1.0 / n_a), np.full(n_b, 1.0 / n_b)]
    res = minimize(f, z0, jac=True, method="SLSQP", bounds=[(0.0, None)] * (n_a + n_b),
                   constraints=cons, options={"ftol": 1e-16, "maxiter": 2000})
    z = np.clip(res.x, 0.0, None)
    z[:n_a] /= z[:n_a].sum()
    z[n_a:] /= z[n_a:].sum()
    v = M.T @ z
    return float(np.sqrt(max(v @ v, 0.0)))


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
