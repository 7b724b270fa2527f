r"""Strict linear separability of two finite point sets, decided by an LP and verified.

Two finite point sets are strictly linearly separable exactly when their convex hulls
are disjoint, so :func:`are_separable` is also the overlap test of DirectProbe.
"""

import contextlib
import contextvars
import warnings

import numpy as np
from scipy.optimize import linprog

from harness.exceptions import HarnessWarning, SolverError

from ._validation import check_point_sets
from .certificates import center_and_scale, certified_gap

__all__ = ["SEPARABILITY_TOL", "are_separable", "separating_hyperplane"]

#: The separability tolerance tau of every verdict in the harness: two point sets count
#: as linearly separable when the distance between their convex hulls exceeds
#: ``tau * R``, R the radius of the data analysed (its largest distance from its mean).
#: Representations are float32 (unit roundoff 6e-8 relative to a vector's norm), so hulls
#: closer than ~1e-7 R touch within the data's own resolution; 1e-6 sits an order of
#: magnitude above it and six below the smallest gaps the claims read (docs/claims.md,
#: "The separability tolerance").
SEPARABILITY_TOL = 1e-6

# scipy.optimize.linprog status codes (see its docstring).
_LP_STATUS = {
    0: "optimal",
    1: "iteration limit reached",
    2: "infeasible",
    3: "unbounded",
    4: "numerical difficulties",
}


_MARGIN_CAP = 1e-3  # the margin LP stops raising t here: any t* > 0 will do
# A known plane whose margin, in the margin LP's own terms, is this many times HiGHS'
# feasibility tolerance settles "separable" without the LP (separating_hyperplane, Notes;
# the LP itself resolves margins from ~2.5 times its tolerance on).
_SURE_FACTOR = 10.0


def _plane_rows(P, Q, extra=0):
    """Constraint rows ``[-p, -1]`` and ``[q, 1]`` over ``(w, b)``, plus ``extra`` zero columns."""
    n_p, d = P.shape
    A_ub = np.zeros((n_p + Q.shape[0], d + 1 + extra))
    A_ub[:n_p, :d] = -P
    A_ub[:n_p, d] = -1.0
    A_ub[n_p:, :d] = Q
    A_ub[n_p:, d] = 1.0
    return A_ub


#: ``(clock, deadline)`` of the LPs solved inside :func:`lp_deadline`, or None.
_DEADLINE = contextvars.ContextVar("harness_lp_deadline", default=None)


class LPOutOfTime(Exception):
    """An LP stopped at the deadline of :func:`lp_deadline` (no verdict was reached)."""


@contextlib.contextmanager
def lp_deadline(clock, deadline):
    """Stop every separability LP solved inside the block at ``clock() > deadline``.

    One LP on nearly touching hulls can run for tens of minutes (measured: PS-fxn's
    embedding layer at tol 1e-9), so a caller with a time limit (DirectProbe's
    ``time_limit``) cannot rely on checking its clock between LPs. Inside this block each
    LP gets HiGHS' ``time_limit`` of ``deadline - clock()`` seconds and
    :class:`LPOutOfTime` is raised when it stops there. HiGHS measures wall time, so on a
    loaded machine an LP can stop before ``clock`` (CPU time) reaches the deadline: the
    caller then records less, never a different answer. ``deadline=None`` sets no limit.
    """
    token = _DEADLINE.set(None if deadline is None else (clock, float(deadline)))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _linprog(c, *, options, **kwargs):
    """``scipy.optimize.linprog`` within the deadline of :func:`lp_deadline`, if any."""
    limit = _DEADLINE.get()
    if limit is None:
        return linprog(c, options=options, **kwargs)
    clock, deadline = limit
    remaining = deadline - clock()
    if remaining <= 0:
        raise LPOutOfTime
    res = linprog(c, options=dict(options, time_limit=remaining), **kwargs)
    if res.status != 0 and ("time limit" in str(res.message).lower() or clock() > deadline):
        raise LPOutOfTime
    return res


def _margin_lp(P, Q, method, options):
    r"""HiGHS on :math:`\max t` s.t. :math:`P w + b \ge t,\ Q w + b \le -t`,
    :math:`\|w\|_\infty \le 1,\ t \le` ``_MARGIN_CAP`` (variables ``w, b, t``)."""
    d = P.shape[1]
    A_ub = _plane_rows(P, Q, extra=1)
    A_ub[:, d + 1] = 1.0
    c = np.zeros(d + 2)
    c[d + 1] = -1.0
    bounds = [(-1.0, 1.0)] * d + [(None, None), (None, _MARGIN_CAP)]
    return _linprog(c, A_ub=A_ub, b_ub=np.zeros(A_ub.shape[0]), bounds=bounds, method=method,
                    options=options)


def _feasibility_form_lp(P, Q, method, options):
    """HiGHS on ``P w + b >= 1, Q w + b <= -1`` (w, b free)."""
    d = P.shape[1]
    A_ub = _plane_rows(P, Q)
    return _linprog(np.zeros(d + 1), A_ub=A_ub, b_ub=np.full(A_ub.shape[0], -1.0),
                    bounds=[(None, None)] * (d + 1), method=method, options=options)


def _solve_feasibility_lp(P, Q, *, feasibility_tol, strict=False):
    r"""Solve ``P w + b >= 1, Q w + b <= -1`` with HiGHS; return ``(w, b)`` or ``None``.

    ``None`` is decided only by the bounded *margin* form

    .. math::

        \max t \quad \text{s.t.} \quad P w + b \ge t, \quad Q w + b \le -t, \quad
        \|w\|_\infty \le 1, \quad t \le 10^{-3},

    which is always feasible and bounded, so that no verdict rests on HiGHS detecting
    infeasibility: ``None`` means ``t* <= 0`` (the simplex returns touching and
    overlapping sets at a vertex with ``t*`` exactly 0). With ``t* > 0``,
    ``(w, b) / t*`` solves the feasibility form. A plane from either form is verified by
    the caller, which rejects margins below its ``tol``.

    Order, chosen on measured LPs (DirectProbe on the TREC-sized benchmark, which
    overlap or touch; nearly touching POS clusters of the tiny tier; Gaussians):

    1. the margin form by dual simplex, stopped after ``2 * (rows + columns)``
       iterations: overlapping sets need 20-900 (TREC-sized: 0.15-0.27 s each where
       the interior point method on the feasibility form took ~0.4 s), but nearly
       touching separable sets need 19,000-141,000 (5-12 s);
    2. if stopped: the feasibility form by dual simplex, which finds a plane for those
       in 0.15-0.5 s (the interior point method there: 0.4-60 s, some "numerical
       difficulties", and on two segments 1e-5 apart a false "infeasible"); a plane
       found ends here;
    3. otherwise the margin form to the end: dual simplex, then interior point.

    Any other outcome (no optimal margin LP) raises :class:`SolverError` naming status
    and message. Iteration limits, unlike time limits, keep the result reproducible; the
    only time limit is a caller's deadline (:func:`lp_deadline`), which ends the search
    with :class:`LPOutOfTime` instead of an answer.
    """
    n_p, d = P.shape
    n_q = Q.shape[0]
    options = {
        "primal_feasibility_tolerance": feasibility_tol,
        "dual_feasibility_tolerance": feasibility_tol,
    }
    simplex = dict(options, presolve=False) if strict else dict(options)

    def from_margin(res):
        t = float(res.x[d + 1])
        if not t > 0.0:
            return None
        return res.x[:d] / t, float(res.x[d]) / t

    res = _margin_lp(P, Q, "highs-ds", dict(simplex, maxiter=2 * (n_p + n_q + d + 2)))
    if res.status == 0:
        return from_margin(res)
    plain = _feasibility_form_lp(P, Q, "highs-ds", simplex)
    if plain.status == 0:
        return plain.x[:d].copy(), float(plain.x[d])
    for method, opts in (("highs-ds", simplex), ("highs-ipm", options)):
        res = _margin_lp(P, Q, method, opts)
        if res.status == 0:
            return from_margin(res)
    raise SolverError(
        f"HiGHS (dual simplex, interior point) ended the separability LP ({n_p} + {n_q} "
        f"points, {d} features) with status {res.status} "
        f"({_LP_STATUS.get(res.status, 'unknown')}): {res.message}"
    )


def _verified_plane(A, B, w, *, threshold_per_norm):
    """Normalise `w`, check its certified gap exceeds ``threshold_per_norm``; (w, b) or None."""
    norm = float(np.linalg.norm(w))
    if not np.isfinite(norm) or norm == 0.0:
        return None
    w = w / norm
    gap, pa_min, pb_max = certified_gap(A, B, w)
    if gap > threshold_per_norm:
        # Midpoint offset: both sets sit at the same distance from the plane.
        return w, -0.5 * (pa_min + pb_max)
    return None


def separating_hyperplane(A, B, *, tol=SEPARABILITY_TOL, feasibility_tol=1e-7, max_rounds=50,
                          upper_bound=None, sure_direction=None):
    r"""Find a verified strictly separating hyperplane of two point sets, or ``None``.

    Solves the scale-free feasibility LP

    .. math::

        \text{find } w \in \mathbb{R}^d,\ b \in \mathbb{R}:\quad
        A w + b \ge 1, \qquad B w + b \le -1,

    which is feasible exactly when :math:`\operatorname{conv}(A) \cap
    \operatorname{conv}(B) = \emptyset`. HiGHS (``scipy.optimize.linprog``, mostly
    dual simplex) decides it with the bounded margin form
    :math:`\max t` s.t. :math:`A w + b \ge t,\ B w + b \le -t,\ \|w\|_\infty \le 1`
    (always feasible, so no verdict rests on infeasibility detection; see
    ``_solve_feasibility_lp``) on centred and scaled data
    (:math:`x \mapsto (x - \mu) / R` with :math:`\mu` the mean of all points and
    :math:`R` the largest centred norm; the problem is invariant under this map), by
    constraint generation: the LP is solved on a working set of the points nearest to
    the other set, and points that violate the returned plane are added until none
    does. A working set with no positive margin ends the search (a subset of the
    constraints already admits no plane).

    Every returned plane is **verified** in float64 on the original data, with a
    rigorous bound on rounding error
    (:func:`~harness.geometry.certificates.certified_gap`):

    .. math::

        \min_{a \in A} w \cdot a - \max_{b \in B} w \cdot b > \mathrm{tol} \cdot R,
        \qquad \|w\|_2 = 1.

    Parameters
    ----------
    A : array-like of shape (n_a, d)
    B : array-like of shape (n_b, d)
    tol : float, default=SEPARABILITY_TOL (1e-6)
        Relative margin required of a verified plane: its certified gap along the unit
        normal must exceed ``tol * R``, with ``R`` the radius of the centred data. Hulls
        closer than that (relative to the data's size) are reported as not separable.
    feasibility_tol : float, default=1e-7
        HiGHS primal and dual feasibility tolerance (on the scaled data). A plane HiGHS
        accepts within this tolerance is still verified; when the check fails, the
        full LP is re-solved at tolerance ``1e-10`` (dual simplex without presolve,
        then interior point) before a verdict.
    max_rounds : int, default=50
        Rounds of constraint generation before falling back to the LP on all points.
    upper_bound : float, optional
        A proven upper bound of the distance between the hulls (original
        coordinates), e.g. the length of a pair of points found by a nearest-point
        solver. When ``upper_bound <= tol * R / 2`` no plane can pass the
        verification, so ``None`` is returned at once, without an LP (see Notes).
    sure_direction : array-like of shape (d,), optional
        A direction (e.g. a nearest-point solver's iterate) tried first with a higher
        bar: when its plane's margin is far above what the LP resolves (see Notes),
        that plane is returned without an LP.

    Returns
    -------
    plane : tuple (w, b) or None
        ``w`` : ndarray of shape (d,), unit Euclidean norm; ``b`` : float, chosen at
        the midpoint so that ``A @ w + b > 0 > B @ w + b`` with equal margins
        ``(min(A @ w) - max(B @ w)) / 2``. ``None`` when the hulls intersect (best
        LP margin 0) or are too close to separate with a verified plane (see ``tol``
        and ``feasibility_tol``).

    Raises
    ------
    ValueError
        On invalid input (see ``_validation.check_point_sets``).
    SolverError
        When HiGHS ends the margin LP in a status other than optimal (see
        ``_solve_feasibility_lp``).

    Warns
    -----
    HarnessWarning
        When even the strict LP finds only planes whose verified gap is below
        ``tol * R``; the sets are then reported as not separable.

    Notes
    -----
    **Known answers.** The certified gap of any unit normal is a lower bound of the
    exact gap, which is at most the distance between the hulls. So when the hulls are
    known to be closer than ``tol * R`` (``upper_bound``), no plane can pass the
    verification and the answer is ``None`` whatever the LP finds; the factor 1/2
    leaves room for the rounding of the bound. Nearest-point solvers drive intersecting
    hulls to a pair of points ~1e-16 R apart, so this settles overlaps without an LP.
    Conversely, a ``sure_direction`` :math:`w` (unit norm) with certified gap
    :math:`g` on the scaled data is a feasible point of the margin LP with
    :math:`t = g / (2 \|w\|_\infty)`. When that is at least 10 times
    ``feasibility_tol``, the LP's optimum is too, HiGHS finds a positive margin, and
    its plane's gap, at least :math:`2 (t^* - \text{feasibility\_tol}) / \sqrt{d}`,
    passes the verification: the answer "separable" is known, and the given
    direction's plane is returned in the LP's place (on two 2-d segments the LP finds
    its plane from :math:`t^* \approx 2.5` times the tolerance on). Closer hulls are
    left to the LP, whose verdict there can depend on the plane it finds: on those
    segments it reports no plane up to ~200 ``tol * R`` (:math:`t^*` at or below its
    tolerance), while the hull distance certifies them separable.

    Degenerate inputs: duplicates are harmless; a point shared by A and B (or lying in
    the other hull) caps the margin LP at ``t = 0``, so touching hulls are decided
    robustly; ``d > n`` is fine (generic sets are then separable);
    if all points coincide, ``None`` is returned.

    When ``n_a + n_b <= d`` and the points lie (within ``1e-12 R``) in a subspace of
    dimension ``r < d``, the LP is solved in an orthonormal basis of that subspace
    (``r + 1`` variables instead of ``d + 1``; the hull distance changes by at most
    ``1e-12 R``); returned planes are still verified on the full data.

    Cost: one LP on the working set per round (usually 1-3 rounds of at most a few
    hundred points), plus :math:`O((n_a + n_b) d)` per round for the check. The first
    step tries the centroid direction :math:`\bar a - \bar b`, which settles well
    separated sets without an LP.

    See Also
    --------

    The twin it is tested against, ``are_separable_reference`` (one plain LP, no
    filters), is in ``tests/geometry/geometry_reference.py``.
    harness.geometry.hull_distance.hull_distance : the distance between the hulls.

    References
    ----------
    Zhou & Srikumar, "DirectProbe", NAACL 2021, Sec. 3 (overlap test). Huangfu & Hall,
    "Parallelizing the dual revised simplex method", Math. Prog. Comp. 2018 (HiGHS).

    Examples
    --------
    >>> import numpy as np
    >>> w, b = separating_hyperplane(np.array([[0.0, 0.0], [0.0, 1.0]]),
    ...                              np.array([[2.0, 0.0], [2.0, 1.0]]))
    >>> np.round(w, 12).tolist(), round(b, 12)
    ([-1.0, 0.0], 1.0)
    """
    A, B = check_point_sets(A, B, caller="separating_hyperplane")
    return _separating_hyperplane(A, B, tol=tol, feasibility_tol=feasibility_tol,
                                  max_rounds=max_rounds, upper_bound=upper_bound,
                                  sure_direction=sure_direction)


def _separating_hyperplane(A, B, *, tol=SEPARABILITY_TOL, feasibility_tol=1e-7, max_rounds=50,
                           initial_direction=None, upper_bound=None, sure_direction=None,
                           lp_memo=None, radius=None):
    """Unchecked core of :func:`separating_hyperplane` (inputs already validated).

    ``radius`` is the R of the tolerance ``tol * R`` when the pair is part of a larger
    data set (DirectProbe's clusters, the pairs of :mod:`.pairwise`): that set's radius,
    so that a verdict does not depend on which other points are in the pair. Default:
    the pair's own radius.

    ``lp_memo`` (a dict, for repeated calls on the same ``A``, ``B``) keeps the answer
    of the LP part, steps 2-4 below: it depends only on the sets and the tolerances
    (its working set starts from the centroid direction), so a later call whose own
    directions fail gets the same answer without solving the LPs again.
    """
    (P, Q), mu, R = center_and_scale(A, B)
    if R == 0.0:  # every point is the same point: the hulls coincide
        return None
    # The tolerance on the pair's scaled data: tol * radius, in units of the pair's R.
    tol = tol * (radius / R) if radius is not None else tol
    if upper_bound is not None and upper_bound <= 0.5 * tol * R:
        return None  # no plane can pass the verification below (see Notes)
    if sure_direction is not None:
        w = np.asarray(sure_direction, float)
        norm = float(np.linalg.norm(w))
        if np.isfinite(norm) and norm > 0:
            w = w / norm
            t = certified_gap(P, Q, w)[0] / (2.0 * np.abs(w).max())
            if t >= _SURE_FACTOR * feasibility_tol:  # the LP finds a plane (see Notes)
                plane = _verified_plane(P, Q, w, threshold_per_norm=tol)
                if plane is not None:
                    return _to_original(plane, mu, R)
    # The certified gap is measured on the centred data (a translation changes every
    # projection by the same amount, and the centred numbers round less).
    threshold = tol
    # 1. Cheap directions first: the given one (e.g. a cached plane) and the centroids'.
    directions = [] if initial_direction is None else [np.asarray(initial_direction, float)]
    directions.append(P.mean(axis=0) - Q.mean(axis=0))
    for w0 in directions:
        plane = _verified_plane(P, Q, w0, threshold_per_norm=threshold)
        if plane is not None:
            return _to_original(plane, mu, R)
    key = (tol, feasibility_tol, max_rounds)
    if lp_memo is not None and key in lp_memo:
        return lp_memo[key]
    answer = _lp_search(P, Q, mu, R, directions[-1], tol=tol, feasibility_tol=feasibility_tol,
                        max_rounds=max_rounds)
    if lp_memo is not None:
        lp_memo[key] = answer
    return answer


def _lp_search(P, Q, mu, R, w0, *, tol, feasibility_tol, max_rounds):
    """Steps 2-4 of :func:`_separating_hyperplane`: the LPs, on centred, scaled sets.

    ``w0`` is the centroid direction (it orders the initial working set). Returns a
    verified plane in original coordinates or None.
    """
    n_a, d = P.shape
    n_b = Q.shape[0]
    threshold = tol
    # 2. When the points span fewer than d dimensions (always when n_a + n_b <= d),
    # solve the LP in an orthonormal basis of their span: same verdict, far fewer
    # variables. Planes are still verified on the full data.
    basis = _span_basis(P, Q) if n_a + n_b <= d else None
    if basis is None:
        PL, QL, lift = P, Q, (lambda v: v)
    else:
        PL, QL, lift = P @ basis, Q @ basis, (lambda v: basis @ v)
    dl = PL.shape[1]
    # 3. Constraint generation on the points nearest to the other set along w0.
    pa = P @ w0
    pb = Q @ w0
    k0 = max(2 * (dl + 1), 64)
    ia = np.argsort(pa, kind="stable")[: min(n_a, k0)]
    ib = np.argsort(-pb, kind="stable")[: min(n_b, k0)]
    in_a = np.zeros(n_a, bool)
    in_b = np.zeros(n_b, bool)
    in_a[ia] = True
    in_b[ib] = True
    for _ in range(max_rounds):
        sol = _solve_feasibility_lp(PL[in_a], QL[in_b], feasibility_tol=feasibility_tol)
        if sol is None:
            return None  # a subset of the constraints admits no plane
        w, b = sol
        plane = _verified_plane(P, Q, lift(w), threshold_per_norm=threshold)
        if plane is not None:
            return _to_original(plane, mu, R)
        if in_a.all() and in_b.all():
            break
        # Add the points that violate this LP solution, most violated first.
        ra = PL @ w + b - 1.0
        rb = -1.0 - (QL @ w + b)
        ra[in_a] = np.inf
        rb[in_b] = np.inf
        va = np.flatnonzero(ra < 0)
        vb = np.flatnonzero(rb < 0)
        if va.size == 0 and vb.size == 0:
            break  # the plane satisfies every constraint but fails verification
        m = max(k0, int(in_a.sum() + in_b.sum()) // 2)
        in_a[va[np.argsort(ra[va], kind="stable")[:m]]] = True
        in_b[vb[np.argsort(rb[vb], kind="stable")[:m]]] = True
    # 4. Strict fallback: all points, tight tolerances.
    sol = _solve_feasibility_lp(PL, QL, feasibility_tol=1e-10, strict=True)
    if sol is None:
        return None
    sol = (lift(sol[0]), sol[1])
    plane = _verified_plane(P, Q, sol[0], threshold_per_norm=threshold)
    if plane is not None:
        return _to_original(plane, mu, R)
    warnings.warn(
        "The separability LP is feasible only within floating-point resolution: no plane "
        f"separates the sets by more than tol * R = {tol * R:.3g}. They are reported as "
        "not separable.",
        HarnessWarning,
        stacklevel=4,
    )
    return None


def _span_basis(P, Q, *, rank_rtol=1e-14, max_residual=1e-12):
    r"""Orthonormal basis (d, r) of the span of the centred, scaled points, or None.

    Returned only when ``r < d`` and every point lies within ``max_residual`` (data
    radius 1) of the span, so that the hull distance changes by at most that much:
    far below the ``tol`` of :func:`separating_hyperplane`. The basis comes from the
    eigenvectors of the Gram matrix :math:`Z Z^T` (several times cheaper than an SVD
    of ``Z``; its rounding only ever makes the residual check fail, which keeps the
    full LP). Cost :math:`O(n^2 d + n^3)`.
    """
    Z = np.vstack([P, Q])
    ev, U = np.linalg.eigh(Z @ Z.T)
    if ev.size == 0 or ev[-1] <= 0.0:
        return None
    keep = ev > rank_rtol * ev[-1]
    r = int(np.sum(keep))
    if r >= P.shape[1]:
        return None
    basis, _ = np.linalg.qr(Z.T @ U[:, keep])  # orthonormalise Z^T u_k / sigma_k
    resid = Z - (Z @ basis) @ basis.T
    if float(np.sqrt(np.einsum("ij,ij->i", resid, resid).max())) > max_residual:
        return None
    return basis


def _to_original(plane, mu, R):
    """Map a plane ``w.p + b`` on scaled data ``p = (x - mu) / R`` to ``w.x + b'``."""
    w, b = plane
    # w is a unit normal on p; on x the same unit normal works with offset rescaled.
    return w, float(b * R - w @ mu)


def are_separable(A, B, *, tol=SEPARABILITY_TOL):
    r"""Whether the convex hulls of two point sets are disjoint (strictly separable).

    Equivalent to ``separating_hyperplane(A, B, tol=tol) is not None``: the answer is
    ``True`` only with a separating hyperplane verified in float64 against rounding
    error, ``False`` when HiGHS finds no plane

    .. math:: A w + b \ge t, \quad B w + b \le -t, \quad \|w\|_\infty \le 1

    with a positive margin ``t`` (on the centred data scaled to radius 1), or when
    every plane it finds fails the verification (hulls closer than ``tol * R``; see
    :func:`separating_hyperplane`). No solver status other than optimal is ever read
    as an answer.

    Parameters
    ----------
    A : array-like of shape (n_a, d)
    B : array-like of shape (n_b, d)
    tol : float, default=SEPARABILITY_TOL (1e-6)
        Relative margin a verified plane must exceed (times the data radius ``R``).

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        On invalid input.
    SolverError
        When HiGHS ends the margin LP in a status other than optimal (see
        ``_solve_feasibility_lp``).

    See Also
    --------
    separating_hyperplane : the plane itself, and the method.

    The twin it is tested against, ``are_separable_reference`` (one plain LP), is in
    ``tests/geometry/geometry_reference.py``.
    harness.geometry.hull_distance.pairwise_separable : all pairs of groups at once.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.0, 0.0], [2.0, 0.0]])
    >>> are_separable(A, np.array([[1.0, 1.0], [1.0, 2.0]]))
    True
    >>> are_separable(A, np.array([[1.0, 0.0], [1.0, 2.0]]))  # touches the edge
    False
    """
    A, B = check_point_sets(A, B, caller="are_separable")
    return _separating_hyperplane(A, B, tol=tol) is not None
