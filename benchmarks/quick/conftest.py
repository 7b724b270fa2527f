"""One BLAS thread and warm compiled kernels for every quick benchmark."""

import pytest
from threadpoolctl import threadpool_limits

from bench_inputs import common


@pytest.fixture(scope="session", autouse=True)
def one_thread_and_warm_kernels():
    """One BLAS thread (ratios compare algorithms, not thread counts) and the compiled
    kernels loaded before any timing."""
    with threadpool_limits(1):
        common.warm_up_kernels()
        yield
