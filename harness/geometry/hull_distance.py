r"""Exact Euclidean distance between convex hulls of point sets, with certificates.

The distance between :math:`\operatorname{conv}(A)` and :math:`\operatorname{conv}(B)`
is the minimum norm of the Minkowski difference :math:`\operatorname{conv}(A) -
\operatorname{conv}(B) = \operatorname{conv}\{a_i - b_j\}`; it equals twice the
margin of the hard-margin linear SVM separating A from B. It is computed by a primal
active-set method on the two weight simplices (Wolfe's method with block pricing, see
:class:`_ActiveSet`), falling back to Wolfe's minimum-norm-point algorithm on the
Minkowski difference for the rare pair the active set cannot certify. Both price points
with the linear-minimisation oracle (LMO), one pass over the two point sets:

.. math::

    \min_{i, j} x \cdot (a_i - b_j) = \min_i x \cdot a_i - \max_j x \cdot b_j .

Every answer carries a two-sided certificate. For the returned pair
:math:`a \in \operatorname{conv}(A)`, :math:`b \in \operatorname{conv}(B)` and
:math:`w = (a - b) / \|a - b\|`,

.. math::

    \underbrace{\min_{x \in A} w \cdot x - \max_{y \in B} w \cdot y}_{\text{lower bound}}
    \;\le\; \operatorname{dist}(\operatorname{conv} A, \operatorname{conv} B)
    \;\le\; \underbrace{\|a - b\|}_{\text{upper bound}} ,

and the bounds agree to ``rtol`` (relative) or to the absolute floor ``atol * R``
(``R`` the radius of the centred data) for distances near 0. The lower bound is computed
with a rigorous rounding-error bound (:func:`~harness.geometry.separability.certified_gap`),
so a positive lower bound *proves* separability. A distance of exactly 0 is returned
only when the LP oracle of :mod:`harness.geometry.separability` proves the hulls
intersect.
"""

import functools
from dataclasses import dataclass

import numpy as np
from scipy.linalg import get_lapack_funcs, qr_delete
from threadpoolctl import ThreadpoolController

from harness.exceptions import SolverError

from ._active_set_kernels import delete_point, minor_cycles
from ._validation import check_groups, check_point_sets
from .separability import _separating_hyperplane, certified_gap

__all__ = [
    "HullDistance",
    "hull_distance",
    "pairwise_hull_distances",
    "pairwise_separable",
    "svc_compat_distance",
]

_trtrs, _potrf = get_lapack_funcs(("trtrs", "potrf"), dtype=np.float64)

# Wolfe's tolerances (Wolfe 1976, Z1..Z3), on data scaled to radius 1.
_Z_DEPENDENT = 1e-13  # new column's squared pivot below this x (1 + |v|^2): dependent
_Z_POSITIVE = 1e-12  # affine weights at or below this leave the corral
_INNER_RTOL = 1e-12  # Wolfe's working-set problem is solved to this relative gap
_PAIR_BLOCK = 40  # pairs solved together: bounds memory (supports and factors of one block)
_N_ADD = 16  # points priced into the support per major cycle of the active set
_MAX_FLAT = 3  # major cycles without progress before the active set gives up
_MAX_FLAT_WOLFE = 50  # Wolfe's major cycles without progress before it stops

_CONTROLLER = None


def _one_blas_thread():
    """Context limiting BLAS to one thread around the small-matrix loops.

    Wolfe's cycles and the polish call LAPACK/BLAS on small arrays thousands of times;
    multithreaded BLAS only adds synchronisation there (measured on the 2-core VM under
    load: all 136 POS pairs of one snapshot took 20-24 s with 2 BLAS threads and
    4-5 s with 1). The batched full products outside these loops keep all threads.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def _with_one_blas_thread(fn):
    """Decorator: run ``fn`` under :func:`_one_blas_thread` (caller's limits restored)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _one_blas_thread():
            return fn(*args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class HullDistance:
    r"""Certified distance between two convex hulls (result of :func:`hull_distance`).

    Attributes
    ----------
    distance : float
        :math:`\operatorname{dist}(\operatorname{conv} A, \operatorname{conv} B)`, the
        upper bound ``||a_point - b_point||``, or exactly 0.0 when the hulls intersect.
    a_point, b_point : ndarray of shape (d,)
        ``a_weights @ A`` and ``b_weights @ B``: a (near-)nearest pair of points.
    a_weights, b_weights : ndarray of shape (n_a,), (n_b,)
        Convex weights (non-negative, summing to 1); few are non-zero (support vectors).
    normal : ndarray of shape (d,)
        Unit normal ``(a_point - b_point) / ||a_point - b_point||`` (zeros if they
        coincide); for nearly touching hulls (distance ~1e-8 R and below) the
        support-set polish returns the same direction computed more accurately
        (orthogonal to the support faces to ~1e-15), see :func:`hull_distance`.
        When ``lower_bound`` comes from it (every separable case except
        distances below ``atol * R``, which the LP's own plane certifies), it strictly
        separates, with A on its positive side.
    offset : float
        ``-(min(A @ normal) + max(B @ normal)) / 2``: the hyperplane
        ``normal . x + offset = 0`` in the middle of the margin.
    lower_bound, upper_bound : float
        Certified bounds on the distance (``lower_bound`` includes a rigorous
        rounding-error bound and may be negative when the hulls intersect).
    separable : bool
        True when ``lower_bound > 0`` (a proof) or the LP oracle found a verified
        separating plane; False when the LP proved the hulls intersect.
    n_iter : int
        Points added to the support by the active set (plus, after a fallback,
        vertices added to Wolfe's corral): a measure of the work done.
    """

    distance: float
    a_point: np.ndarray
    b_point: np.ndarray
    a_weights: np.ndarray
    b_weights: np.ndarray
    normal: np.ndarray
    offset: float
    lower_bound: float
    upper_bound: float
    separable: bool
    n_iter: int


def _ratio_step(lam, alpha):
    """Wolfe's ratio step from convex weights ``lam`` towards affine weights ``alpha``.

    Moves to ``(1 - theta) lam + theta alpha`` with the largest ``theta`` in [0, 1] that
    keeps every weight non-negative (a weight whose affine value is <= ``_Z_POSITIVE``
    blocks). Returns the new weights and the mask of those non-positive affine weights.
    """
    neg = alpha <= _Z_POSITIVE
    denom = lam[neg] - alpha[neg]
    # A weight that is already (about) 0 blocks at once: ratio 0, also for 0 / 0.
    ratios = np.divide(lam[neg], denom, out=np.zeros_like(denom), where=denom > 0)
    theta = float(np.clip(ratios.min(), 0.0, 1.0)) if ratios.size else 1.0
    return (1.0 - theta) * lam + theta * alpha, neg


class _Corral:
    r"""Wolfe's corral on the Minkowski difference of two point sets.

    Keeps the vertices ``V[k] = P[ia[k]] - Q[ib[k]]`` (affinely independent), their
    convex weights ``lam`` and the upper-triangular ``R`` (exactly ``s x s``,
    Fortran-contiguous so LAPACK needs no copies) with
    :math:`R^T R = e e^T + V V^T`, whose solve gives the affine minimiser
    :math:`\alpha \propto (e e^T + V V^T)^{-1} e` (Wolfe 1976, Sec. 4).
    """

    def __init__(self, d, cap=32):
        self.d = d
        self.s = 0
        self.V = np.empty((cap, d))
        self.R = np.zeros((0, 0), order="F")
        self.ia = np.empty(cap, np.intp)
        self.ib = np.empty(cap, np.intp)
        self.lam = np.empty(cap)
        self.x = np.zeros(d)
        self.members = set()  # (i, j) of the vertices, for O(1) membership tests

    def _grow(self):
        cap = 2 * self.V.shape[0]
        s = self.s
        V = np.empty((cap, self.d))
        V[:s] = self.V[:s]
        for name in ("ia", "ib", "lam"):
            old = getattr(self, name)
            new = np.empty(cap, old.dtype)
            new[:s] = old[:s]
            setattr(self, name, new)
        self.V = V

    def reset(self, v, i, j):
        self.s = 1
        self.V[0] = v
        self.R = np.full((1, 1), np.sqrt(1.0 + v @ v), order="F")
        self.ia[0], self.ib[0] = i, j
        self.lam[0] = 1.0
        self.x = v.copy()
        self.members = {(int(i), int(j))}

    def contains(self, i, j):
        return (int(i), int(j)) in self.members

    def add(self, v, i, j):
        """Append a vertex; return False (and leave the corral) if it is dependent."""
        s = self.s
        if s == self.V.shape[0]:
            self._grow()
        rhs = 1.0 + self.V[:s] @ v
        r, info = _trtrs(self.R, rhs, lower=0, trans=1)
        vv = v @ v
        rho2 = 1.0 + vv - r @ r
        if info != 0 or not rho2 > _Z_DEPENDENT * (1.0 + vv):
            return False
        R = np.zeros((s + 1, s + 1), order="F")
        R[:s, :s] = self.R
        R[:s, s] = r
        R[s, s] = np.sqrt(rho2)
        self.R = R
        self.V[s] = v
        self.ia[s], self.ib[s] = i, j
        self.lam[s] = 0.0
        self.s = s + 1
        self.members.add((int(i), int(j)))
        return True

    def _affine_minimizer(self):
        z, _ = _trtrs(self.R, np.ones(self.s), lower=0, trans=1)
        u, _ = _trtrs(self.R, z, lower=0, trans=0)
        return u / u.sum()

    def _delete(self, k):
        r"""Drop vertex k from R: the trailing factor gets a rank-one update.

        With :math:`R = [[R_{11}, r_{12}, R_{13}], [0, r_{22}, r_{23}], [0, 0, R_{33}]]`,
        deleting column k leaves :math:`[[R_{11}, R_{13}], [0, R_{33}']]` with
        :math:`R_{33}'^T R_{33}' = R_{33}^T R_{33} + r_{23}^T r_{23}` (Cholesky of a
        small matrix; Givens via ``qr_delete`` if rounding breaks definiteness).
        """
        R = self.R
        s = R.shape[0]
        keep = np.r_[0:k, k + 1:s]
        Rn = np.zeros((s - 1, s - 1), order="F")
        Rn[:k, :] = R[:k, keep]
        if k < s - 1:
            R33 = R[k + 1:, k + 1:]
            r23 = R[k, k + 1:]
            M = R33.T @ R33 + np.outer(r23, r23)
            c, info = _potrf(np.asfortranarray(M), lower=0, clean=1)
            if info == 0:
                Rn[k:, k:] = c
            else:
                _, Rq = qr_delete(np.eye(s), R, k, which="col", check_finite=False)
                Rn = np.asfortranarray(Rq[:-1])
        self.R = Rn

    def minor_cycles(self):
        """Move x to the minimum-norm point of the corral's affine hull, dropping vertices."""
        while True:
            s = self.s
            alpha = self._affine_minimizer()
            if alpha.min() > _Z_POSITIVE or s == 1:
                if s == 1:
                    alpha = np.ones(1)
                self.lam[:s] = alpha
                self.x = alpha @ self.V[:s]
                return
            lam = self.lam[:s]
            new, neg = _ratio_step(lam, alpha)
            keep = new > _Z_POSITIVE
            if keep.all():  # rounding: drop the smallest at least
                keep[np.argmin(new)] = False
            # Delete the dropped vertices, last first so earlier indices stay valid.
            for k in np.flatnonzero(~keep)[::-1]:
                self._delete(int(k))
            idx = np.flatnonzero(keep)
            k = idx.size
            self.V[:k] = self.V[idx]
            self.ia[:k] = self.ia[idx]
            self.ib[:k] = self.ib[idx]
            w = new[idx]
            self.lam[:k] = w / w.sum()
            self.s = k
            self.members = set(zip(self.ia[:k].tolist(), self.ib[:k].tolist()))
            self.x = self.lam[:k] @ self.V[:k]


class _PairSolver:
    r"""Wolfe's algorithm for one pair with a working set (partial pricing).

    The LMO runs over a working set of points only; after the working-set problem is
    solved, the full LMO (supplied by the caller, possibly batched over pairs) either
    certifies the answer or yields violating points, which join the working set. The
    corral stays valid throughout because every vertex of the working set is a vertex
    of the full Minkowski difference.
    """

    def __init__(self, P, Q, pa0, pb0, *, atol, n_init=64, max_add=64):
        self.P, self.Q = P, Q
        # Below this squared norm the hulls are within atol: stop, the LP decides.
        self.atol2 = atol * atol
        self.max_add = max_add
        n_a, n_b = P.shape[0], Q.shape[0]
        # Initial working set: points of each side nearest to the other along w0.
        self.wa = _smallest(pa0, min(n_a, n_init))
        self.wb = _smallest(-pb0, min(n_b, n_init))
        self.PA = P[self.wa]
        self.QB = Q[self.wb]
        self.corral = _Corral(P.shape[1], cap=32)
        i, j = self.wa[0], self.wb[0]
        self.corral.reset(P[i] - Q[j], i, j)
        self.n_iter = 1
        self.stalled = False
        self.done = False

    @property
    def x(self):
        return self.corral.x

    def inner(self, max_iter):
        """Run major cycles with the working-set LMO until solved, stalled or max_iter.

        (Adding several improving vertices per major cycle was tried: it did not reduce
        the number of major cycles on 384-d Gaussian pairs and cost more per cycle.)
        """
        with _one_blas_thread():
            return self._inner(max_iter)

    def _inner(self, max_iter):
        c = self.corral
        best, flat = np.inf, 0
        for _ in range(max_iter):
            x = c.x
            pa = self.PA @ x
            pb = self.QB @ x
            ka = int(np.argmin(pa))
            kb = int(np.argmax(pb))
            xx = x @ x
            gap = xx - (pa[ka] - pb[kb])
            if gap <= _INNER_RTOL * xx or xx <= self.atol2:
                return True
            # Rounding can make Wolfe cycle on nearly touching hulls: each new vertex
            # leaves again at once and x does not move (seen on POS at MiniLM's
            # embedding layer: x fixed from cycle ~800 to max_iter). No decrease for
            # _MAX_FLAT_WOLFE cycles counts as converged on the working set.
            flat = flat + 1 if xx >= best * (1.0 - 1e-12) else 0
            best = min(best, xx)
            i, j = self.wa[ka], self.wb[kb]
            if (flat >= _MAX_FLAT_WOLFE or c.contains(i, j)
                    or not c.add(self.P[i] - self.Q[j], i, j)):
                self.stalled = True  # numerically converged on the working set
                return True
            self.n_iter += 1
            c.minor_cycles()
        return False

    def absorb(self, pa, pb, *, rtol, atol):
        """Full-LMO check with projections ``pa = P @ x``, ``pb = Q @ x``.

        Returns True when certified: gap ``xx - (min pa - max pb)`` within
        ``max(rtol * xx, atol * sqrt(xx))`` (i.e. bounds agree to ``rtol`` relative or
        ``atol`` absolute). Otherwise adds violating points to the working set.
        """
        x = self.corral.x
        xx = float(x @ x)
        amin = float(pa.min())
        bmax = float(pb.max())
        gap = xx - (amin - bmax)
        if gap <= max(rtol * xx, atol * np.sqrt(xx)) or xx <= self.atol2:
            self.done = True
            return True
        # Violators: vertices (i, j) with x.(a_i - b_j) < xx - tolerance.
        thr = xx - 0.5 * max(rtol * xx, atol * np.sqrt(xx))
        in_a = np.zeros(pa.shape[0], bool)
        in_a[self.wa] = True
        in_b = np.zeros(pb.shape[0], bool)
        in_b[self.wb] = True
        va = np.flatnonzero((pa - bmax < thr) & ~in_a)
        vb = np.flatnonzero((amin - pb < thr) & ~in_b)
        if va.size == 0 and vb.size == 0:
            # Nothing new improves x: the working set holds the whole answer, but the
            # working-set solve stalled on rounding. Certify what we have.
            self.done = True
            return False
        m = max(self.max_add, (self.wa.size + self.wb.size) // 2)
        if va.size:
            va = va[_smallest(pa[va], min(m, va.size))]
            self.wa = np.concatenate([self.wa, va])
            self.PA = np.concatenate([self.PA, self.P[va]])
        if vb.size:
            vb = vb[_smallest(-pb[vb], min(m, vb.size))]
            self.wb = np.concatenate([self.wb, vb])
            self.QB = np.concatenate([self.QB, self.Q[vb]])
        self.stalled = False
        return False

    def weights(self):
        c = self.corral
        s = c.s
        wa = np.zeros(self.P.shape[0])
        wb = np.zeros(self.Q.shape[0])
        np.add.at(wa, c.ia[:s], c.lam[:s])
        np.add.at(wb, c.ib[:s], c.lam[:s])
        return wa, wb


class _ActiveSet:
    r"""Primal active-set method for the nearest points of two hulls (one pair).

    Minimises :math:`\|P^T \alpha - Q^T \beta\|^2` over two unit simplices. The support
    ``S`` (points of P and of Q with positive weight) is kept as *lifted* rows
    :math:`u = (p, 1, 0)` for a point of P and :math:`u = (-q, 0, 1)` for a point of Q,
    with the upper-triangular ``R`` (``s x s``) such that
    :math:`R^T R = U_S U_S^T = G + E E^T` (``G`` the Gram matrix of the signed points,
    ``E`` the side indicators), and ``Z`` with :math:`R^T Z = E`. The lifting makes
    ``R`` non-singular exactly when the support is affinely independent in the sense of
    the problem, and gives the affine minimiser (weights may be negative) of the
    support from one back substitution: :math:`\lambda = M^{-1} E c = R^{-1} (Z c)` with
    the 2 x 2 system :math:`Z^T Z c = 1`.

    This is Wolfe's method (1976) on the two simplices directly instead of on the
    Minkowski difference of the point sets (whose corral vertices pair one point of each
    side, so that a support of ``s`` points takes about ``2 s`` major cycles), and with
    block pricing: each major cycle adds up to ``n_add`` of the most violating points
    at weight 0 (blocked Cholesky append), then minor cycles move to the affine
    minimiser, dropping the points whose weight would turn negative (ratio step;
    Givens rotations delete a point from ``R`` and ``Z``). The minor cycles run in
    compiled code (:mod:`._active_set_kernels`). The objective decreases at every major
    cycle that adds a point, so the method is finite. On 384-d Gaussian pairs with ~280
    support vectors this takes ~25 major cycles instead of ~570 (Wolfe on the
    difference, one vertex per cycle).

    Storage: ``R``, ``Z`` and the per-point arrays ``on_p``, ``lam``, ``idx`` (point
    id: ``i`` for ``P[i]``, ``n_a + j`` for ``Q[j]``) and ``slot`` are in support order
    in buffers of capacity ``cap``; the lifted rows live in ``_rows[slot]``, which
    deletions never move (a deletion only shifts the small per-point arrays).
    """

    def __init__(self, P, Q, pa0, pb0, *, atol, n_add=None):
        self.P, self.Q = P, Q
        self.n_a = P.shape[0]
        self.d = P.shape[1]
        self.n_add = _N_ADD if n_add is None else n_add
        # Below this squared norm the hulls are within atol: stop, the LP decides.
        self.atol2 = atol * atol
        self.s = 0
        # The support never exceeds d + 2 points (see _append), nor n_a + n_b.
        self.max_support = min(self.d + 2, self.n_a + Q.shape[0])
        self._allocate(min(128, self.max_support))
        # Start: the extreme point of each side along the centroid direction.
        self._append([int(np.argmin(pa0)), self.n_a + int(np.argmax(pb0))])
        self.lam[:2] = 1.0
        self.x = P[self.idx[0]] - Q[self.idx[1] - self.n_a]
        self.n_iter = 1  # points added (as Wolfe's count of vertices added)
        self.pending = False  # points appended since the last minor cycles
        self.last_xx = np.inf  # squared norm at the previous pricing
        self.flat = 0  # consecutive major cycles without progress
        self.stalled = False
        self.done = False

    # --- the factorised support -----------------------------------------------------
    @property
    def R(self):
        """The current factor (a view of the buffer's leading ``s x s`` block)."""
        return self._R[:self.s, :self.s]

    @property
    def Z(self):
        return self._Z[:self.s]

    @property
    def U(self):
        """The lifted support rows, in support order (a copy)."""
        return self._rows[self.slot[:self.s]]

    def _allocate(self, cap):
        """(Re)allocate the buffers for ``cap`` support points, keeping the support."""
        s = self.s
        old = getattr(self, "_R", None)
        R = np.zeros((cap, cap), order="F")
        Z = np.zeros((cap, 2))
        rows = np.zeros((cap, self.d + 2))
        arrays = dict(on_p=np.zeros(cap, bool), lam=np.zeros(cap),
                      idx=np.zeros(cap, np.intp), slot=np.zeros(cap, np.intp))
        if old is not None:
            n = old.shape[0]
            R[:s, :s] = old[:s, :s]
            Z[:s] = self._Z[:s]
            rows[:n] = self._rows
            for name, arr in arrays.items():
                arr[:s] = getattr(self, name)[:s]
        self._R, self._Z, self._rows = R, Z, rows
        for name, arr in arrays.items():
            setattr(self, name, arr)

    def _lift(self, ids):
        ids = np.asarray(ids)
        U = np.zeros((ids.size, self.d + 2))
        in_p = ids < self.n_a
        U[in_p, :self.d] = self.P[ids[in_p]]
        U[in_p, self.d] = 1.0
        U[~in_p, :self.d] = -self.Q[ids[~in_p] - self.n_a]
        U[~in_p, self.d + 1] = 1.0
        return U

    def _append(self, ids):
        """Append points (weight 0) to the support; return how many were accepted.

        One triangular solve gives the Schur complement ``C`` of the block against the
        support; points whose squared pivot in ``C`` (taken in the given order) is
        below ``_Z_DEPENDENT * |u|^2`` are (numerically) dependent and skipped, as
        Wolfe skips a dependent vertex. The rest join with one Cholesky factorisation.
        The lifted rows live in ``d + 2`` dimensions, so no more than ``d + 2`` points
        are ever kept (``max_support``; a point past that count could only pass the
        pivot test through rounding on an ill-conditioned support).
        """
        s = self.s
        room = self.max_support - s
        if room <= 0:
            return 0
        Unew = self._lift(ids)
        uu = np.einsum("ij,ij->i", Unew, Unew)
        if s:
            # Products with every stored row (freed slots included: fewer copies than
            # gathering the support), then the support's rows in support order.
            top = int(self.slot[:s].max()) + 1
            cross = (self._rows[:top] @ Unew.T)[self.slot[:s]]
            Rt, info = _trtrs(self._R[:s, :s], cross, lower=0, trans=1)
            if info != 0:
                return 0
            C = Unew @ Unew.T - Rt.T @ Rt
        else:
            Rt = np.zeros((0, len(ids)))
            C = Unew @ Unew.T
        L, info = _potrf(C, lower=0, clean=1)
        if len(ids) > room or info != 0 or not np.all(np.diag(L) ** 2 > _Z_DEPENDENT * uu):
            keep = []  # greedy: each point against the kept ones, in the given order
            for t in range(len(ids)):
                if len(keep) == room:
                    break
                trial = keep + [t]
                Lt, info = _potrf(C[np.ix_(trial, trial)], lower=0, clean=1)
                if info == 0 and Lt[-1, -1] ** 2 > _Z_DEPENDENT * uu[t]:
                    keep, L = trial, Lt
            if not keep:
                return 0
            ids = [ids[t] for t in keep]
            Rt, Unew = Rt[:, keep], Unew[keep]
        self._grow_factor(Rt, L, Unew, np.asarray(ids, dtype=np.intp))
        return len(ids)

    def _grow_factor(self, Rt, L, Unew, ids):
        s, k = self.s, len(ids)
        if s + k > self._R.shape[0]:
            self._allocate(min(self.max_support, max(s + k, 2 * self._R.shape[0])))
        self._R[:s, s:s + k] = Rt
        self._R[s:s + k, s:s + k] = L
        # Z's new rows: L^T Z_new = E_new - Rt^T Z.
        on_p = ids < self.n_a
        E = np.stack([on_p, ~on_p], axis=1).astype(np.float64)
        self._Z[s:s + k] = _trtrs(L, E - Rt.T @ self._Z[:s], lower=0, trans=1)[0]
        used = np.zeros(self._R.shape[0], bool)
        used[self.slot[:s]] = True
        free = np.flatnonzero(~used)[:k]
        self._rows[free] = Unew
        self.slot[s:s + k] = free
        self.on_p[s:s + k] = on_p
        self.idx[s:s + k] = ids
        self.lam[s:s + k] = 0.0
        self.s = s + k

    def _delete(self, ks):
        """Drop support points ``ks`` (Givens rotations on ``R`` and ``Z``, O(s^2) each)."""
        for k in sorted(ks, reverse=True):
            delete_point(self._R, self._Z, self.on_p, self.lam, self.idx, self.slot,
                         self.s, k)
            self.s -= 1

    def _minor_cycles(self):
        """Move to the minimiser over the support's affine hulls, dropping points."""
        s, ok = minor_cycles(self._R, self._Z, self.s, self.on_p, self.lam, self.idx,
                             self.slot, _Z_POSITIVE)
        self.s = s
        if not ok:  # the factor lost all accuracy: let Wolfe finish the pair
            self.stalled = self.done = True
            return
        weights = np.zeros(self._rows.shape[0])
        weights[self.slot[:s]] = self.lam[:s]
        top = int(self.slot[:s].max()) + 1
        self.x = weights[:top] @ self._rows[:top, :self.d]

    # --- the driver's interface -------------------------------------------------------
    def inner(self, max_iter):
        """Settle the points added by the last :meth:`absorb` (minor cycles)."""
        if self.pending:
            self._minor_cycles()
            self.pending = False
        return True

    def absorb(self, pa, pb, *, rtol, atol):
        """Full pricing with projections ``pa = P @ x``, ``pb = Q @ x``.

        Returns True when certified: gap ``xx - (min pa - max pb)`` within
        ``max(rtol * xx, atol * sqrt(xx))`` (i.e. bounds agree to ``rtol`` relative or
        ``atol`` absolute). Otherwise appends the ``n_add`` most violating points (below
        the level of P's support, above the level of Q's) for the next :meth:`inner`.
        """
        if self.stalled:
            return False
        x = self.x
        xx = float(x @ x)
        gap = xx - (float(pa.min()) - float(pb.max()))
        tol = max(rtol * xx, atol * np.sqrt(xx))
        if gap <= tol or xx <= self.atol2:
            self.done = True
            return True
        # Degenerate cycling (seen on nearly touching POS hulls at an embedding layer:
        # each entering point left again at once, x unchanged for 600+ cycles): after
        # _MAX_FLAT major cycles without a decrease, stop; the caller falls back to Wolfe.
        self.flat = self.flat + 1 if xx >= self.last_xx * (1.0 - 1e-12) else 0
        self.last_xx = xx
        if self.flat >= _MAX_FLAT:
            self.stalled = self.done = True
            return False
        s = self.s
        ids = self.idx[:s]
        on_p = self.on_p[:s]
        viol = np.concatenate([pa[ids[on_p]].max() - pa, pb - pb[ids[~on_p] - self.n_a].min()])
        viol[ids] = -np.inf
        k = min(self.n_add, viol.size - s)
        cand = _smallest(-viol, k)
        cand = cand[viol[cand] > 0.5 * tol]
        added = self._append(cand.tolist()) if cand.size else 0
        if not added:
            # Nothing new improves x (or only dependent points would): the support
            # holds the answer up to rounding. Certify what we have.
            self.stalled = self.done = True
            return False
        self.n_iter += added
        self.pending = True
        return False

    def weights(self):
        s = self.s
        wa = np.zeros(self.n_a)
        wb = np.zeros(self.Q.shape[0])
        ids, lam = self.idx[:s], self.lam[:s]
        on_p = self.on_p[:s]
        wa[ids[on_p]] = lam[on_p]
        wb[ids[~on_p] - self.n_a] = lam[~on_p]
        return wa, wb


def _smallest(values, k):
    """Indices of the k smallest values, ordered by value (stable)."""
    if k >= values.shape[0]:
        return np.argsort(values, kind="stable")
    part = np.argpartition(values, k - 1)[:k]
    return part[np.argsort(values[part], kind="stable")]


def _prepare(A, B):
    """Centre on the mean of all points and scale to radius 1: returns P, Q, mu, R."""
    mu = (A.sum(axis=0) + B.sum(axis=0)) / (A.shape[0] + B.shape[0])
    P = A - mu
    Q = B - mu
    R = float(np.sqrt(max(np.einsum("ij,ij->i", P, P).max(), np.einsum("ij,ij->i", Q, Q).max())))
    if R > 0:
        P /= R
        Q /= R
    return P, Q, mu, R


def _run(solver, P, Q, *, rtol, atol, max_iter):
    """Alternate working-set solves and full checks until certified or max_iter."""
    while not solver.done and solver.n_iter < max_iter:
        solver.inner(max_iter - solver.n_iter)
        x = solver.x
        solver.absorb(P @ x, Q @ x, rtol=rtol, atol=atol)
    return solver


def _probe_budget(d):
    """Iterations spent before asking the LP whether the hulls intersect at all.

    Overlapping hulls drive Wolfe's iterate to 0 through corrals of up to d + 1
    vertices; the LP settles them faster. Separable pairs that need more iterations
    continue after the LP has confirmed separability.
    """
    return 2 * (d + 1) + 50


# --------------------------------------------------------------------------- polishing
#
# Nearly touching hulls (distance ~1e-9 R and below) defeat the certificate built from
# Wolfe's iterate: x = sum lam_k v_k is a tiny combination of O(1) vertices, so its
# direction carries a relative error ~ u / |x| (5e-8 at |x| = 2e-9), and tilting the
# normal by an angle t lowers the lower bound by ~ t times the extent of the support
# faces. The polish below recomputes the answer on the support sets SA, SB directly:
# the nearest points of aff(A[SA]) and aff(B[SB]) from a least-squares solve whose
# residual is formed in extended precision (np.longdouble) with one refinement step,
# then the unit normal is re-orthogonalised against the face directions in float64,
# so that every support point projects to the same value to ~1e-15 (independent of
# |x|). Active-set steps (Wolfe's ratio step on the two weight vectors) keep the weights
# convex; violating points found by the full pass join the support sets.

_LD = np.longdouble


def _affine_nearest(PA, QB):
    """Nearest points of aff(PA) and aff(QB): weights (may be negative) and unit normal.

    Returns ``alpha, beta, w, ok`` with ``alpha @ PA - beta @ QB`` the nearest pair and
    ``w`` the unit normal (orthogonal to the face directions to ~1e-15); ``ok`` is False
    when the residual vanishes (the affine hulls meet).
    """
    a0, b0 = PA[0], QB[0]
    U = np.concatenate([(PA[1:] - a0), (QB[1:] - b0)]).T  # d x m
    z = a0 - b0
    na = PA.shape[0]
    if U.shape[1] == 0:
        r = z.astype(_LD)
        c = np.zeros(0)
        Ub = U
    else:
        # One SVD serves the solve, its refinement and the re-orthogonalisation;
        # directions below 1e-14 of the largest singular value count as dependent.
        u_, s_, vt = np.linalg.svd(U, full_matrices=False)
        keep = s_ > s_[0] * 1e-14 if s_[0] > 0 else np.zeros(s_.size, bool)
        Ub, sk, Vk = u_[:, keep], s_[keep], vt[keep].T

        def solve(y):
            return Vk @ ((Ub.T @ y) / sk)

        c = solve(z)
        Ul = U.astype(_LD)
        r1 = z.astype(_LD) - Ul @ c.astype(_LD)
        c2 = solve(r1.astype(np.float64))
        r = r1 - Ul @ c2.astype(_LD)
        c = c + c2
    nr = float(np.sqrt(np.sum(r * r)))
    ca, cb = c[:na - 1], c[na - 1:]
    alpha = np.concatenate([[1.0 + ca.sum()], -ca])
    beta = np.concatenate([[1.0 - cb.sum()], cb])
    if not nr > 0:
        return alpha, beta, np.zeros_like(z), False
    w = (r / _LD(nr)).astype(np.float64)
    for _ in range(2):
        w = w - Ub @ (Ub.T @ w)
        w /= np.linalg.norm(w)
    return alpha, beta, w, True


def _polish(P, Q, a_w, b_w, tol, *, max_rounds=2000):
    """Active-set polish on the support sets (scaled data). Returns the best
    ``(lb, ub, a_w, b_w, w)`` found (``None`` if nothing valid), stopping once
    ``ub - lb <= tol``."""
    SA = list(np.flatnonzero(a_w > 0))
    SB = list(np.flatnonzero(b_w > 0))
    al = a_w[SA] / a_w[SA].sum()
    be = b_w[SB] / b_w[SB].sum()
    best = None
    last_added = None
    for _ in range(max_rounds):
        # Minor cycles: move to the affine minimiser, dropping points whose weight
        # would turn negative (Wolfe's ratio step, on the two weight vectors).
        for _inner in range(len(SA) + len(SB) + 1):
            an, bn, w, ok = _affine_nearest(P[SA], Q[SB])
            if not ok:
                return best
            if an.min() >= -1e-14 and bn.min() >= -1e-14:
                break
            cur = np.concatenate([al, be])
            new = np.concatenate([an, bn])
            neg = new < 0
            theta = float(np.clip(np.min(cur[neg] / (cur[neg] - new[neg])), 0.0, 1.0))
            mix = (1.0 - theta) * cur + theta * new
            keep = mix > 1e-14
            keep[np.flatnonzero(neg)[np.argmin(mix[neg])]] = False
            ka, kb = keep[:len(SA)], keep[len(SA):]
            if not ka.any() or not kb.any():
                return best
            SA = [i for i, k in zip(SA, ka) if k]
            SB = [j for j, k in zip(SB, kb) if k]
            al = mix[:len(ka)][ka]
            be = mix[len(ka):][kb]
            al /= al.sum()
            be /= be.sum()
        else:
            return best
        al = np.clip(an, 0.0, None)
        be = np.clip(bn, 0.0, None)
        al /= al.sum()
        be /= be.sum()
        ub = float(np.linalg.norm(al @ P[SA] - be @ Q[SB]))
        lb = certified_gap(P, Q, w)[0]
        if best is None or ub - lb < best[1] - best[0]:
            wa = np.zeros(P.shape[0])
            wb = np.zeros(Q.shape[0])
            wa[SA] = al
            wb[SB] = be
            best = (lb, ub, wa, wb, w)
        if ub - lb <= tol:
            return best
        # Pricing (as in Wolfe's major cycle): the single most violating point, below
        # the A-face level or above the B-face level, joins with weight 0; the next
        # affine solve gives it a positive weight unless rounding says otherwise.
        pa = P @ w
        pb = Q @ w
        viol_a = float(al @ pa[SA]) - pa
        viol_b = pb - float(be @ pb[SB])
        viol_a[SA] = -np.inf
        viol_b[SB] = -np.inf
        ia = int(np.argmax(viol_a))
        ib = int(np.argmax(viol_b))
        if max(viol_a[ia], viol_b[ib]) <= 1e-15:
            return best
        new = ("a", ia) if viol_a[ia] >= viol_b[ib] else ("b", ib)
        if new == last_added:  # it was dropped again at once: rounding, stop
            return best
        last_added = new
        if new[0] == "a":
            SA.append(ia)
            al = np.append(al, 0.0)
        else:
            SB.append(ib)
            be = np.append(be, 0.0)
    return best


def _finish(A, B, solver, mu, R, *, tol_lp, rtol, atol, lp_plane=False, max_iter=None):
    """Build the HullDistance in original coordinates; settle undecided pairs by LP.

    ``lp_plane`` is False when no LP was run yet, else the LP's answer (a plane or None).
    A separable pair whose bounds do not meet although Wolfe stopped before
    ``max_iter`` (it stalled on rounding) is polished by :func:`_polish`.
    """
    a_w, b_w = solver.weights()
    a_pt = a_w @ A
    b_pt = b_w @ B
    diff = a_pt - b_pt
    ub = float(np.linalg.norm(diff))
    normal = diff / ub if ub > 0 else np.zeros_like(diff)
    lb, amin, bmax = certified_gap(A - mu, B - mu, normal)
    offset = -0.5 * (amin + bmax) - float(normal @ mu)
    if ub == 0:
        lb = 0.0
    tol_abs = max(rtol * ub, atol * R) * (1 + 1e-9)
    if lb > 0:
        separable = True
    else:
        # The bounds cannot prove positivity: the LP oracle decides.
        if lp_plane is False:
            lp_plane = _separating_hyperplane(A, B, tol=tol_lp, initial_direction=normal)
        separable = lp_plane is not None
        if separable:
            lb = max(lb, certified_gap(A - mu, B - mu, lp_plane[0])[0])
    if not separable:
        distance = 0.0
        lb = min(lb, 0.0)
    else:
        distance = ub
        polished = ub - lb > tol_abs and R > 0 and (max_iter is None or solver.n_iter < max_iter)
        if polished:
            # Nearly touching hulls: Wolfe's iterate is too imprecise a normal. Polish
            # on the support sets (see _polish) and keep the result if it is better.
            with _one_blas_thread():
                best = _polish(solver.P, solver.Q, a_w, b_w, tol_abs / R)
            if best is not None:
                _, _, pa_w, pb_w, pw = best
                p_apt, p_bpt = pa_w @ A, pb_w @ B
                p_ub = float(np.linalg.norm(p_apt - p_bpt))
                p_lb, p_amin, p_bmax = certified_gap(A - mu, B - mu, pw)
                if p_lb > 0 and p_ub - p_lb < ub - lb:
                    a_w, b_w, a_pt, b_pt, ub, lb = pa_w, pb_w, p_apt, p_bpt, p_ub, p_lb
                    normal = pw
                    offset = -0.5 * (p_amin + p_bmax) - float(normal @ mu)
                    distance = ub
                    tol_abs = max(rtol * ub, atol * R) * (1 + 1e-9)
        if ub - lb > tol_abs:
            why = (" Wolfe stalled on rounding and the support-set polish (extended-"
                   "precision face solve) could not close the gap either: the distance is "
                   "below what float64 can certify for these data; raise atol (absolute "
                   "floor atol * R) to accept it." if polished else "")
            raise SolverError(
                f"hull_distance did not certify the distance: bounds [{lb:.6g}, {ub:.6g}] "
                f"differ by more than max(rtol * upper, atol * R) = {tol_abs:.3g} after "
                f"{solver.n_iter} iterations.{why}"
            )
    return HullDistance(
        distance=distance,
        a_point=a_pt,
        b_point=b_pt,
        a_weights=a_w,
        b_weights=b_w,
        normal=normal,
        offset=offset,
        lower_bound=float(lb),
        upper_bound=ub,
        separable=separable,
        n_iter=solver.n_iter,
    )


@_with_one_blas_thread
def hull_distance(A, B, *, rtol=1e-6, atol=1e-9, max_iter=100_000, tol_lp=1e-9):
    r"""Euclidean distance between the convex hulls of two point sets, certified.

    .. math::

        \operatorname{dist}(A, B) = \min_{\alpha \in \Delta_{n_a},\ \beta \in \Delta_{n_b}}
        \| A^T \alpha - B^T \beta \|_2 ,

    with :math:`\Delta_n` the unit simplex. This is twice the margin of the hard-margin
    linear SVM. Computed by a primal active-set method on the two simplices (Wolfe's
    method with block pricing: up to 16 violating points join the support per major
    cycle; see :class:`_ActiveSet`) on data centred at the mean of all points and scaled
    to radius ``R = 1`` (the distance is translation invariant and scales linearly). A
    pair on which it stops on rounding with its bounds apart is solved again by Wolfe's
    minimum-norm-point algorithm on the Minkowski difference (working set, partial
    pricing), the path validated on nearly touching hulls.

    Parameters
    ----------
    A : array-like of shape (n_a, d)
    B : array-like of shape (n_b, d)
    rtol : float, default=1e-6
        Required relative agreement of the certified bounds:
        ``upper - lower <= max(rtol * upper, atol * R)``.
    atol : float, default=1e-9
        Absolute floor, relative to the data radius ``R`` (largest distance of a point
        to the mean of all points), for distances so small that ``rtol`` cannot be met
        in float64.
    max_iter : int, default=100000
        Cap on the points added to the support (the method is finite; the cap guards
        against rounding loops).
    tol_lp : float, default=1e-9
        ``tol`` of :func:`~harness.geometry.separability.separating_hyperplane`, used
        when the bounds cannot prove a positive distance.

    Returns
    -------
    HullDistance
        ``distance`` is exactly 0.0 only when the LP proved that the hulls intersect;
        then ``upper_bound`` is the length of the best pair found and ``a_point``,
        ``b_point`` are near-common points.

    Raises
    ------
    ValueError
        On invalid input.
    SolverError
        If the bounds fail to meet within ``max_iter`` iterations for separable hulls,
        or the LP oracle fails.

    Notes
    -----
    Degenerate inputs: a single point per set, duplicates, collinear points and
    ``d > n`` are all handled (the corral holds at most ``min(d, n_a n_b) + 1``
    affinely independent vertices). Touching hulls (shared vertex, a point on an edge)
    give a zero upper bound or a non-positive lower bound, and the LP (violation 2 on
    scaled data) returns 0.

    Nearly touching, separable hulls (distance ~1e-8 of the data radius and below, as
    between POS tags of BERT's embedding layer): Wolfe's iterate is then a tiny
    combination of O(1) vertices whose direction has a relative error ~u R / distance,
    which lowers the certified lower bound by that much times the extent of the support
    faces. When Wolfe stalls with unmet bounds, the answer is polished on the support
    sets: the nearest points of their affine hulls are re-solved (SVD least squares with
    the residual formed in extended precision and refined once, Wolfe's ratio step to
    keep the weights convex, violating points priced in from a full pass) and the
    normal is re-orthogonalised against the face directions, so that all support points
    project to the same value to ~1e-15 R. Only if that still leaves the bounds apart
    (the distance is below what float64 certifies for these data) is SolverError
    raised, with a message that says so; there is no uncertified return value.

    Runs with BLAS limited to one thread (threadpoolctl; the caller's limits are
    restored on return): the work is dominated by thousands of small-matrix calls, where
    extra BLAS threads only add synchronisation (2-5x slower on a loaded 2-core VM).

    Cost: each major cycle prices all points, :math:`O((n_a + n_b) d)`, and appends
    ``k <= 16`` points to the factorised support of ``s`` points,
    :math:`O(s k d + s^2 k)`; each minor cycle costs :math:`O(s^2)` (one back
    substitution, Givens rotations per dropped point; compiled). On 384-d Gaussian
    pairs of 1,000 + 1,000 points with ~280 support points: ~25 major and ~110 minor
    cycles, 25-32 ms (the authors' SVC: 0.1-0.27 s). The first call in a process also
    loads the compiled kernels (~0.2 s from numba's cache; a few seconds to compile
    them the first time). Memory :math:`O((n_a + n_b) d + s^2)`.

    See Also
    --------
    pairwise_hull_distances : all pairs of groups, batched.
    tests/geometry/geometry_reference.py: ``hull_distance_reference``, the exact NNLS twin.
    svc_compat_distance : the authors' SVC-based formula.

    References
    ----------
    P. Wolfe, "Finding the nearest point in a polytope", Math. Programming 11 (1976).
    S. S. Keerthi et al., "A fast iterative nearest point algorithm for support vector
    machine classifier design", IEEE TNN 11 (2000). Zhou & Srikumar, ACL 2022, Sec. 2.

    Examples
    --------
    >>> import numpy as np
    >>> res = hull_distance(np.array([[0.0, 0.0], [0.0, 2.0]]),
    ...                     np.array([[3.0, 1.0], [5.0, 1.0]]))
    >>> round(res.distance, 12), res.separable
    (3.0, True)
    """
    A, B = check_point_sets(A, B, caller="hull_distance")
    P, Q, mu, R = _prepare(A, B)
    w0 = P.mean(axis=0) - Q.mean(axis=0)
    solver = _ActiveSet(P, Q, P @ w0, Q @ w0, atol=atol)
    if R == 0.0:  # all points coincide
        return _finish(A, B, solver, mu, 1.0, tol_lp=tol_lp, rtol=rtol, atol=atol)
    tolerances = dict(rtol=rtol, atol=atol, max_iter=max_iter, tol_lp=tol_lp)
    lp_plane = _drive(solver, A, B, P, Q, **tolerances)
    if solver.stalled and lp_plane is not None:
        solver = _wolfe_fallback(solver, atol=atol)
        lp_plane = _drive(solver, A, B, P, Q, **tolerances)
    return _finish(A, B, solver, mu, R, tol_lp=tol_lp, rtol=rtol, atol=atol, lp_plane=lp_plane,
                   max_iter=max_iter)


def _wolfe_fallback(solver, *, atol):
    """Wolfe's method on the Minkowski difference, started along the active set's iterate.

    For a pair where the active set stopped on rounding with its bounds apart (nearly
    touching hulls, whose violating points look dependent on the support): Wolfe's
    corral and the support-set polish of :func:`_finish` are the validated path there.
    """
    x = solver.x
    return _PairSolver(solver.P, solver.Q, solver.P @ x, solver.Q @ x, atol=atol)


def _drive(solver, A, B, P, Q, *, rtol, atol, max_iter, tol_lp):
    """Run one pair's solver to certification, asking the LP when it heads to 0.

    Returns the LP's answer as :func:`_finish` takes it: False when no LP was run,
    a plane when the LP found one, None when the LP proved that the hulls intersect
    (the solver is then left unconverged: no need).
    """
    budget = _probe_budget(A.shape[1])
    _run(solver, P, Q, rtol=rtol, atol=atol, max_iter=min(max_iter, budget))
    while not solver.done and solver.n_iter < min(max_iter, 5 * budget) and solver.x @ solver.x > 1e-8:
        # Still far from 0 (relative to R): more likely a separable pair with many
        # support vectors than an overlap; keep iterating a while before any LP.
        _run(solver, P, Q, rtol=rtol, atol=atol, max_iter=min(max_iter, solver.n_iter + budget))
    lp_plane = False
    if not solver.done:
        gap = certified_gap(P, Q, solver.x)[0]
        if gap <= 0:
            lp_plane = _separating_hyperplane(A, B, tol=tol_lp, initial_direction=solver.x)
            if lp_plane is None:  # the hulls intersect: no need to converge
                return None
        _run(solver, P, Q, rtol=rtol, atol=atol, max_iter=max_iter)
    return lp_plane


@dataclass(frozen=True)
class PairwiseHullInfo:
    """Certificates of :func:`pairwise_hull_distances` (row/column ``i`` is ``labels[i]``).

    Attributes
    ----------
    labels : ndarray of shape (k,)
        Sorted distinct group ids.
    lower_bound, upper_bound : ndarray of shape (k, k)
        Certified bounds per pair (``nan`` on the diagonal and for ``svc-compat``).
    separable : ndarray of bool, shape (k, k)
        Verdict per pair (False on the diagonal).
    n_iter : ndarray of int, shape (k, k)
        Points added to each pair's support (see ``HullDistance.n_iter``).
    n_lp : int
        Number of pairs the LP oracle had to settle.
    method : str
    """

    labels: np.ndarray
    lower_bound: np.ndarray
    upper_bound: np.ndarray
    separable: np.ndarray
    n_iter: np.ndarray
    n_lp: int
    method: str


def _split_groups(X, codes, k):
    """Original rows and globally centred/scaled rows of each group (one copy each)."""
    mu = X.mean(axis=0)
    Xc = X - mu
    R = float(np.sqrt(np.einsum("ij,ij->i", Xc, Xc).max()))
    Xs = Xc / R if R > 0 else Xc
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(k + 1))
    orig = [X[order[bounds[g]:bounds[g + 1]]] for g in range(k)]
    scaled = [Xs[order[bounds[g]:bounds[g + 1]]] for g in range(k)]
    return orig, scaled, mu, (R if R > 0 else 1.0)


def _batched_projections(scaled, pairs, dirs):
    r"""For each pair ``(g, h)`` with direction ``x``: ``(X_g @ x, X_h @ x)``.

    One matrix product per group with the matrix of the directions of every pair the
    group takes part in (the batched LMO: :math:`X_g [x_{p_1}, \dots, x_{p_m}]`).
    """
    cols = {}
    for p, (g, h) in enumerate(pairs):
        cols.setdefault(g, []).append(p)
        cols.setdefault(h, []).append(p)
    out_a = [None] * len(pairs)
    out_b = [None] * len(pairs)
    for g, ps in cols.items():
        D = np.stack([dirs[p] for p in ps], axis=1)
        Y = scaled[g] @ D
        for c, p in enumerate(ps):
            if pairs[p][0] == g:
                out_a[p] = Y[:, c]
            else:
                out_b[p] = Y[:, c]
    return out_a, out_b


def _batched_certified_gaps(scaled, pairs, dirs):
    """Certified gaps (as in :func:`certified_gap`) of unit directions, batched per group."""
    from .separability import _UNIT_ROUNDOFF

    dirs = [w / np.linalg.norm(w) for w in dirs]
    cols = {}
    for p, (g, h) in enumerate(pairs):
        cols.setdefault(g, []).append(p)
        cols.setdefault(h, []).append(p)
    amin = np.empty(len(pairs))
    bmax = np.empty(len(pairs))
    err = np.zeros(len(pairs))
    for g, ps in cols.items():
        D = np.stack([dirs[p] for p in ps], axis=1)
        Y = scaled[g] @ D
        E = np.abs(scaled[g]) @ np.abs(D)
        ymin, ymax, emax = Y.min(axis=0), Y.max(axis=0), E.max(axis=0)
        for c, p in enumerate(ps):
            if pairs[p][0] == g:
                amin[p] = ymin[c]
            else:
                bmax[p] = ymax[c]
            err[p] += emax[c]
    d = scaled[0].shape[1] + 3
    gamma = d * _UNIT_ROUNDOFF / (1.0 - d * _UNIT_ROUNDOFF)
    return amin - bmax - gamma * err - 4 * _UNIT_ROUNDOFF * (np.abs(amin) + np.abs(bmax))


@_with_one_blas_thread
def _pairwise_core(X, groups, *, rtol, atol, max_iter, tol_lp, verdict_only, caller,
                   fast_tol=1e-6):
    """Shared driver of pairwise_hull_distances (exact) and pairwise_separable."""
    X, codes, labels = check_groups(X, groups, caller=caller)
    k = labels.shape[0]
    d = X.shape[1]
    orig, scaled, mu, R = _split_groups(X, codes, k)
    pairs = [(g, h) for g in range(k) for h in range(g + 1, k)]
    budget = _probe_budget(d)
    cents = [s.mean(axis=0) for s in scaled]
    pa0, pb0 = _batched_projections(scaled, pairs, [cents[g] - cents[h] for g, h in pairs])
    solvers = [None] * len(pairs)  # created per block of pairs, freed after it
    results = [None] * len(pairs)
    verdict = [None] * len(pairs)  # True/False once decided
    lp_plane = [False] * len(pairs)
    n_lp = 0
    if verdict_only and pairs:
        # A cheap candidate plane first, verified in a batch: the centroid direction.
        # A certified gap above fast_tol settles the pair without Wolfe or an LP.
        # (The Fisher direction with pooled covariance was tried; on isotropic
        # clusters it equals the centroid direction and settled nothing more.)
        todo = [p for p in range(len(pairs))
                if np.any(cents[pairs[p][0]] != cents[pairs[p][1]])]
        gaps = _batched_certified_gaps(scaled, [pairs[p] for p in todo],
                                       [cents[pairs[p][0]] - cents[pairs[p][1]] for p in todo])
        for p, gp in zip(todo, gaps):
            if gp > fast_tol:
                verdict[p] = True
    undecided = [p for p in range(len(pairs)) if verdict[p] is None or not verdict_only]
    for start in range(0, len(undecided), _PAIR_BLOCK):
        # Pairs run in blocks so that memory (supports, factors) stays bounded.
        block = undecided[start:start + _PAIR_BLOCK]
        for p in block:
            g, h = pairs[p]
            solvers[p] = _ActiveSet(scaled[g], scaled[h], pa0[p], pb0[p], atol=atol)
        n_lp += _run_block(block, pairs, solvers, verdict, lp_plane, scaled, orig,
                           verdict_only=verdict_only, rtol=rtol, atol=atol,
                           max_iter=max_iter, tol_lp=tol_lp, budget=budget,
                           fast_tol=fast_tol)
        for p in block:
            if not verdict_only:
                g, h = pairs[p]
                try:
                    results[p] = _finish(orig[g], orig[h], solvers[p], mu, R, tol_lp=tol_lp,
                                         rtol=rtol, atol=atol, max_iter=max_iter,
                                         lp_plane=lp_plane[p] if verdict[p] is not None
                                         else False)
                except SolverError:
                    # The shared centring and radius of all groups can leave a nearly
                    # touching pair below what the batched iterate certifies (seen on
                    # POS at an embedding layer: stalled at max_iter, while the pair on
                    # its own certifies in ~600 iterations). Re-solve the pair alone.
                    results[p] = _retry_alone(orig[g], orig[h], labels[g], labels[h],
                                              rtol=rtol, atol=atol, max_iter=max_iter,
                                              tol_lp=tol_lp)
            solvers[p] = None
    S = np.zeros((k, k), bool)
    for p, (g, h) in enumerate(pairs):
        S[g, h] = S[h, g] = bool(verdict[p]) if verdict[p] is not None else False
    if verdict_only:
        return S, labels, n_lp
    D = np.zeros((k, k))
    lo = np.full((k, k), np.nan)
    hi = np.full((k, k), np.nan)
    it = np.zeros((k, k), int)
    for p, (g, h) in enumerate(pairs):
        res = results[p]
        D[g, h] = D[h, g] = res.distance
        lo[g, h] = lo[h, g] = res.lower_bound
        hi[g, h] = hi[h, g] = res.upper_bound
        S[g, h] = S[h, g] = res.separable
        it[g, h] = it[h, g] = res.n_iter
    info = PairwiseHullInfo(labels=labels, lower_bound=lo, upper_bound=hi, separable=S,
                            n_iter=it, n_lp=n_lp, method="exact")
    return D, info


def _retry_alone(A, B, label_a, label_b, **tolerances):
    """:func:`hull_distance` of one pair, centred and scaled on its own points."""
    try:
        return hull_distance(A, B, **tolerances)
    except SolverError as error:
        raise SolverError(f"groups {label_a!s} and {label_b!s}: {error}") from error


def _run_block(block, pairs, solvers, verdict, lp_plane, scaled, orig, *, verdict_only,
               rtol, atol, max_iter, tol_lp, budget, fast_tol):
    """Rounds of (one major cycle per pair, one batched full LMO) for a block of pairs.

    Updates ``verdict`` and ``lp_plane`` in place; returns the number of LPs solved.
    """
    n_lp = 0
    active = [p for p in block if verdict[p] is None or not verdict_only]
    chunk = 8
    while active:
        for p in active:
            sv = solvers[p]
            # Verdicts need only a positive lower bound: check often, in growing chunks.
            if verdict_only:
                limit = chunk
            elif verdict[p] is None:
                limit = min(max_iter, 5 * budget) - sv.n_iter
            else:
                limit = max_iter - sv.n_iter
            sv.inner(max(1, limit))
        chunk *= 2
        proj_a, proj_b = _batched_projections(
            scaled, [pairs[p] for p in active], [solvers[p].x for p in active]
        )
        still = []
        for c, p in enumerate(active):
            sv = solvers[p]
            pa, pb = proj_a[c], proj_b[c]
            x = sv.x
            nx = float(np.sqrt(x @ x))

            def settle_by_gap():
                # The certified gap is below the plain one: check it only when that can pass.
                if verdict[p] is None and nx > 0 and (pa.min() - pb.max()) / nx > fast_tol:
                    g, h = pairs[p]
                    if certified_gap(scaled[g], scaled[h], x / nx)[0] > fast_tol:
                        verdict[p] = True

            if verdict_only:
                settle_by_gap()
                if verdict[p] is not None:
                    continue
            sv.absorb(pa, pb, rtol=rtol, atol=atol)  # keeps x: pa, pb stay valid
            if sv.stalled and isinstance(sv, _ActiveSet):
                solvers[p] = _wolfe_fallback(sv, atol=atol)
                still.append(p)
                continue
            lp_due = verdict[p] is None and (
                sv.n_iter >= 5 * budget or (sv.n_iter >= budget and x @ x <= 1e-8)
                or (verdict_only and sv.n_iter >= budget)
            )
            if not verdict_only and lp_due:
                # Distances need a verdict only where an LP would otherwise settle it
                # now; a certified pair gets its verdict from _finish's bounds.
                settle_by_gap()
                lp_due = verdict[p] is None
            if not sv.done and lp_due:
                sv.done = True  # settle by LP below, then maybe continue
            if sv.done and verdict[p] is None and (verdict_only or lp_due):
                g, h = pairs[p]
                n_lp += 1
                lp_plane[p] = _separating_hyperplane(
                    orig[g], orig[h], tol=tol_lp, initial_direction=x if nx > 0 else None
                )
                verdict[p] = lp_plane[p] is not None
                if verdict[p] and not verdict_only and sv.n_iter < max_iter:
                    # Separable but not yet certified: keep iterating.
                    sv.done = sv.absorb(pa, pb, rtol=rtol, atol=atol)
            if verdict_only and verdict[p] is not None:
                continue
            if verdict[p] is False:
                continue
            if not sv.done and sv.n_iter < max_iter:
                still.append(p)
        active = still
    return n_lp


def pairwise_hull_distances(X, groups, *, method="exact", rtol=1e-6, atol=1e-9,
                            max_iter=100_000, tol_lp=1e-9):
    r"""Distances between the convex hulls of every pair of groups of points.

    .. math::

        D_{gh} = \operatorname{dist}(\operatorname{conv} X_g, \operatorname{conv} X_h),
        \qquad X_g = \{x_i : \mathrm{groups}_i = \mathrm{labels}_g\}.

    With ``method="exact"`` each pair is solved as in :func:`hull_distance` (active
    set with block pricing, Wolfe fallback), and the full linear-minimisation oracle of all
    unfinished pairs is batched: for every group one matrix product of its points with
    the matrix of the current directions of the pairs it belongs to. The data are
    centred and scaled once for all pairs. With ``method="svc-compat"`` each pair gets
    :func:`svc_compat_distance` (the authors' formula; no certificates).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    groups : array-like of int, shape (n_samples,)
        Group id of each row; ``k`` distinct ids.
    method : {"exact", "svc-compat"}, default="exact"
    rtol, atol, max_iter, tol_lp
        As in :func:`hull_distance` (``atol`` relative to the radius of all of X).

    Returns
    -------
    D : ndarray of shape (k, k)
        Symmetric, 0 on the diagonal; row/column ``i`` is ``info.labels[i]``
        (``np.unique(groups)``). 0 off the diagonal only for intersecting hulls
        (exact) or a failed SVC fit (svc-compat).
    info : PairwiseHullInfo
        Bounds, verdicts, iteration counts, number of LPs.

    Raises
    ------
    ValueError
        On invalid input or an unknown `method`.
    SolverError
        As in :func:`hull_distance`.

    Notes
    -----
    Cost: per pair as in :func:`hull_distance`; the full checks cost one
    :math:`O(n d m_g)` product per group per round, with ``m_g`` the number of that
    group's unfinished pairs. Runs with BLAS limited to one thread, as
    :func:`hull_distance`. Memory: two copies of X plus the supports (and their
    triangular factors) of one block of 40 pairs (pairs are solved block by block;
    results do not depend on it).

    See Also
    --------
    hull_distance, pairwise_separable, svc_compat_distance

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [2.0, 0.0], [2.0, 1.0], [5.0, 0.0]])
    >>> D, info = pairwise_hull_distances(X, [0, 0, 1, 1, 2])
    >>> np.round(D, 9).tolist()
    [[0.0, 2.0, 5.0], [2.0, 0.0, 3.0], [5.0, 3.0, 0.0]]
    """
    methods = {"exact": None, "svc-compat": None}
    if method not in methods:
        raise ValueError(
            "The 'method' parameter of pairwise_hull_distances must be one of "
            f"{sorted(methods)}. Got {method!r} instead."
        )
    if method == "exact":
        return _pairwise_core(X, groups, rtol=rtol, atol=atol, max_iter=max_iter,
                              tol_lp=tol_lp, verdict_only=False,
                              caller="pairwise_hull_distances")
    X, codes, labels = check_groups(X, groups, caller="pairwise_hull_distances")
    k = labels.shape[0]
    D = np.zeros((k, k))
    S = np.zeros((k, k), bool)
    for g in range(k):
        for h in range(g + 1, k):
            D[g, h] = D[h, g] = svc_compat_distance(X[codes == g], X[codes == h])
            S[g, h] = S[h, g] = D[g, h] > 0
    nan = np.full((k, k), np.nan)
    info = PairwiseHullInfo(labels=labels, lower_bound=nan, upper_bound=nan.copy(),
                            separable=S, n_iter=np.zeros((k, k), int), n_lp=0,
                            method="svc-compat")
    return D, info


def pairwise_separable(X, groups, *, tol=1e-9, fast_tol=1e-6):
    r"""Strict linear separability of every pair of groups: a (k, k) boolean matrix.

    ``S[g, h]`` is True when :math:`\operatorname{conv} X_g \cap \operatorname{conv}
    X_h = \emptyset`. A pair is declared separable without an LP when a few batched
    Wolfe iterations yield a direction whose certified gap (rigorous rounding bound,
    on the globally centred data scaled to radius 1) exceeds ``fast_tol``, i.e. the
    hull distance provably exceeds ``fast_tol * R``; there the LP is well conditioned
    and always agrees. Every other pair is settled by the LP oracle of
    :func:`~harness.geometry.separability.are_separable` with tolerance ``tol``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    groups : array-like of int, shape (n_samples,)
    tol : float, default=1e-9
        ``tol`` of the LP oracle.
    fast_tol : float, default=1e-6
        Relative certified gap that settles a pair without an LP.

    Returns
    -------
    S : ndarray of bool, shape (k, k)
        Symmetric, False on the diagonal; order of ``np.unique(groups)``.

    See Also
    --------
    harness.geometry.separability.are_separable : one pair.
    pairwise_hull_distances : the distances, with the same verdicts in ``info``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 0.0], [1.0, 1.0], [9.0, 9.0]])
    >>> pairwise_separable(X, [0, 0, 1, 1, 2]).astype(int).tolist()
    [[0, 0, 1], [0, 0, 1], [1, 1, 0]]
    """
    S, _, _ = _pairwise_core(X, groups, rtol=1e-6, atol=1e-9, max_iter=100_000,
                             tol_lp=tol, verdict_only=True, caller="pairwise_separable",
                             fast_tol=fast_tol)
    return S


def svc_compat_distance(A, B, *, C=1e6, tol=1e-5, max_iter=50_000):
    r"""The authors' hull distance: twice the smallest point distance to an SVC plane.

    Fits ``sklearn.svm.SVC(kernel="linear", C=C, tol=tol, max_iter=max_iter)`` (the
    authors' settings: ``C=1e6, tol=1e-5, max_iter=50000``) on the raw (unscaled)
    points with labels +1 (A) and -1 (B), and returns

    .. math:: 2 \min_{x \in A \cup B} \frac{|w \cdot x + b|}{\|w\|},

    or 0.0 when the SVC misses 100 % training accuracy. This reproduces the reference
    implementation for comparison only: it can return 0 for separable hulls (the SVC
    stops at ``max_iter`` or the soft margin gives up a point), and its value is only
    close to the exact distance when the SVC reaches the hard-margin solution. A
    plane that separates the points always gives a lower bound of the exact distance
    (the two nearest points project onto its normal at most that far apart); libsvm
    stops when the largest violation of its KKT conditions is below ``tol``, which
    leaves the value short of the exact one by roughly ``tol`` relative. The
    tolerance is part of the formula: with scikit-learn's default ``tol=1e-3`` a TREC
    label pair (ENTY:instru / NUM:speed) gives 5.7436 instead of the authors' 5.7473.

    Parameters
    ----------
    A, B : array-like of shape (n_a, d), (n_b, d)
    C : float, default=1e6
    tol : float, default=1e-5
        libsvm's stopping tolerance.
    max_iter : int, default=50000

    Returns
    -------
    float

    Notes
    -----
    **Point order.** libsvm's SMO picks its working pairs by scanning the points in
    the order given, so a fit that *stops at* ``max_iter`` (before meeting ``tol``)
    depends on the order of the points: the same two sets stacked in another order
    give another plane, another value, or 0 (accuracy below 100 %). A fit that meets
    ``tol`` is order-independent up to ``tol``. Nothing warns when ``max_iter`` is
    reached (the authors' code ignores it); the accuracy rule is how a failed fit shows.

    See Also
    --------
    hull_distance : the exact, certified distance.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import SVC
    import warnings

    A, B = check_point_sets(A, B, caller="svc_compat_distance")
    Xab = np.vstack([A, B])
    y = np.r_[np.ones(A.shape[0]), -np.ones(B.shape[0])]
    with warnings.catch_warnings():
        # The authors' code ignores the iteration limit; the accuracy rule below is
        # how a failed fit shows.
        warnings.simplefilter("ignore", ConvergenceWarning)
        svc = SVC(kernel="linear", C=C, tol=tol, max_iter=max_iter).fit(Xab, y)
    if np.mean(svc.predict(Xab) == y) < 1.0:
        return 0.0
    w = svc.coef_[0]
    return float(2.0 * np.min(np.abs(Xab @ w + svc.intercept_[0])) / np.linalg.norm(w))
