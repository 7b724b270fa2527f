r"""Extended-precision polish of the nearest points of two nearly touching hulls.

Nearly touching hulls (distance ~1e-9 R and below, as between POS tags of BERT's
embedding layer) defeat the certificate built from the solvers' iterate: there
:math:`x = \sum_k \lambda_k v_k` is a tiny combination of O(1) vectors, so its direction
carries a relative error of about :math:`u / \|x\|` (5e-8 at :math:`\|x\|` = 2e-9 R),
and tilting the normal by an angle :math:`t` lowers the certified lower bound by about
:math:`t` times the extent of the support faces.

The polish recomputes the answer on the support sets :math:`S_A, S_B` directly. With
:math:`a_0 \in S_A, b_0 \in S_B` and the face directions
:math:`U = [a - a_0 : a \in S_A \setminus a_0,\ b - b_0 : b \in S_B \setminus b_0]`,
the nearest points of the affine hulls solve the least-squares problem

.. math::

    \min_c \| (a_0 - b_0) - U c \|_2 ,

whose residual :math:`r` is the vector between the nearest points. It is solved by an
SVD of :math:`U` (directions below 1e-14 of the largest singular value count as
dependent), with the residual formed in extended precision (``np.longdouble``) and one
step of iterative refinement; the unit normal :math:`r / \|r\|` is then
re-orthogonalised against the face directions in float64, so that every support point
projects onto it to the same value to ~1e-15 R, independent of :math:`\|x\|`. Wolfe's
ratio step on the two weight vectors keeps the weights convex, and the most violating
point of a full pass joins the support sets, one at a time.

Used by :func:`~harness.geometry.hull_distance.hull_distance` only when the solvers stop
with their bounds apart (a separable pair that did not reach ``max_iter``).
"""

import numpy as np

from .certificates import certified_gap

__all__ = ["affine_nearest", "polish"]

_LD = np.longdouble


def affine_nearest(PA, QB):
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


def polish(P, Q, a_w, b_w, tol, *, max_rounds=2000):
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
            an, bn, w, ok = affine_nearest(P[SA], Q[SB])
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

