r"""Wolfe's minimum-norm-point algorithm on the Minkowski difference: the fallback solver.

The distance between two hulls is the norm of the point of least norm of

.. math::

    \operatorname{conv}(P) - \operatorname{conv}(Q) = \operatorname{conv}\{v_{ij} = p_i - q_j\}.

Wolfe (1976) finds it exactly in finitely many steps. A *corral* is a set of affinely
independent vertices :math:`v_{ij}` whose affine minimum-norm point lies in their
relative interior. A *major cycle* prices the vertices with the linear-minimisation
oracle (LMO)

.. math::

    \min_{i, j} x \cdot (p_i - q_j) = \min_i x \cdot p_i - \max_j x \cdot q_j

(one pass over the two point sets) and adds the minimiser when it improves on
:math:`x \cdot x`; *minor cycles* then move :math:`x` to the affine minimiser of the
corral, dropping vertices by the ratio step (:func:`ratio_step`) until the weights are
convex. The affine minimiser comes from the Cholesky factor
:math:`R^T R = e e^T + V V^T` of the corral (Wolfe 1976, Sec. 4).

This is the *fallback* of :func:`~harness.geometry.hull_distance.hull_distance`: the
primal active set (:mod:`._active_set`) is about 5x faster on 384-d data because it adds
one *point* at a time instead of one pair of points, but it stops on rounding on
nearly touching hulls, where this code together with the extended-precision polish
(:mod:`._polish`) is the validated path. :class:`WolfeSolver` runs it for one pair with a
working set (partial pricing): the LMO runs over a working set of points, and the full
LMO (supplied by the caller, possibly batched over pairs) either certifies the answer or
yields violating points for the working set.

Wolfe's tolerances and the ratio step live here and are shared with the active set.

References
----------
P. Wolfe, "Finding the nearest point in a polytope", Math. Programming 11 (1976) 128-149.
"""

import numpy as np
from scipy.linalg import get_lapack_funcs, qr_delete

from ._blas import one_blas_thread

__all__ = ["Z_DEPENDENT", "Z_POSITIVE", "ratio_step", "smallest", "Corral", "WolfeSolver",
           "wolfe_fallback"]

_trtrs, _potrf = get_lapack_funcs(("trtrs", "potrf"), dtype=np.float64)

# Wolfe's tolerances (Wolfe 1976, Z1..Z3), on data scaled to radius 1.
Z_DEPENDENT = 1e-13  # new column's squared pivot below this x (1 + |v|^2): dependent
Z_POSITIVE = 1e-12  # affine weights at or below this leave the corral
INNER_RTOL = 1e-12  # Wolfe's working-set problem is solved to this relative gap
MAX_FLAT_WOLFE = 50  # Wolfe's major cycles without progress before it stops


def ratio_step(lam, alpha):
    """Wolfe's ratio step from convex weights ``lam`` towards affine weights ``alpha``.

    Moves to ``(1 - theta) lam + theta alpha`` with the largest ``theta`` in [0, 1] that
    keeps every weight non-negative (a weight whose affine value is <= ``Z_POSITIVE``
    blocks). Returns the new weights and the mask of those non-positive affine weights.
    """
    neg = alpha <= Z_POSITIVE
    denom = lam[neg] - alpha[neg]
    # A weight that is already (about) 0 blocks at once: ratio 0, also for 0 / 0.
    ratios = np.divide(lam[neg], denom, out=np.zeros_like(denom), where=denom > 0)
    theta = float(np.clip(ratios.min(), 0.0, 1.0)) if ratios.size else 1.0
    return (1.0 - theta) * lam + theta * alpha, neg



def smallest(values, k):
    """Indices of the k smallest values, ordered by value (stable)."""
    if k >= values.shape[0]:
        return np.argsort(values, kind="stable")
    part = np.argpartition(values, k - 1)[:k]
    return part[np.argsort(values[part], kind="stable")]



class Corral:
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
        if info != 0 or not rho2 > Z_DEPENDENT * (1.0 + vv):
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
            if alpha.min() > Z_POSITIVE or s == 1:
                if s == 1:
                    alpha = np.ones(1)
                self.lam[:s] = alpha
                self.x = alpha @ self.V[:s]
                return
            lam = self.lam[:s]
            new, neg = ratio_step(lam, alpha)
            keep = new > Z_POSITIVE
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



class WolfeSolver:
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
        self.wa = smallest(pa0, min(n_a, n_init))
        self.wb = smallest(-pb0, min(n_b, n_init))
        self.PA = P[self.wa]
        self.QB = Q[self.wb]
        self.corral = Corral(P.shape[1], cap=32)
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
        with one_blas_thread():
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
            if gap <= INNER_RTOL * xx or xx <= self.atol2:
                return True
            # Rounding can make Wolfe cycle on nearly touching hulls: each new vertex
            # leaves again at once and x does not move (seen on POS at MiniLM's
            # embedding layer: x fixed from cycle ~800 to max_iter). No decrease for
            # MAX_FLAT_WOLFE cycles counts as converged on the working set.
            flat = flat + 1 if xx >= best * (1.0 - 1e-12) else 0
            best = min(best, xx)
            i, j = self.wa[ka], self.wb[kb]
            if (flat >= MAX_FLAT_WOLFE or c.contains(i, j)
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
            va = va[smallest(pa[va], min(m, va.size))]
            self.wa = np.concatenate([self.wa, va])
            self.PA = np.concatenate([self.PA, self.P[va]])
        if vb.size:
            vb = vb[smallest(-pb[vb], min(m, vb.size))]
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



def wolfe_fallback(solver, *, atol):
    """Wolfe's method on the Minkowski difference, started along the active set's iterate.

    For a pair where the active set stopped on rounding with its bounds apart (nearly
    touching hulls, whose violating points look dependent on the support): Wolfe's
    corral and the support-set polish (:mod:`._polish`) are the validated path there.
    """
    x = solver.x
    return WolfeSolver(solver.P, solver.Q, solver.P @ x, solver.Q @ x, atol=atol)
