r"""Exact Euclidean distance between the convex hulls of two point sets, certified.

.. math::

    \operatorname{dist}(\operatorname{conv} A, \operatorname{conv} B)
    = \min_{\alpha \in \Delta_{n_a},\ \beta \in \Delta_{n_b}}
      \| A^T \alpha - B^T \beta \|_2 ,

the minimum norm of the Minkowski difference
:math:`\operatorname{conv}(A) - \operatorname{conv}(B)`; twice the margin of the
hard-margin linear SVM separating A from B. This module drives one pair through the
solvers and certifies the answer:

1. centre and scale (:func:`~harness.geometry.certificates.center_and_scale`);
2. the primal active set (:mod:`._active_set`), asking the LP oracle of
   :mod:`.separability` whether the hulls intersect at all when the iterate heads to 0;
3. for the rare pair where the active set stops on rounding: Wolfe's algorithm on the
   Minkowski difference (:mod:`._wolfe`);
4. certification (:func:`_finish`): for the pair :math:`a \in \operatorname{conv} A`,
   :math:`b \in \operatorname{conv} B` found and :math:`w = (a - b) / \|a - b\|`,

   .. math::

       \underbrace{\min_{x \in A} w \cdot x - \max_{y \in B} w \cdot y}_{\text{lower
       bound}} \;\le\; \operatorname{dist}(\operatorname{conv} A,
       \operatorname{conv} B) \;\le\; \underbrace{\|a - b\|}_{\text{upper bound}} ,

   with the lower bound computed with a rigorous rounding bound
   (:func:`~harness.geometry.certificates.certified_gap`), so a positive lower bound
   *proves* separability; bounds that do not meet on a separable pair are polished in
   extended precision (:mod:`._polish`). A distance of exactly 0 is returned when the
   hulls are not separable at the separability tolerance
   (:data:`~harness.geometry.separability.SEPARABILITY_TOL` times the data radius):
   the solver settles that from its own bounds (:func:`_settle`), the LP only where
   they cannot.

All pairs of groups of one matrix, batched: :mod:`.pairwise`. The authors' SVC formula:
:mod:`.svc_compat`.
"""

from dataclasses import dataclass

import numpy as np

from harness.exceptions import SolverError

from ._active_set import ActiveSet
from ._blas import one_blas_thread, with_one_blas_thread
from ._polish import polish
from ._validation import check_point_sets
from ._wolfe import wolfe_fallback
from .certificates import center_and_scale, certified_gap
from .separability import SEPARABILITY_TOL, _separating_hyperplane

__all__ = ["HullDistance", "hull_distance"]


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
        True when the distance provably exceeds the separability tolerance
        ``tol_lp * R``: a certified ``lower_bound`` above it, or a settled solver or LP
        plane with such a gap; False when a pair of points of the two hulls is at most
        that far apart (the hulls intersect or touch within the tolerance).
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



def _run(solver, P, Q, *, rtol, atol, max_iter):
    """Alternate working-set solves and full checks until certified or max_iter."""
    while not solver.done and solver.n_iter < max_iter:
        solver.inner(max_iter - solver.n_iter)
        x = solver.x
        solver.absorb(P @ x, Q @ x, rtol=rtol, atol=atol)
    return solver



def _probe_budget(d):
    """Iterations spent before asking whether the hulls are separable at all.

    Overlapping hulls drive the iterate to 0 through corrals of up to d + 1 vertices;
    a settling copy stops as soon as it is shorter than the tolerance. Separable pairs
    that need more iterations continue once the verdict is known.
    """
    return 2 * (d + 1) + 50


def upper_bound(solver, R):
    r"""A rigorous upper bound of the hull distance from a solver's iterate.

    The iterate :math:`x` (on data scaled by ``R``) is the difference of two convex
    combinations of the scaled points, so :math:`\|x\| R` bounds the distance; 1e-12
    (scaled) covers the rounding of :math:`x`, of the weights and of the scaling.
    """
    return (float(np.linalg.norm(solver.x)) + 1e-12) * R


def _settle(solver, *, tau, max_iter):
    r"""Run ``solver`` on until its certified bounds put the distance on one side of ``tau``.

    On the solver's scaled data: ``True`` once a direction's certified gap exceeds
    ``tau`` (the distance is larger), ``False`` once the iterate, a difference of two
    points of the hulls, is at most ``tau`` long (with the rounding slack of
    :func:`upper_bound`), ``None`` if the solver stalls on rounding or reaches
    ``max_iter`` first, or certifies a distance within ``1e-3 tau`` of ``tau`` (only
    the LP can split that). The solver is changed: pass a :meth:`ActiveSet.probe` to keep
    the original. Each round costs one pricing, :math:`O((n_a + n_b) d)`.
    """
    P, Q = solver.P, solver.Q
    while True:
        solver.inner(max_iter)
        x = solver.x
        nx = float(np.sqrt(x @ x))
        if nx + 1e-12 <= tau:
            return False
        pa, pb = P @ x, Q @ x
        # The plain gap first: the certified one is below it, and costs another pass.
        if (pa.min() - pb.max()) / nx > tau and certified_gap(P, Q, x / nx)[0] > tau:
            return True
        solver.absorb(pa, pb, rtol=0.0, atol=1e-3 * tau)
        if solver.done or solver.n_iter >= max_iter:
            return None


def _tau_scaled(tol_lp, radius, R):
    """The tolerance ``tol_lp * radius`` on data scaled by ``R`` (``radius`` None: R)."""
    return tol_lp * (radius / R if radius is not None else 1.0)


def _lp_answer(solver, A, B, *, R, tol_lp, direction, lp_memo=None, radius=None):
    """The verdict on a pair at tolerance ``tol_lp * radius``: a plane, or None.

    The nearest-point solver decides first (:func:`_settle`, on an independent copy, so
    the solver itself is left as it was; Wolfe's corral where the active set stops on
    rounding): a certified gap above the tolerance gives the plane normal to its
    iterate, an iterate shorter than the tolerance proves that no plane can separate by
    more. Only a pair neither can split (its distance within rounding of the tolerance)
    goes to the LP of
    :func:`~harness.geometry.separability._separating_hyperplane`, asked with
    ``initial_direction=direction``, given the copy's iterate as a pair of points
    (``upper_bound``) and as a direction (``sure_direction``). ``R`` is the radius the
    solver's data are scaled by; ``radius`` the R of the tolerance (default: the pair's,
    ``R`` itself); ``lp_memo`` keeps the LP's answer for later calls on the same pair.
    """
    tau = _tau_scaled(tol_lp, radius, R)
    probe, verdict = solver, None
    if isinstance(solver, ActiveSet) and not solver.stalled:
        probe = solver.probe(atol=0.1 * tau)
        verdict = _settle(probe, tau=tau, max_iter=probe.n_iter + _SETTLE_BUDGET)
    if verdict is None:
        # The active set stops on rounding on nearly touching hulls (an embedding
        # layer's clusters): Wolfe's corral, started along its iterate, settles those.
        probe = wolfe_fallback(probe, atol=0.1 * tau)
        verdict = _settle(probe, tau=tau, max_iter=probe.n_iter + _SETTLE_BUDGET)
    if verdict is False:
        return None
    if verdict is True:
        x = probe.x
        w = x / float(np.sqrt(x @ x))
        _, amin, bmax = certified_gap(A, B, w)
        return w, -0.5 * (amin + bmax)
    return _separating_hyperplane(A, B, tol=tol_lp, initial_direction=direction,
                                  upper_bound=upper_bound(probe, R), sure_direction=probe.x,
                                  lp_memo=lp_memo, radius=radius)


# Points a settling copy may add (_lp_answer): the corral of an overlap in d dimensions
# has at most d + 1 vertices, and the real pairs measured settle in 150-1,100.
_SETTLE_BUDGET = 20_000


def _drive(solver, A, B, P, Q, *, R, rtol, atol, max_iter, tol_lp, lp_memo=None, radius=None):
    """Run one pair's solver to certification, settling the verdict when it heads to 0.

    Returns the verdict as :func:`_finish` takes it: False when none was needed, a plane
    when the pair is separable at the tolerance ``tol_lp * radius``, None when it is not
    (the solver is then left unconverged: no need).

    The verdict is asked once the solver has added ``_probe_budget`` points (five times
    that while the iterate is still far from 0) without a certified gap above the
    tolerance: :func:`_lp_answer` settles the pair on a copy of the solver (the LP only
    where the copy cannot), and a separable pair's solver then runs on to certification.
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
        if gap <= _tau_scaled(tol_lp, radius, R):
            lp_plane = _lp_answer(solver, A, B, R=R, tol_lp=tol_lp, direction=solver.x.copy(),
                                  lp_memo=lp_memo, radius=radius)
            if lp_plane is None:  # the hulls intersect: no need to converge
                return None
        _run(solver, P, Q, rtol=rtol, atol=atol, max_iter=max_iter)
    return lp_plane



def _finish(A, B, solver, mu, R, *, tol_lp, rtol, atol, lp_plane=False, max_iter=None,
            lp_memo=None, radius=None):
    """Build the HullDistance in original coordinates; settle undecided pairs.

    The pair is separable when its distance exceeds ``tol_lp * radius`` (``radius``
    default: ``R``, the radius the solver's data are scaled by). A certified lower bound
    above that proves it; otherwise :func:`_lp_answer` decides (the solver first, the
    LP only where it cannot). ``lp_plane`` is False when no verdict was asked yet, else
    the verdict (a plane or None).
    A separable pair whose bounds do not meet although Wolfe stopped before
    ``max_iter`` (it stalled on rounding) is polished by :func:`polish`.
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
    if lb > tol_lp * (R if radius is None else radius):
        separable = True
    else:
        # The bounds do not prove a distance above the tolerance: settle it.
        if lp_plane is False:
            lp_plane = _lp_answer(solver, A, B, R=R, tol_lp=tol_lp, direction=normal,
                                  lp_memo=lp_memo, radius=radius)
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
            # on the support sets (see polish) and keep the result if it is better.
            with one_blas_thread():
                best = polish(solver.P, solver.Q, a_w, b_w, tol_abs / R)
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


def hull_distance(A, B, *, rtol=1e-6, atol=1e-9, max_iter=100_000, tol_lp=SEPARABILITY_TOL):
    r"""Euclidean distance between the convex hulls of two point sets, certified.

    .. math::

        \operatorname{dist}(A, B) = \min_{\alpha \in \Delta_{n_a},\ \beta \in \Delta_{n_b}}
        \| A^T \alpha - B^T \beta \|_2 ,

    with :math:`\Delta_n` the unit simplex. This is twice the margin of the hard-margin
    linear SVM. Computed by a primal active-set method on the two simplices (Wolfe's
    method with block pricing: up to 16 violating points join the support per major
    cycle; see :mod:`._active_set`) on data centred at the mean of all points and scaled
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
    tol_lp : float, default=SEPARABILITY_TOL (1e-6)
        The separability tolerance: the hulls count as separable when their distance
        exceeds ``tol_lp * R`` (``R`` the radius of the two sets about their mean),
        otherwise ``distance`` is 0.0. The solver's certified bounds decide; the LP of
        :func:`~harness.geometry.separability.separating_hyperplane` (with this ``tol``)
        only where they cannot (a distance within rounding of the tolerance).

    Returns
    -------
    HullDistance
        ``distance`` is exactly 0.0 when the hulls are within ``tol_lp * R`` (they
        intersect or touch within the tolerance);
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
    harness.geometry.pairwise.pairwise_hull_distances : all pairs of groups, batched.
    harness.geometry.svc_compat.svc_compat_distance : the authors' SVC-based formula.

    The exact twin it is tested against is ``hull_distance_reference`` (least-distance
    programming by NNLS) in ``tests/geometry/geometry_reference.py``.

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
    return _hull_distance(A, B, rtol=rtol, atol=atol, max_iter=max_iter, tol_lp=tol_lp)


@with_one_blas_thread
def _hull_distance(A, B, *, rtol=1e-6, atol=1e-9, max_iter=100_000, tol_lp=SEPARABILITY_TOL,
                   lp_memo=None, radius=None):
    """:func:`hull_distance` on validated float64 sets; ``lp_memo`` (a dict) keeps the
    LP's answer for the pair across the solver's LP calls (and the caller's); ``radius``
    is the R of the tolerance ``tol_lp * R`` (default: the pair's radius)."""
    (P, Q), mu, R = center_and_scale(A, B)
    w0 = P.mean(axis=0) - Q.mean(axis=0)
    solver = ActiveSet(P, Q, P @ w0, Q @ w0, atol=atol)
    if R == 0.0:  # all points coincide
        return _finish(A, B, solver, mu, 1.0, tol_lp=tol_lp, rtol=rtol, atol=atol,
                       lp_memo=lp_memo, radius=radius)
    tolerances = dict(rtol=rtol, atol=atol, max_iter=max_iter, tol_lp=tol_lp, lp_memo=lp_memo,
                      radius=radius)
    lp_plane = _drive(solver, A, B, P, Q, R=R, **tolerances)
    if solver.stalled and lp_plane is not None:
        solver = wolfe_fallback(solver, atol=atol)
        lp_plane = _drive(solver, A, B, P, Q, R=R, **tolerances)
    return _finish(A, B, solver, mu, R, tol_lp=tol_lp, rtol=rtol, atol=atol, lp_plane=lp_plane,
                   max_iter=max_iter, lp_memo=lp_memo, radius=radius)

