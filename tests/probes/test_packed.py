"""The packed trainer (harness/probes/_packed.py) against its references.

The packed layout is a shortcut: it trains a whole grid in lockstep in flat buffers. Its
slow references are the per-shape batched trainer (``layout="shape"``, itself tested
against scikit-learn in test_mlp.py) and scikit-learn's MLPClassifier. In float64 the
packed and per-shape trainers run the same arithmetic up to summation order, so they
must give the same networks, epochs and stopping decisions, hence the same validation
table and the same selected setting. In float32 (the default) they agree to rounding,
and against scikit-learn the selection and accuracies are compared.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import harness.probes._torch_backend as tb
from harness.probes import get_grid, probe_grid_search, select_probe_setting
from harness.probes._packed import _Layout
from harness.probes._torch_backend import MemberSpec, train_mlps


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0), y


def _assert_same_training(a, b, atol=1e-9):
    for ra, rb in zip(a, b, strict=True):
        assert ra.spec == rb.spec
        assert ra.n_iter == rb.n_iter and ra.converged == rb.converged
        np.testing.assert_allclose(ra.loss_curve, rb.loss_curve, rtol=1e-9, atol=atol)
        for wa, wb in zip(ra.coefs + ra.intercepts, rb.coefs + rb.intercepts, strict=True):
            assert wa.shape == wb.shape
            np.testing.assert_allclose(wa, wb, rtol=1e-7, atol=atol)


GRID_SPECS = [((16, 8), 1e-4), ((8, 32), 1e-2), ((32, 32), 1e-3), ((8, 8), 1e-1),
              ((16, 8), 1.0), ((8, 32), 0.0), ((32, 8), 1e-7)]


@pytest.mark.parametrize("seeds", ["shared", "distinct"])
def test_packed_equals_per_shape_in_float64(digits, seeds):
    # Mixed widths, some members stopping early (converged members are repacked away)
    # and others running to max_iter: the same networks, epochs and loss curves.
    X, y = digits
    specs = [MemberSpec(h, a, 0 if seeds == "shared" else k) for k, (h, a) in enumerate(GRID_SPECS)]
    kw = dict(max_iter=150, tol=1e-3, n_iter_no_change=5, dtype="float64", device="cpu")
    shape = train_mlps(X[:600], y[:600], 10, specs, layout="shape", **kw)
    packed = train_mlps(X[:600], y[:600], 10, specs, layout="packed", **kw)
    assert len({r.n_iter for r in shape}) > 1  # members stop at different epochs
    _assert_same_training(shape, packed)


def test_packed_float32_matches_float64_at_rounding_level(digits):
    # The default float32 arithmetic agrees with float64 over a few epochs (before the
    # chaotic growth of rounding differences that any two float32 runs show).
    X, y = digits
    specs = [MemberSpec(h, a, 0) for h, a in GRID_SPECS]
    r32 = train_mlps(X, y, 10, specs, max_iter=3, layout="packed", device="cpu")
    r64 = train_mlps(X, y, 10, specs, max_iter=3, layout="packed", dtype="float64", device="cpu")
    for a, b in zip(r32, r64):
        np.testing.assert_allclose(a.loss_curve, b.loss_curve, rtol=1e-4)
        for wa, wb in zip(a.coefs, b.coefs):
            np.testing.assert_allclose(wa, wb, atol=1e-4)


def test_packed_is_the_cpu_default(digits, monkeypatch):
    seen = []
    real = tb._train_packed_group

    def spy(*a, **k):
        seen.append(len(a[3]))
        return real(*a, **k)

    monkeypatch.setattr(tb, "_train_packed_group", spy)
    X, y = digits
    specs = [MemberSpec((4, 4), 1e-4, 0), MemberSpec((8, 4), 1e-4, 0), MemberSpec((6,), 1e-4, 0)]
    res = train_mlps(X[:100], y[:100], 10, specs, max_iter=2, device="cpu")
    # One packed model per depth: the two 2-layer members together, the 1-layer one alone.
    assert sorted(seen) == [1, 2]
    assert [w.shape for w in res[2].coefs] == [(64, 6), (6, 10)]


def test_layout_runs_and_round_trip():
    import torch

    _, g = get_grid("paper")
    units = sorted(([384, *h, 17] for h in g["hidden_sizes"] for _ in g["alpha"]),
                   key=lambda u: tuple(reversed(u[1:-1])))
    lay = _Layout(units)
    # 16 runs (shapes) at layer 2 and 4 (widths) at the output. The first layer's runs
    # serve only members with their own minibatch order; a shared order is one GEMM.
    assert [len(r) for r in lay.runs] == [16, 16, 4]
    n_params = sum(u[i] * u[i + 1] + u[i + 1] for u in units for i in range(3))
    assert lay.size == n_params and lay.n_weights == sum(u[i] * u[i + 1] for u in units for i in range(3))
    small = _Layout([[3, 2, 4, 2], [3, 2, 4, 2], [3, 5, 4, 2], [3, 1, 3, 2]])
    gen = torch.Generator().manual_seed(0)
    members = [([torch.rand((u[i], u[i + 1]), generator=gen, dtype=torch.float64) for i in range(3)],
                [torch.rand(u[i + 1], generator=gen, dtype=torch.float64) for i in range(3)])
               for u in small.units]
    flat = small.pack(members, torch, torch.float64, "cpu")
    for (c, b), (c2, b2) in zip(members, small.unpack(flat)):
        for x, x2 in zip(c + b, c2 + b2):
            assert torch.equal(x, x2)
    # Per-member squared norms from the row layout equal the direct sums.
    from harness.probes._packed import _Packed

    zeros = [([torch.zeros_like(w) for w in c], [torch.zeros_like(v) for v in b]) for c, b in members]
    net = _Packed(small, [(m, z, z) for m, z in zip(members, zeros)], [0.1] * 4, torch,
                  torch.float64, "cpu")
    want = [sum(float((w * w).sum()) for w in c) for c, _ in members]
    np.testing.assert_allclose(net.sq_norms().numpy(), want, rtol=1e-12)


@st.composite
def _problems(draw):
    """Small, possibly degenerate classification problems and member grids."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, 30))
    d = draw(st.integers(1, 5))
    n_classes = draw(st.integers(1, 4))
    X = rng.normal(size=(n, d)) * draw(st.sampled_from([0.0, 1e-3, 1.0, 100.0]))
    if draw(st.booleans()):  # duplicated rows (with possibly different labels)
        X[n // 2:] = X[: n - n // 2]
    y = rng.integers(0, n_classes, size=n)
    if draw(st.booleans()):  # a class with a single member
        y[:] = 0
        y[-1] = n_classes - 1
    depth = draw(st.integers(1, 2))
    widths = st.tuples(*[st.integers(1, 5)] * depth)
    alphas = st.sampled_from([0.0, 1e-4, 1e-1, 1.0, 10.0])
    shared = draw(st.booleans())
    specs = draw(st.lists(st.tuples(widths, alphas, st.integers(0, 3)), min_size=1, max_size=6))
    specs = [MemberSpec(h, a, 0 if shared else s) for h, a, s in specs]
    batch = draw(st.sampled_from(["auto", 1, 7]))
    return X, y, max(n_classes, 2), specs, batch


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems())
def test_packed_equals_per_shape_on_degenerate_inputs(problem):
    # Constant, tiny and huge inputs, duplicated rows, one class or a single-member class,
    # widths of 1, alpha 0, minibatches of 1 and ragged last minibatches: the packed
    # trainer reproduces the per-shape one (float64), including early stops and
    # non-finite losses.
    X, y, n_classes, specs, batch = problem
    kw = dict(max_iter=25, dtype="float64", device="cpu", batch_size=batch, n_iter_no_change=3)
    with np.errstate(all="ignore"):
        shape = train_mlps(X, y, n_classes, specs, layout="shape", **kw)
        packed = train_mlps(X, y, n_classes, specs, layout="packed", **kw)
    for a, b in zip(shape, packed):
        assert (a.n_iter, a.converged) == (b.n_iter, b.converged)
        finite = np.isfinite(a.loss_curve)
        np.testing.assert_array_equal(finite, np.isfinite(b.loss_curve))
        np.testing.assert_allclose(np.asarray(a.loss_curve)[finite], np.asarray(b.loss_curve)[finite],
                                   rtol=1e-8, atol=1e-10)
        for wa, wb in zip(a.coefs + a.intercepts, b.coefs + b.intercepts):
            ok = np.isfinite(wa)
            np.testing.assert_allclose(wa[ok], wb[ok], rtol=1e-6, atol=1e-8)


def _force(monkeypatch, **options):
    # Run the probe protocol's torch fits with a given layout / precision.
    real = tb.train_mlps

    def forced(*a, **k):
        return real(*a, **{**k, **options})

    monkeypatch.setattr(tb, "train_mlps", forced)


@pytest.mark.parametrize("n", [300, 120])
def test_selection_packed_equals_per_shape(digits, monkeypatch, n):
    # The selection step's whole validation table, hence the selected setting, is the
    # per-shape grid search's (float64, where both do the same arithmetic).
    X, y = digits
    grid = {"hidden_sizes": [(8, 8), (16, 8), (8, 16), (32, 32)], "alpha": [1e-5, 1e-2, 1.0],
            "max_iter": 150}
    tables = {}
    for layout in ("shape", "packed"):
        with monkeypatch.context() as m:
            _force(m, layout=layout, dtype="float64")
            tables[layout] = select_probe_setting(X[:n], y[:n], grid=grid, backend="torch",
                                                  progress=False)
    for key in ("hidden_sizes", "alpha", "validation_table", "tie_band"):
        assert tables["packed"][key] == tables["shape"][key], key


def test_selection_and_accuracy_agree_with_sklearn(digits):
    # Against the reference: on a problem where the grid's settings differ by more than
    # the validation resolution, scikit-learn and the packed torch trainer pick the same
    # setting, and its retrained test accuracy agrees within two points.
    X, y = digits
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))
    tr, te = idx[:1000], idx[1000:1500]
    grid = {"hidden_sizes": [(2, 2), (32, 32)], "alpha": [1e-4, 30.0], "max_iter": 200}
    res = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for backend in ("sklearn", "torch"):
            res[backend] = probe_grid_search(X[tr], y[tr], X[te], y[te], grid=grid, backend=backend,
                                             n_seeds=3, progress=False)
    assert (res["torch"].hidden_sizes, res["torch"].alpha) == (res["sklearn"].hidden_sizes,
                                                              res["sklearn"].alpha) == ((32, 32), 1e-4)
    assert res["sklearn"].accuracy_mean > 0.9
    assert abs(res["sklearn"].accuracy_mean - res["torch"].accuracy_mean) < 0.02


def test_adam_fallback_equals_fused(digits, monkeypatch):
    # Where torch lacks its private fused Adam kernel, plain in-place ops take the same step.
    import torch

    X, y = digits
    specs = [MemberSpec(h, a, 0) for h, a in GRID_SPECS[:3]]
    kw = dict(max_iter=5, dtype="float64", device="cpu", layout="packed")
    fused = train_mlps(X[:300], y[:300], 10, specs, **kw)
    monkeypatch.delattr(torch, "_fused_adam_")
    plain = train_mlps(X[:300], y[:300], 10, specs, **kw)
    _assert_same_training(fused, plain, atol=1e-12)
