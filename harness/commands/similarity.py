"""``harness similarity A.npy B.npy``: one similarity of two representations of the same examples.

Thin wrapper: load and check both arrays (row ``i`` of each is example ``i``), then one
measure of :mod:`harness.similarity`.
"""

import time
import warnings

from ..exceptions import DataFormatError, HarnessWarning
from ._common import fmt_number, writable_output, write_record

#: RSA's RDM has n (n - 1) / 2 entries per input; beyond this many examples the command
#: warns with the memory it will take (two float64 RDMs and the ranks of one).
RSA_WARN_SAMPLES = 10_000


def register(subparsers):
    """Add the ``similarity`` command."""
    from ..similarity import COMPARE_METHODS, MEASURES, RDM_METRICS

    p = subparsers.add_parser(
        "similarity", help="similarity of two representations of the same examples (CKA, "
                           "Procrustes, RSA)",
        description="Compare two representations of the same n examples, A (n x d1) and "
                    "B (n x d2), row i of both being example i: linear CKA (biased or "
                    "debiased), the angular Procrustes shape distance, or RSA.")
    p.add_argument("a", metavar="A.npy", help="float array of shape (n, d1) (np.load)")
    p.add_argument("b", metavar="B.npy", help="float array of shape (n, d2), same examples")
    p.add_argument("--measure", choices=list(MEASURES), default="cka-debiased",
                   help="; ".join(f"{k}: {v[1]}" for k, v in MEASURES.items())
                   + " (default: cka-debiased)")
    p.add_argument("--rdm-metric", choices=list(RDM_METRICS), default=None,
                   help="rsa only: dissimilarity of two examples, rsatoolbox's names "
                        "(euclidean = squared distance per feature; default euclidean)")
    p.add_argument("--rdm-compare", choices=list(COMPARE_METHODS), default=None,
                   help="rsa only: comparison of the two RDMs, rsatoolbox's names (default "
                        "corr, the Pearson correlation)")
    p.add_argument("--json", metavar="OUT", default=None,
                   help="write one JSON object to OUT ('-' for stdout)")
    p.set_defaults(func=run)


def run(args):
    from ..similarity import SimilarityInputError, measure
    from .directprobe import load_points

    rsa_options = {"metric": args.rdm_metric, "method": args.rdm_compare}
    if args.measure != "rsa":
        given = [f"--rdm-{k if k == 'metric' else 'compare'}" for k, v in rsa_options.items()
                 if v is not None]
        if given:
            raise DataFormatError(f"{' and '.join(given)} appl{'y' if len(given) > 1 else 'ies'} "
                                  f"to --measure rsa only; got --measure {args.measure}.")
        settings = {}
    else:
        settings = {"metric": args.rdm_metric or "euclidean",
                    "method": args.rdm_compare or "corr"}
    # Before the work, so that a bad path loses nothing; never one of the inputs.
    out = writable_output(args.json, inputs=(args.a, args.b))
    A = load_points(args.a)
    B = load_points(args.b)
    if A.shape[0] != B.shape[0]:
        raise DataFormatError(f"{args.a} has {A.shape[0]} rows and {args.b} has {B.shape[0]}; "
                              "both must hold the same examples, one per row, in one order.")
    if args.measure == "rsa" and A.shape[0] > RSA_WARN_SAMPLES:
        n = A.shape[0]
        gib = 3 * 8 * n * (n - 1) / 2 / 2 ** 30
        warnings.warn(f"rsa on {n} examples builds RDMs of {n * (n - 1) // 2} pairs (about "
                      f"{gib:.1f} GiB); CKA compares all examples in memory linear in n.",
                      HarnessWarning, stacklevel=2)
    function, description = measure(args.measure)
    started = time.perf_counter()
    try:
        value = function(A, B, **settings)
    except SimilarityInputError as err:  # the kernel says X and Y: name the files
        raise SimilarityInputError(f"{args.a} (X) and {args.b} (Y): {err}") from None
    record = {"measure": args.measure, "value": value, "description": description,
              "settings": settings, "n_samples": int(A.shape[0]),
              "n_features_a": int(A.shape[1]), "n_features_b": int(B.shape[1]),
              "a": args.a, "b": args.b, "seconds": time.perf_counter() - started}
    if write_record(record, args.json, out):
        return 0
    extra = "".join(f", {k}={v}" for k, v in settings.items())
    print(f"{args.measure} = {fmt_number(value, '.6g')} (n={record['n_samples']}, "
          f"d={record['n_features_a']}/{record['n_features_b']}{extra}; {description})")
    return 0
