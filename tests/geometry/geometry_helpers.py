"""Point-set generators shared by the geometry tests."""

import numpy as np


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
