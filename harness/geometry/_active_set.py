r"""Primal active-set method for the nearest points of two convex hulls (one pair).

Solves the convex quadratic programme

.. math::

    \min_{\alpha \in \Delta_{n_p},\ \beta \in \Delta_{n_q}}
    \| P^T \alpha - Q^T \beta \|_2^2 ,
    \qquad \Delta_n = \{\lambda \in \mathbb{R}^n : \lambda \ge 0,\ 1^T \lambda = 1\},

whose value is the squared distance between :math:`\operatorname{conv} P` and
:math:`\operatorname{conv} Q` (the dual of the hard-margin linear SVM). This is Wolfe's
method (1976) on the two weight simplices directly, with block pricing:

* a *major cycle* prices every point with the current iterate
  :math:`x = P^T \alpha - Q^T \beta` (:math:`P x` and :math:`Q x`, supplied by the
  caller, batched over pairs by the pairwise drivers) and appends up to ``N_ADD`` = 16
  of the most violating points (below the level of P's support along :math:`x`, above
  the level of Q's) to the support at weight 0;
* *minor cycles* (compiled, :mod:`._active_set_kernels`) move the weights to the
  affine minimiser of the support and drop the points whose weight would turn
  negative (Wolfe's ratio step), until the weights are convex.

The objective decreases at every major cycle that adds a point, so the method is
finite. On 384-d Gaussian pairs with ~280 support points it takes ~25 major and ~110
minor cycles, against ~570 major cycles for Wolfe on the Minkowski difference
(:mod:`._wolfe`), whose corral vertices pair one point of each side.

The support is kept as *lifted* rows :math:`u = (p, 1, 0)` for a point of P and
:math:`u = (-q, 0, 1)` for a point of Q, with an upper-triangular ``R`` such that
:math:`R^T R = U_S U_S^T = G + E E^T` (``G`` the Gram matrix of the signed points,
``E`` the side indicators) and ``Z`` with :math:`R^T Z = E`. The lifting makes ``R``
non-singular exactly when the support is affinely independent in the sense of the
problem, caps the support at ``d + 2`` points, and gives the affine minimiser from one
back substitution:

.. math::

    \lambda = M^{-1} E c = R^{-1} (Z c), \qquad (Z^T Z)\, c = 1 .

Stopping (:meth:`ActiveSet.absorb`): certified when the duality gap
:math:`x \cdot x - (\min P x - \max Q x)` is within ``max(rtol * |x|^2, atol * |x|)``,
or when :math:`|x| \le` ``atol`` (the hulls are within ``atol`` R: the LP decides).
It *stalls* (``stalled``; the caller then falls back to Wolfe's algorithm) when the
only violating points look dependent on the support, or after ``MAX_FLAT`` = 3 major
cycles without a decrease (degenerate cycling, seen on nearly touching hulls).

Cost per major cycle with ``k`` appended points and a support of ``s``:
:math:`O(s k d + s^2 k)` for the append (one triangular solve and one Cholesky
factorisation of the block), :math:`O(s^2)` per minor cycle and per dropped point
(Givens rotations). Memory :math:`O(s^2 + s d)`.

References
----------
P. Wolfe, "Finding the nearest point in a polytope", Math. Programming 11 (1976).
S. S. Keerthi et al., "A fast iterative nearest point algorithm for support vector
machine classifier design", IEEE TNN 11 (2000).
"""

import copy

import numpy as np
from scipy.linalg import get_lapack_funcs

from ._active_set_kernels import delete_point, minor_cycles
from ._wolfe import Z_DEPENDENT, Z_POSITIVE, smallest

__all__ = ["ActiveSet", "N_ADD", "MAX_FLAT"]

_trtrs, _potrf = get_lapack_funcs(("trtrs", "potrf"), dtype=np.float64)

N_ADD = 16  # points priced into the support per major cycle
MAX_FLAT = 3  # major cycles without progress before the active set gives up


class ActiveSet:
    r"""The primal active set of one pair (see the module docstring for the method).

    Parameters
    ----------
    P, Q : ndarray of shape (n_p, d), (n_q, d)
        The two point sets, centred and scaled to radius 1.
    pa0, pb0 : ndarray of shape (n_p,), (n_q,)
        Projections of P and Q on a starting direction (the centroid difference): the
        start is the extreme point of each side along it.
    atol : float
        Absolute floor (on the scaled data): ``|x| <= atol`` ends the solve.
    n_add : int, optional
        Points appended per major cycle (default ``N_ADD``).

    Notes
    -----
    Storage: ``R``, ``Z`` and the per-point arrays ``on_p``, ``lam``, ``idx`` (point
    id: ``i`` for ``P[i]``, ``n_a + j`` for ``Q[j]``) and ``slot`` are in support order
    in buffers of capacity ``cap``; the lifted rows live in ``_rows[slot]``, which
    deletions never move (a deletion only shifts the small per-point arrays).
    """

    def __init__(self, P, Q, pa0, pb0, *, atol, n_add=None):
        self.P, self.Q = P, Q
        self.n_a = P.shape[0]
        self.d = P.shape[1]
        self.n_add = N_ADD if n_add is None else n_add
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

    def probe(self, atol):
        """An independent copy that continues to ``atol`` (shares only P and Q).

        For questions the caller's solver must not be changed by: running the copy on
        leaves the original's state, and so its result, exactly as it was.
        """
        twin = copy.copy(self)
        for name in ("_R", "_Z", "_rows", "on_p", "lam", "idx", "slot", "x"):
            setattr(twin, name, getattr(self, name).copy())
        twin.atol2 = atol * atol
        twin.done = twin.stalled = False
        twin.flat = 0
        return twin

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
        below ``Z_DEPENDENT * |u|^2`` are (numerically) dependent and skipped, as
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
        if len(ids) > room or info != 0 or not np.all(np.diag(L) ** 2 > Z_DEPENDENT * uu):
            keep = []  # greedy: each point against the kept ones, in the given order
            for t in range(len(ids)):
                if len(keep) == room:
                    break
                trial = keep + [t]
                Lt, info = _potrf(C[np.ix_(trial, trial)], lower=0, clean=1)
                if info == 0 and Lt[-1, -1] ** 2 > Z_DEPENDENT * uu[t]:
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
                             self.slot, Z_POSITIVE)
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
        # MAX_FLAT major cycles without a decrease, stop; the caller falls back to Wolfe.
        self.flat = self.flat + 1 if xx >= self.last_xx * (1.0 - 1e-12) else 0
        self.last_xx = xx
        if self.flat >= MAX_FLAT:
            self.stalled = self.done = True
            return False
        s = self.s
        ids = self.idx[:s]
        on_p = self.on_p[:s]
        viol = np.concatenate([pa[ids[on_p]].max() - pa, pb - pb[ids[~on_p] - self.n_a].min()])
        viol[ids] = -np.inf
        k = min(self.n_add, viol.size - s)
        cand = smallest(-viol, k)
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

