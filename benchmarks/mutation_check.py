"""Mutation check of the claim code: which wrong versions of it does the test suite miss?

Each :class:`Mutation` replaces one exact piece of source under ``claims/`` by a plausible
mistake: a strict comparison made loose, a precondition widened, a number read from the
wrong list, a verdict path turned into another. In a scratch copy of the project's
tracked files (a temporary directory; the working tree is never touched) the mutations
are applied one at a time, and the claim tests run on each:

    tests/test_claim_rules.py tests/test_claim_rules_extensions.py
    tests/test_claims_framework.py tests/test_claims_evidence.py

without the two checks that train real MLP probes (``-k "not real_probes"``: about three
minutes on two cores; F1 and F6 are covered there by their rules and by F6's check on
Table 5's numbers). A mutation is *caught* when a test fails, *survives* when they all
pass. Before the first mutation the same tests must pass on the unmutated copy.

Slow (one pytest run per mutation, 10-30 s each on two cores), so it is no part of
``make test``; run it after changing the claims or their tests, and update the score in
``docs/claims.md``::

    nice python benchmarks/mutation_check.py            # all mutations
    python benchmarks/mutation_check.py --list          # what they are
    python benchmarks/mutation_check.py -k F7           # the ones whose name has "F7"

The exit status is 0 when every mutation is caught, 1 when some survive, 2 when a
mutation no longer matches the source (the list must follow the code) or the
unmutated tests fail.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
TESTS = ("tests/test_claim_rules.py", "tests/test_claim_rules_extensions.py",
         "tests/test_claims_framework.py", "tests/test_claims_evidence.py")
DESELECT = "not real_probes"


@dataclass(frozen=True)
class Mutation:
    """``old`` (which must occur exactly once in ``path``) replaced by ``new``."""

    name: str
    path: str
    old: str
    new: str

    def apply(self, root):
        target = root / self.path
        source = target.read_text()
        if source.count(self.old) != 1:
            raise LookupError(f"{self.name}: the text to mutate occurs {source.count(self.old)} "
                              f"times in {self.path}, not once")
        target.write_text(source.replace(self.old, self.new))
        return source


FW, CONF, ENV = "claims/_framework.py", "claims/conftest.py", "claims/_envelope.py"
F1, F2, F3 = ("claims/test_f1_accuracy.py", "claims/test_f2_train_test_divergence.py",
              "claims/test_f3_simplification.py")
F4, F5, F6 = ("claims/test_f4_model_size.py", "claims/test_f5_labels_pushed_apart.py",
              "claims/test_f6_cross_task.py")
F7, F8 = "claims/test_f7_layer_similarity.py", "claims/test_f8_centroid_moves.py"
X1, X2 = ("claims/test_x1_top_layers_change_most.py",
          "claims/test_x2_parsing_reconfigures_deeper.py")

MUTATIONS = (
    # ---- seeds, verdicts, deviations, the evidence record ------------------------------------
    Mutation("majority over all seeds, not-applicable ones included", FW,
             "2 * n_holding > len(applicable)", "2 * n_holding > len(per_seed)"),
    Mutation("not-applicable seeds vote holds", FW,
             "n_holding = sum(bool(e.holds) for e in applicable)",
             "n_holding = sum(bool(e.holds) or not e.applicable for e in per_seed)"),
    Mutation("a tie holds", FW, "2 * n_holding > len(applicable)",
             "2 * n_holding >= len(applicable)"),
    Mutation("numbers averaged over all seeds, not-applicable ones included", FW,
             "aggregate([e.numbers for e in applicable])",
             "aggregate([e.numbers for e in per_seed])"),
    Mutation("an undecided seed votes does not hold", FW,
             "undecided = any(e.holds is None for e in applicable)", "undecided = False"),
    Mutation("undecided evidence is settled", FW, "if evidence.holds is None:\n", "if False:\n"),
    Mutation("a not-applicable deviation is skipped", FW,
             'pytest.fail(f"{where} is recorded as a deviation in claims/deviations.py, but its "',
             'pytest.skip(f"{where} is recorded as a deviation in claims/deviations.py, but its "'),
    Mutation("a deviation that now holds passes", FW,
             'pytest.fail(f"{where} is recorded as a deviation in claims/deviations.py but now holds "',
             'pytest.xfail(f"{where} is recorded as a deviation in claims/deviations.py but now holds "'),
    Mutation("the envelope is not checked", FW, "    if problems:\n", "    if False:\n"),
    Mutation("missing packaged weights read not run", FW, 'if spec.scheme == "package":',
             "if False:"),
    Mutation("setup errors are not recorded", CONF,
             '(report.when == "setup" and not report.passed)',
             '(report.when == "setup" and report.skipped)'),
    Mutation("the report checks the envelope again", CONF,
             '"problems": (ev.envelope_problems if ev else None) or []}',
             '"problems": deviation.problems(ev) if ev and ev.applicable else []}'),
    Mutation("the tolerance doubled", ENV,
             "if not isinstance(measured, Real) or not abs(measured - expected) <= self.tol:",
             "if not isinstance(measured, Real) or not abs(measured - expected) <= 2 * self.tol:"),
    Mutation("an unmeasured expected number passes", ENV,
             'out.append(f"{name}: expected {fmt(expected)}, not measured")', "pass"),
    # ---- the paper's rules -----------------------------------------------------------------
    Mutation("F1: an equal accuracy holds", F1, "return (tuned_acc > original_acc,",
             "return (tuned_acc >= original_acc,"),
    Mutation("F2: an equal similarity holds", F2,
             "return (similarity_after < similarity_before,",
             "return (similarity_after <= similarity_before,"),
    Mutation("F3: an equal count holds", F3, "return clusters_after < clusters_before, RULE",
             "return clusters_after <= clusters_before, RULE"),
    Mutation("F3: layer 0 not applicable on every task", F3,
             'if cell.layer == 0 and ws.task_data(cell.task).kind == "sentence":',
             "if cell.layer == 0:"),
    Mutation("F3: a linear original that grows is not applicable", F3,
             'return ev.decide(False, "original linear: the cluster count must not grow", **numbers)',
             'return ev.inapplicable("original linear", **numbers)'),
    Mutation("F4: a flat profile holds", F4,
             "drops = len(counts) > 1 and counts[0] > counts[-1]", "drops = True"),
    Mutation("F4: an increase holds", F4,
             "never_increases = all(a >= b for a, b in zip(counts, counts[1:]))",
             "never_increases = True"),
    Mutation("F4: TREC-50 linear before holds", F4,
             "return (not linear_before and not linear_after,", "return (not linear_after,"),
    Mutation("F5: a NaN distance drops the label", F5, "if not_a_number.any():", "if False:"),
    Mutation("F5: an equal distance holds", F5, "np.all(end > start)", "np.all(end >= start)"),
    Mutation("F5: no compared label holds", F5, "return bool(len(start)) and bool(",
             "return bool("),
    Mutation("F6: non-linear after cross-tuning holds (related)", F6,
             "holds = (bool(linear_after) and 0 < mean_change", "holds = (0 < mean_change"),
    Mutation("F6: non-linear after cross-tuning holds (opposing)", F6,
             "holds = (bool(linear_after) and mean_change < 0", "holds = (mean_change < 0"),
    Mutation("F6: related may beat the same task", F6,
             "and original_acc < tuned_acc < same_task_acc)", "and original_acc < tuned_acc)"),
    Mutation("F6: a minority falling holds", F6, "mean_change < 0 and n_fell > n_compared / 2",
             "mean_change < 0 and n_fell > 0"),
    Mutation("F7: a flat profile holds", F7,
             "return lowest is not None and top is not None and lowest - top > tol",
             "return True"),
    Mutation("F7: the floor read with the Nones dropped", F7,
             'final = {layer: records[layer]["similarity"][-1] for layer in compared}',
             "final = dict(per_snapshot[-1])"),
    Mutation("F7: a non-linear top layer is left out", F7, "if n not in compared:", "if False:"),
    Mutation("F7: neighbouring layers only", F7, "for high in layers[i + 1:]:",
             "for high in layers[i + 1:i + 2]:"),
    Mutation("F7: ten times the ordering tolerance", F7,
             "return [v for v in order_excesses(similarity) if v[3] > tol]",
             "return [v for v in order_excesses(similarity) if v[3] > 10 * tol]"),
    Mutation("F7: an undefined layer passes the floor", F7,
             "all(s is not None and s > floor for s in final.values())",
             "all(s is None or s > floor for s in final.values())"),
    Mutation("F8: the level 0.5", F8, "ALPHA = 0.05", "ALPHA = 0.5"),
    Mutation("F8: layer 0 in the trend", F8,
             "holds, rule = rule_lower_layers_move_less(spread[1:])",
             "holds, rule = rule_lower_layers_move_less(spread)"),
    Mutation("F8: no ratio", F8, "ratio >= min_ratio", "ratio >= 1"),
    Mutation("F8: ratio 2", F8, "MIN_RATIO = 3.0", "MIN_RATIO = 2.0"),
    Mutation("X1: a flat profile holds", X1,
             "return not order_violations([cka], tol) and top_changed_more(cka, tol), rule_text(tol)",
             "return not order_violations([cka], tol), rule_text(tol)"),
    Mutation("X1: an undefined top layer is left out", X1, "if top not in compared:", "if False:"),
    Mutation("X2: DEP never reconfigured is not applicable", X2, "if unmeasured:",
             "if deep is None and shallow is None:"),
    Mutation("X2: a tie holds", X2, "deep_first < shallow_first", "deep_first <= shallow_first"),
)


def scratch_copy(root):
    """The project's tracked files (and untracked, not ignored ones) copied under ``root``."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT, capture_output=True, text=True, check=True)
    for name in listed.stdout.splitlines():
        source = PROJECT / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)


def run_tests(root, first_failure=True):
    """pytest over :data:`TESTS` in ``root``: (passed, seconds, last line of output)."""
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", DESELECT,
               *(["-x"] if first_failure else []), *TESTS]
    start = time.monotonic()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return done.returncode == 0, time.monotonic() - start, lines[-1] if lines else done.stderr


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", default="", help="only mutations whose name contains this")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if args.k.lower() in m.name.lower()]
    if args.list:
        for m in chosen:
            print(f"{m.path}: {m.name}")
        return 0
    with tempfile.TemporaryDirectory(prefix="mutation-check-") as tmp:
        root = Path(tmp)
        scratch_copy(root)
        passed, seconds, last = run_tests(root, first_failure=False)
        print(f"unmutated: {'pass' if passed else 'FAIL'} ({seconds:.0f} s): {last}", flush=True)
        if not passed:
            return 2
        survived, unmatched = [], []
        for m in chosen:
            try:
                original = m.apply(root)
            except LookupError as err:
                unmatched.append(m)
                print(f"NOT APPLIED  {err}", flush=True)
                continue
            try:
                passed, seconds, last = run_tests(root)
            finally:
                (root / m.path).write_text(original)
            if passed:
                survived.append(m)
            print(f"{'SURVIVED' if passed else 'caught  '}  {m.path}: {m.name} "
                  f"({seconds:.0f} s)", flush=True)
    applied = len(chosen) - len(unmatched)
    print(f"\nscore: {applied - len(survived)} caught / {applied} applied"
          + (f"; survived: {', '.join(m.name for m in survived)}" if survived else "")
          + (f"; {len(unmatched)} not applied" if unmatched else ""))
    return 2 if unmatched else int(bool(survived))


if __name__ == "__main__":
    sys.exit(main())
