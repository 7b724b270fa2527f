"""The tiny tier on a user's small model: a random BERT of BERT-tiny's shape (issue 20).

Tried as a user would (``harness verify --tier tiny --models DIR --tasks pos ps-fxn``),
this model once fine-tuned in 17 s and then sat more than 10 minutes in one DirectProbe
unit, in an LP on clusters touching within floating-point resolution. Every unit of the
tier must finish for it, as for the default model; with CI's time limit around the suite,
a stall fails the run (the times themselves are benchmarks, not asserted here).
"""

import pytest

from harness.executor import precompute
from harness.store import RunStore
from harness.tiers import get_tier


@pytest.mark.slow
def test_every_tiny_tier_unit_finishes_for_a_small_random_model(bert_tiny_shaped, tmp_path):
    tier = get_tier("tiny").with_selection(models=[bert_tiny_shaped], tasks=["pos", "ps-fxn"])
    summary = precompute(tier, store=RunStore(tmp_path / "store"))
    assert not summary.failed and not summary.blocked
    assert summary.units["directprobe"] > 0 and summary.units["distances"] > 0
