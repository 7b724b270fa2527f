"""Known deviations: claim cells that do not hold on a tier, with the measured evidence.

Each entry becomes a strict xfail: the cell keeps running, and if it starts to hold the
suite fails, so this table cannot go stale silently. Keys are ``(claim, cell id)``.
Entries for the ``tiny`` tier were measured on this project's CI machine; see
``reports/tiny/REPORT.md`` for the full numbers.
"""

DEVIATIONS = {
    # The paper's own exception (Appendix C): BERT-small on PS-fxn, 86.26 -> 85.08.
    ("F1", "full-bert-small-ps-fxn"): "paper exception: BERT-small PS-fxn probe accuracy "
                                      "falls 86.26 -> 85.08 (Appendix C)",
}
