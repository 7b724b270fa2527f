"""Point-set generators and checks shared by the geometry tests."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

# Magnitudes below 1e-100 are flushed to 0: a set of such points alone is outside the
# pairwise kernels' range and refused (harness/geometry/_scaling.py; tests/geometry/
# test_scaling.py covers the extremes).
coords = st.floats(-4, 4, allow_nan=False, allow_infinity=False, width=64).map(
    lambda v: 0.0 if abs(v) < 1e-100 else v)


def random_rotation(d, rng):
    """A random orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def gaussian_pair(rng, n_a, n_b, d, shift):
    """Two Gaussian clouds whose means differ by `shift` along the first axis."""
    A = rng.standard_normal((n_a, d))
    B = rng.standard_normal((n_b, d))
    B[:, 0] += shift
    return A, B


@st.composite
def point_sets(draw, max_d=4, max_n=8):
    """Two small float64 point sets (hypothesis), the second shifted by 0, 1, 3 or 10."""
    d = draw(st.integers(1, max_d))
    n_a = draw(st.integers(1, max_n))
    n_b = draw(st.integers(1, max_n))
    A = draw(arrays(np.float64, (n_a, d), elements=coords))
    B = draw(arrays(np.float64, (n_b, d), elements=coords))
    shift = draw(st.sampled_from([0.0, 1.0, 3.0, 10.0]))
    return A, B + shift


RTOL = 1e-6


def radius(A, B):
    """Largest distance of a point of A or B to the mean of all of them."""
    X = np.vstack([A, B])
    return np.linalg.norm(X - X.mean(0), axis=1).max()


def check_certificate(A, B, res, rtol=RTOL, atol=1e-9):
    """Everything a HullDistance promises, checked from scratch."""
    assert res.a_weights.min() >= 0 and res.b_weights.min() >= 0
    assert np.isclose(res.a_weights.sum(), 1.0) and np.isclose(res.b_weights.sum(), 1.0)
    np.testing.assert_allclose(res.a_point, res.a_weights @ A, atol=1e-12 * (1 + abs(A).max()))
    np.testing.assert_allclose(res.b_point, res.b_weights @ B, atol=1e-12 * (1 + abs(B).max()))
    assert np.isclose(res.upper_bound, np.linalg.norm(res.a_point - res.b_point), rtol=1e-12,
                      atol=1e-15)
    if res.separable:
        assert res.lower_bound > 0
        assert res.distance == res.upper_bound
        assert res.upper_bound - res.lower_bound <= max(rtol * res.upper_bound,
                                                        atol * radius(A, B)) * (1 + 1e-9)
        # The lower bound is what the normal actually achieves (up to the rounding of
        # this uncentred recomputation, ~ d u max|x|).
        w = res.normal
        gap = (A @ w).min() - (B @ w).max()
        slack = 4 * A.shape[1] * 2.2e-16 * (1 + max(abs(A).max(), abs(B).max()))
        assert gap >= res.lower_bound * (1 - 1e-12) - slack
        assert (A @ w + res.offset).min() > 0 > (B @ w + res.offset).max()
    else:
        assert res.distance == 0.0
        assert res.lower_bound <= 0


def close(a, b, rtol=RTOL, floor=1e-9):
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + floor


def grouped_data(rng, k, n, d, spread):
    means = rng.standard_normal((k, d)) * spread
    groups = rng.integers(0, k, n)
    groups[:k] = np.arange(k)  # every group non-empty
    return means[groups] + rng.standard_normal((n, d)), groups


def nearly_touching_pair(seed, delta, d=384, e=30, n=300, k=60, scale=10.0):
    """Two clouds in a random e-dim subspace of R^d whose hulls are exactly `delta`
    apart, each with a k-point support face (a slab face with O(scale) extent).

    Distance / radius ~ 4e-8 for delta = 3e-6: Wolfe's iterate is a tiny combination
    of O(1) vertices and its direction is too imprecise to certify the distance (the
    old code raised SolverError with bounds [2.08e-6, 3e-6]); this is what POS
    embedding-layer vectors of real BERT models produce.
    """
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, e)) * scale
    B = rng.standard_normal((n, e)) * scale
    A[:, 0] = delta / 2 + np.abs(A[:, 0]) * 0.1
    B[:, 0] = -delta / 2 - np.abs(B[:, 0]) * 0.1
    A[:k, 0] = delta / 2
    B[:k, 0] = -delta / 2
    q, _ = np.linalg.qr(rng.standard_normal((d, e)))
    return A @ q.T + 3.0, B @ q.T + 3.0


def counted_lp(monkeypatch):
    """Count the separability LPs solved from now on (a list that grows by one per LP)."""
    from harness.geometry import separability

    calls = []
    lp = separability._solve_feasibility_lp

    def counted(*args, **kwargs):
        calls.append(1)
        return lp(*args, **kwargs)

    monkeypatch.setattr(separability, "_solve_feasibility_lp", counted)
    return calls
