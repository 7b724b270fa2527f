"""One thread for every probe test."""

import pytest


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # The CI box has two shared cores; oversubscribed BLAS/OpenMP threads make small fits
    # orders of magnitude slower, and a fixed thread count keeps torch results bitwise
    # reproducible.
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(before)
