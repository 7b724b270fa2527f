"""Seeded synthetic inputs for the DirectProbe clustering benchmarks.

# !!! Must not be changed -- only appended !!! (benchmark results are compared across
# commits; changing a generator silently changes every number measured with it.)

All generators take ``rng = np.random.default_rng(seed)`` and return ``(X, y)`` with
``X`` float64 of shape (n, d) and ``y`` int64 of shape (n,).
"""

import numpy as np


def gaussian_blobs(n, d, k, *, spread, seed=0):
    """``k`` isotropic unit Gaussians with centres drawn from N(0, spread^2 I_d).

    Labels are drawn uniformly. Large `spread` (e.g. 10) gives linearly separable labels;
    ``spread=1`` gives heavily overlapping ones.
    """
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=spread, size=(k, d))
    y = rng.integers(0, k, n)
    return centers[y] + rng.normal(size=(n, d)), y.astype(np.int64)


def low_rank_labels(n, d, k, *, rank=16, spread=2.0, noise=0.0, zipf=1.1, seed=0):
    """TREC-like: ``k`` labels of Zipf-skewed sizes in a ``rank``-dim subspace of R^d.

    Label centres are N(0, spread^2) in a latent space of dimension `rank`, each point is
    its label's centre plus N(0, I_rank), mapped to R^d by a fixed random orthonormal
    map, plus isotropic N(0, noise^2 I_d). Contextual embeddings have low intrinsic
    dimension; in full dimension ``d`` any two labels with fewer than ``d + 1`` points
    would be separable, so the low rank is what makes labels overlap.
    """
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, k + 1) ** zipf
    y = rng.choice(k, size=n, p=p / p.sum())
    # every label present at least twice
    y[: 2 * k] = np.repeat(np.arange(k), 2)
    centers = rng.normal(scale=spread, size=(k, rank))
    Z = centers[y] + rng.normal(size=(n, rank))
    P, _ = np.linalg.qr(rng.normal(size=(d, rank)))
    X = Z @ P.T + noise * rng.normal(size=(n, d))
    return X, y.astype(np.int64)


def pos_like(n, d, *, n_tags=17, n_types=2500, rank=32, type_spread=3.0, tag_shift=0.6,
             context=0.35, noise=0.0, seed=0):
    """POS-like non-linear data: word types that carry 1-3 tags each.

    Generator: ``n_types`` word types get a latent vector N(0, type_spread^2 I_rank) and
    1, 2 or 3 tags (probabilities 0.6, 0.3, 0.1; tags drawn with Zipf-like weights).
    Token frequencies of the types are Zipfian. A token is its type's vector plus a
    small shift for its tag (N(0, tag_shift^2) per tag, shared by all types) plus a
    context perturbation N(0, context^2 I_rank); the latent vectors are mapped to R^d
    by a random orthonormal map and get isotropic N(0, noise^2 I_d). Tokens of one type
    with different tags sit in one tight group, so labels interleave at the type level
    and the data are not linear. Measured with the defaults: n=3,000 (500 types) gives
    25 clusters for 17 tags, n=6,000 (1,000 types) 37 clusters; far fewer than BERT's
    3,936 on tiny POS models (its clusters are many and small; here few and large, the
    harder case for the overlap checks).
    """
    rng = np.random.default_rng(seed)
    tag_w = 1.0 / np.arange(1, n_tags + 1) ** 0.8
    tag_w /= tag_w.sum()
    type_vec = rng.normal(scale=type_spread, size=(n_types, rank))
    n_tag = rng.choice([1, 2, 3], size=n_types, p=[0.6, 0.3, 0.1])
    type_tags = [rng.choice(n_tags, size=m, replace=False, p=tag_w) for m in n_tag]
    tag_vec = rng.normal(scale=tag_shift, size=(n_tags, rank))
    freq = 1.0 / np.arange(1, n_types + 1) ** 1.0
    t = rng.choice(n_types, size=n, p=freq / freq.sum())
    y = np.array([type_tags[i][rng.integers(len(type_tags[i]))] for i in t], dtype=np.int64)
    Z = type_vec[t] + tag_vec[y] + rng.normal(scale=context, size=(n, rank))
    P, _ = np.linalg.qr(rng.normal(size=(d, rank)))
    X = Z @ P.T + noise * rng.normal(size=(n, d))
    return X, y
