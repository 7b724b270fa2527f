"""One BLAS thread around the solvers' small-matrix loops.

The hull-distance solvers call BLAS/LAPACK on small arrays thousands of times; threaded
BLAS only adds synchronisation there (measured on the 2-core VM under load: all 136 POS
pairs of one snapshot took 20-24 s with 2 BLAS threads and 4-5 s with 1). The limit is
taken with threadpoolctl and the caller's limits are restored on return.
"""

import functools

from threadpoolctl import ThreadpoolController

__all__ = ["one_blas_thread", "with_one_blas_thread"]

_CONTROLLER = None


def one_blas_thread():
    """Context manager limiting BLAS to one thread (threadpoolctl)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def with_one_blas_thread(fn):
    """Decorator: run ``fn`` under :func:`one_blas_thread`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return fn(*args, **kwargs)

    return wrapper
