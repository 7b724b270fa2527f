"""Point-set generators shared by the geometry tests."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

coords = st.floats(-4, 4, allow_nan=False, allow_infinity=False, width=64)


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
