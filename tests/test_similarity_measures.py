"""The similarity measures of ``harness.similarity``: properties, references, debiasing.

Each measure is held to what it promises (``harness/similarity/*.py`` docstrings):
invariances, symmetry, the value on identical inputs, agreement with a slow reference
(the brute-force U-statistic, the Gram recipe, the arccos formula) and with rsatoolbox,
and the debiasing of CKA measured on independent inputs. Inputs are drawn from
``numpy.random.default_rng(seed)`` with the seed (and sizes) chosen by hypothesis, so
that a failure replays from the printed example.
"""

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from harness.similarity import (COMPARE_METHODS, MinibatchCKA, SimilarityInputError,
                                angular_shape_distance, compare_rdms, linear_cka, minibatch_cka,
                                rdm, rsa)
from harness.similarity.cka import _hsic_u_gram, cka_from_terms, hsic_terms
from similarity_reference import (cka_gram_reference, hsic_u_brute,
                                  procrustes_angle_reference)

SEEDS = st.integers(0, 2 ** 32 - 1)
PROPERTY = settings(max_examples=40, deadline=None)
RSA_METHODS = sorted(set(COMPARE_METHODS) - {"pearson"})  # "pearson" is "corr"

#: Every measure as a function of (X, Y), and its value on identical inputs.
MEASURES = {
    "cka": (lambda X, Y: linear_cka(X, Y), 1.0),
    "cka-debiased": (lambda X, Y: linear_cka(X, Y, debiased=True), 1.0),
    "cka-gram": (lambda X, Y: linear_cka(X, Y, method="gram"), 1.0),
    "cka-debiased-gram": (lambda X, Y: linear_cka(X, Y, debiased=True, method="gram"), 1.0),
    "procrustes": (angular_shape_distance, 0.0),
    **{f"rsa-{metric}-{method}": (
        lambda X, Y, metric=metric, method=method: rsa(X, Y, metric=metric, method=method), 1.0)
       for metric in ("euclidean", "correlation") for method in RSA_METHODS},
}
#: Measures invariant to translation, isotropic scaling and orthogonal maps of an input.
SIMILARITY_INVARIANT = [m for m in MEASURES if not m.startswith("rsa-correlation")]


def pair(seed, n, d1, d2, noise=1.0):
    """Two related representations of ``n`` examples: Y is a noisy linear map of X."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d1)) * rng.uniform(0.5, 2.0, size=d1)
    Y = X @ rng.normal(size=(d1, d2)) + noise * rng.normal(size=(n, d2))
    return X, Y


def orthogonal(rng, d):
    Q, R = np.linalg.qr(rng.normal(size=(d, d)))
    return Q * np.sign(np.diag(R))


# ---- invariances, symmetry, identity -------------------------------------------------------
@pytest.mark.parametrize("name", SIMILARITY_INVARIANT)
@PROPERTY
@given(seed=SEEDS, n=st.integers(6, 40), d1=st.integers(1, 12), d2=st.integers(1, 12),
       scale=st.floats(0.01, 100.0), shift=st.floats(-100.0, 100.0))
def test_invariant_to_rotation_scaling_and_translation(name, seed, n, d1, d2, scale, shift):
    f, _ = MEASURES[name]
    X, Y = pair(seed, n, d1, d2)
    rng = np.random.default_rng(seed + 1)
    moved = scale * X @ orthogonal(rng, d1) + shift * rng.normal(size=d1)
    assert f(moved, Y) == pytest.approx(f(X, Y), rel=1e-8, abs=1e-9)


@pytest.mark.parametrize("method", RSA_METHODS)
@PROPERTY
@given(seed=SEEDS, n=st.integers(6, 30), d=st.integers(3, 12))
def test_correlation_rdm_is_invariant_to_per_example_affine_maps_and_feature_order(method, seed, n, d):
    X, Y = pair(seed, n, d, d)
    rng = np.random.default_rng(seed + 1)
    moved = (X * rng.uniform(0.1, 10.0, size=(n, 1)) + rng.normal(size=(n, 1)) * 50)
    moved = moved[:, rng.permutation(d)]
    expected = rsa(X, Y, metric="correlation", method=method)
    assert rsa(moved, Y, metric="correlation", method=method) == pytest.approx(
        expected, rel=1e-8, abs=1e-9)


@pytest.mark.parametrize("name", list(MEASURES))
@PROPERTY
@given(seed=SEEDS, n=st.integers(6, 40), d1=st.integers(2, 12), d2=st.integers(2, 12))
def test_symmetric_and_exact_on_identical_inputs(name, seed, n, d1, d2):
    # Two features correlate to +-1 only: a correlation RDM needs three.
    assume(not name.startswith("rsa-correlation") or min(d1, d2) >= 3)
    f, identical = MEASURES[name]
    X, Y = pair(seed, n, d1, d2)
    assert f(X, Y) == pytest.approx(f(Y, X), rel=1e-10, abs=1e-12)
    assert f(X, X) == pytest.approx(identical, abs=1e-10)


def test_procrustes_on_identical_inputs_is_zero_to_rounding_not_to_the_arccos():
    # arccos(1 - 1e-16) would read 1.5e-8: the residual form gives rounding-level zeros,
    # also for d > n (rank-deficient cross-product) and for a rotated copy.
    rng = np.random.default_rng(0)
    for n, d in ((50, 8), (10, 40)):
        X = rng.normal(size=(n, d))
        assert angular_shape_distance(X, X) < 1e-12
        assert angular_shape_distance(X, 7 * X @ orthogonal(rng, d) - 3) < 1e-12


# ---- references ----------------------------------------------------------------------------
@PROPERTY
@given(seed=SEEDS, n=st.integers(4, 7), d1=st.integers(1, 5), d2=st.integers(1, 5),
       shift=st.floats(-10.0, 10.0))
def test_unbiased_hsic_is_the_u_statistic_in_both_forms(seed, n, d1, d2, shift):
    X, Y = pair(seed, n, d1, d2)
    X = X + shift  # the U-statistic is translation-invariant; the forms must not care
    brute = hsic_u_brute(X, Y)
    gram = _hsic_u_gram(X @ X.T, Y @ Y.T)
    features = hsic_terms(X, Y, debiased=True, method="features")[0]
    scale = max(1.0, abs(brute))
    assert gram == pytest.approx(brute, abs=1e-9 * scale)
    assert features == pytest.approx(brute, abs=1e-9 * scale)


@pytest.mark.parametrize("debiased", [False, True])
@PROPERTY
@given(seed=SEEDS, n=st.integers(5, 60), d1=st.integers(1, 80), d2=st.integers(1, 80))
def test_gram_free_form_equals_gram_form(debiased, seed, n, d1, d2):
    X, Y = pair(seed, n, d1, d2)
    gram = linear_cka(X, Y, debiased=debiased, method="gram")
    assert linear_cka(X, Y, debiased=debiased, method="features") == pytest.approx(
        gram, rel=1e-9, abs=1e-11)
    if not debiased:
        assert gram == pytest.approx(cka_gram_reference(X, Y), rel=1e-9, abs=1e-11)


@PROPERTY
@given(seed=SEEDS, n=st.integers(5, 40), d1=st.integers(1, 10), d2=st.integers(1, 10),
       noise=st.floats(0.5, 5.0))
def test_procrustes_matches_the_arccos_of_the_nuclear_norm(seed, n, d1, d2, noise):
    X, Y = pair(seed, n, d1, d2, noise)
    expected = procrustes_angle_reference(X, Y)
    # The arccos form loses digits near 0; away from it both forms agree closely.
    assert angular_shape_distance(X, Y) == pytest.approx(expected, abs=1e-7)


@PROPERTY
@given(seed=SEEDS, n=st.integers(5, 30), d=st.integers(1, 6))
def test_procrustes_satisfies_the_triangle_inequality(seed, n, d):
    rng = np.random.default_rng(seed)
    A, B, C = (rng.normal(size=(n, d)) for _ in range(3))
    B = A + 0.3 * B  # some close, some far
    dist = angular_shape_distance
    assert dist(A, C) <= dist(A, B) + dist(B, C) + 1e-10


@pytest.mark.parametrize("metric", ["euclidean", "correlation"])
@pytest.mark.parametrize("method", RSA_METHODS + ["pearson"])
@settings(max_examples=15, deadline=None)
@given(seed=SEEDS, n=st.integers(5, 40), d1=st.integers(3, 10), d2=st.integers(3, 10))
def test_rsa_agrees_with_rsatoolbox(metric, method, seed, n, d1, d2):
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm, compare

    X, Y = pair(seed, n, d1, d2)
    theirs_x = calc_rdm(Dataset(X), method=metric)
    np.testing.assert_allclose(rdm(X, metric), theirs_x.get_vectors()[0], rtol=0, atol=1e-10)
    theirs = compare(theirs_x, calc_rdm(Dataset(Y), method=metric),
                     method="corr" if method == "pearson" else method)[0, 0]
    assert rsa(X, Y, metric=metric, method=method) == pytest.approx(theirs, abs=1e-10)


@pytest.mark.parametrize("method", RSA_METHODS + ["pearson"])
@settings(max_examples=15, deadline=None)
@given(seed=SEEDS, m=st.integers(3, 60), levels=st.integers(2, 6))
def test_rdm_comparison_with_ties_agrees_with_rsatoolbox(method, seed, m, levels):
    # Tied dissimilarities (repeated examples, coarse RDMs) are where tau-a, tau-b, rho-a
    # and Spearman differ. They are compared on the same RDM vectors: rsatoolbox's
    # euclidean RDM computes |x|^2 + |y|^2 - 2 x.y, whose rounding splits exact ties.
    from rsatoolbox.rdm import RDMs, compare

    rng = np.random.default_rng(seed)
    a = rng.integers(0, levels, size=m).astype(float)
    b = a + rng.integers(0, levels, size=m)
    assume(np.ptp(a) > 0 and np.ptp(b) > 0)
    theirs = compare(RDMs(a[None]), RDMs(b[None]),
                     method="corr" if method == "pearson" else method)[0, 0]
    assert compare_rdms(a, b, method) == pytest.approx(theirs, abs=1e-10)


# ---- the debiasing, measured ---------------------------------------------------------------
def test_debiasing_on_independent_gaussian_inputs():
    # Independent X and Y (n x d, d = 10): the population CKA is 0. The biased estimate
    # is about d / (n + d) (E||X'Y||^2 = n d^2 against ||X'X|| ~ n sqrt(d) sqrt(1 + d/n)),
    # clearly positive at small n and falling as 1/n; the debiased one is unbiased for
    # the numerator and stays near 0. Means over 20 fixed-seed replicates per n.
    d, replicates = 10, 20
    sizes = [16, 32, 64, 128, 256, 1024]
    biased, debiased = [], []
    for n in sizes:
        b, u = [], []
        for r in range(replicates):
            rng = np.random.default_rng(1000 * n + r)
            X, Y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
            b.append(linear_cka(X, Y))
            u.append(linear_cka(X, Y, debiased=True))
        biased.append(np.mean(b))
        debiased.append(np.mean(u))
    biased, debiased = np.array(biased), np.array(debiased)
    assert biased[0] > 0.3  # at n = 16
    assert np.all(np.diff(biased) < 0)
    expected = d / (np.array(sizes) + d)
    assert np.all(np.abs(biased / expected - 1) < 0.3), biased / expected  # ~ 1/n
    at_least_64 = np.array(sizes) >= 64
    assert np.all(np.abs(debiased[at_least_64]) <= 0.02), debiased
    assert np.all(np.abs(debiased) < biased / 3)


# ---- minibatch CKA -------------------------------------------------------------------------
def test_minibatch_with_one_batch_is_the_full_debiased_cka():
    X, Y = pair(0, 500, 20, 12)
    full = linear_cka(X, Y, debiased=True)
    assert minibatch_cka(X, Y, batch_size=500) == pytest.approx(full, rel=1e-12)
    assert minibatch_cka(X, Y, batch_size=10_000, rng=3) == pytest.approx(full, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_minibatch_hsic_is_unbiased_for_the_full_set_estimate(seed):
    # HSIC_u is a mean over the 4-tuples of distinct examples, so its mean over every
    # batch of m examples is the full set's HSIC_u exactly (each tuple lies in the same
    # number of batches). Exhaustively: n = 9, m = 5, all 126 batches.
    n, m = 9, 5
    X, Y = pair(seed, n, 3, 4)
    full = np.array(hsic_terms(X, Y, debiased=True))
    batches = [np.array(hsic_terms(X[list(c)], Y[list(c)], debiased=True))
               for c in itertools.combinations(range(n), m)]
    np.testing.assert_allclose(np.mean(batches, axis=0), full, rtol=1e-10, atol=1e-12)


def test_minibatch_cka_approaches_the_full_value_as_batches_grow():
    # The ratio of averages is consistent, not unbiased: its error shrinks with the batch
    # size. Mean absolute error over 5 shuffles, related inputs with CKA ~ 0.5.
    X, Y = pair(7, 4000, 16, 16, noise=4.0)
    full = linear_cka(X, Y, debiased=True)
    errors = {m: np.mean([abs(minibatch_cka(X, Y, batch_size=m, rng=r) - full)
                          for r in range(5)]) for m in (20, 200, 2000)}
    assert errors[2000] < errors[200] < errors[20]
    assert errors[200] < 0.02


def test_minibatch_accumulator_checks_its_batches():
    acc = MinibatchCKA()
    with pytest.raises(SimilarityInputError, match="no batch"):
        acc.value()
    acc.update(np.random.default_rng(0).normal(size=(8, 3)), np.ones((8, 2)).cumsum(0))
    with pytest.raises(SimilarityInputError, match="batch 2 has 4 and 2 features"):
        acc.update(np.zeros((8, 4)), np.zeros((8, 2)))
    with pytest.raises(SimilarityInputError, match="at least 4"):
        minibatch_cka(np.zeros((8, 3)), np.zeros((8, 3)), batch_size=3)


# ---- degenerate inputs: one-line errors, never NaN -----------------------------------------
@pytest.mark.parametrize("name", list(MEASURES))
@pytest.mark.parametrize("case, match", [
    ("three examples", "at least 4 examples; got 3"),
    ("mismatched", "X has 10 rows and Y has 9"),
    ("constant", "is constant"),
    ("nan", "NaN or infinity"),
    ("one-dimensional", "must have shape"),
])
def test_degenerate_inputs_raise_one_line(name, case, match):
    f, _ = MEASURES[name]
    X, Y = pair(0, 10, 4, 3)
    X, Y = {"three examples": (X[:3], Y[:3]), "mismatched": (X, Y[:9]),
            "constant": (np.tile(X[:1], (10, 1)), Y), "nan": (np.where(X > 1, np.nan, X), Y),
            "one-dimensional": (X[:, 0], Y)}[case]
    with pytest.raises(SimilarityInputError, match=match) as err:
        f(X, Y)
    assert "\n" not in str(err.value)
    assert isinstance(err.value, ValueError)


def test_a_self_hsic_that_is_not_positive_is_an_error_not_nan():
    # The U-centred inner product is positive for a non-constant input in every case we
    # could build; the check stays, and says why, rather than dividing by zero.
    with pytest.raises(SimilarityInputError, match="of Y with itself is 0, not positive"):
        cka_from_terms(0.1, 1.0, 0.0, debiased=True, caller="linear_cka")


def test_low_precision_inputs_accumulate_in_float64():
    # Stored snapshots may be float16: the value must be that of the same numbers in
    # float64, not of float16 sums (which would overflow or round at n = 20,000).
    X, Y = pair(0, 20_000, 8, 8)
    X16, Y16 = (100 * X).astype(np.float16), (100 * Y).astype(np.float16)
    for debiased in (False, True):
        assert linear_cka(X16, Y16, debiased=debiased) == linear_cka(
            X16.astype(np.float64), Y16.astype(np.float64), debiased=debiased)
