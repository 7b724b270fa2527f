"""Numeric extremes in the similarity measures (issue 22): every measure ignores the scale
of each input, so it gives the same value from 1e-300 to 1e300; never NaN, and overflow
or underflow is never reported as "X is constant"."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.similarity import MEASURES, MinibatchCKA, SimilarityInputError, minibatch_cka

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 5))
Y = X @ RNG.normal(size=(5, 3)) + 0.5 * RNG.normal(size=(40, 3))
BASE = {name: function(X, Y) for name, (function, _) in MEASURES.items()}

scales = st.builds(lambda m, e: m * 10.0 ** e, st.floats(1.0, 9.99), st.integers(-300, 300))


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(MEASURES)), sx=scales, sy=scales)
def test_every_measure_is_the_same_at_any_scale(name, sx, sy):
    value = MEASURES[name][0](X * sx, Y * sy)
    assert np.isfinite(value)
    assert value == pytest.approx(BASE[name], abs=1e-9)


@pytest.mark.parametrize("factor", [1e-300, 1e-160, 1e160, 1e300])
def test_minibatch_cka_scales(factor):
    assert minibatch_cka(X * factor, Y, batch_size=10) == pytest.approx(
        minibatch_cka(X, Y, batch_size=10), abs=1e-12)


def test_minibatch_refuses_batches_of_far_apart_magnitudes():
    acc = MinibatchCKA().update(X[:10], Y[:10])
    with pytest.raises(SimilarityInputError, match="too far from the first batch"):
        acc.update(X[10:20] * 1e200, Y[10:20])


@pytest.mark.parametrize("factor", [1e-160, 1e160])
@pytest.mark.parametrize("measure", ["rsa", "cka", "procrustes"])
def test_cli_gives_a_number_and_valid_json(tmp_path, capsys, factor, measure):
    # Issue 22: rsa at 1e-160 printed "rsa = nan" and wrote "value": NaN; overflow and
    # underflow were reported as "X is constant".
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(a, X * factor)
    np.save(b, Y * factor)
    assert main(["similarity", str(a), str(b), "--measure", measure, "--json", "-"]) == 0
    record = json.loads(capsys.readouterr().out)  # NaN would not parse with strict JSON
    assert record["value"] == pytest.approx(BASE[measure], abs=1e-9)


def test_a_truly_constant_input_is_still_named():
    with pytest.raises(SimilarityInputError, match="is constant"):
        MEASURES["cka"][0](np.full((10, 3), 1e-300), Y[:10])
