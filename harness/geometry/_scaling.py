"""Numeric range of the geometry kernels: extreme magnitudes are scaled, or refused.

The kernels square and multiply coordinates: centroid distances in the merge engine,
norms in the centring, Gram products in the active set, the LP's rows. In float64 a
square overflows above about 1.3e154 and underflows (to subnormals, then 0) below about
1.5e-154, so points of magnitude 1e300 came out as "40 clusters" with distance 0, and
points of magnitude 1e-300 as one coincident point.

Two rules, applied at the public entry points only (the kernels' internals are unchanged):

* **DirectProbe and its distances** (:func:`~harness.geometry.clustering.cluster_labels`,
  :func:`~harness.geometry.label_distances.label_distance_matrix`,
  :func:`~harness.geometry.label_distances.fixed_clustering_distances`,
  :func:`~harness.geometry.centroids.label_centroids`) compute in a scaled space: when
  the largest magnitude lies outside ``[2**-16, 2**16]``, the points are multiplied by
  a power of two ``2**-e`` that brings it into ``[0.5, 1)``. A power of two changes no
  digit, so the kernels see the same numbers up to the exponent: clusters are the same,
  and distances (and centroids) are multiplied back by ``2**e``, in the user's units.
  Inputs inside the range are passed as they are, bit for bit.
* **The pairwise kernels** (:func:`~harness.geometry.hull_distance.hull_distance`,
  :func:`~harness.geometry.separability.are_separable` and
  :func:`~harness.geometry.separability.separating_hyperplane`, the ``pairwise_*``
  drivers, :func:`~harness.geometry.svc_compat.svc_compat_distance`), whose results
  carry many fields in length units, refuse points whose largest magnitude lies outside
  :data:`KERNEL_RANGE` with one line that says so and how to rescale.
"""

import numpy as np

#: Largest magnitudes (as powers of two) that DirectProbe and its distances compute on
#: as given; outside, the points are scaled by a power of two first. Narrow on purpose:
#: the merge search bounds rounding by squared norms over a floor of 1e-300, which
#: overflows for 768-d points of magnitude ~1e9; word vectors (|x| < 100) are inside.
SAFE_EXPONENTS = (-16, 16)
#: Largest magnitudes the pairwise kernels accept: their squares (times n d) stay normal
#: floats, with a wide margin, in the centring and the products.
KERNEL_RANGE = (2.0 ** -440, 2.0 ** 440)


def magnitude(*arrays):
    """The largest absolute value over ``arrays`` (0.0 when all are empty or zero)."""
    return max((float(np.max(np.abs(a))) for a in arrays if np.size(a)), default=0.0)


def working_exponent(*arrays):
    """``e`` such that ``arrays * 2**-e`` is what the kernels compute on: 0 when the
    largest magnitude ``m`` lies in ``[2**-16, 2**16]`` (or is 0), else the exponent with
    ``m * 2**-e`` in ``[0.5, 1)``."""
    m = magnitude(*arrays)
    if m == 0.0:
        return 0
    e = int(np.frexp(m)[1])  # m = f * 2**e, f in [0.5, 1)
    return 0 if SAFE_EXPONENTS[0] <= e - 1 <= SAFE_EXPONENTS[1] else e


def to_working_scale(X, e):
    """``X * 2**-e``, exactly (``np.ldexp``); ``X`` itself when ``e == 0``."""
    return X if e == 0 else np.ldexp(X, -e)


def to_user_units(values, e):
    """Lengths computed on ``X * 2**-e`` in the units of ``X``: ``values * 2**e``
    (exact; nan and inf stay what they are)."""
    return values if e == 0 else np.ldexp(values, e)


def unit_scale(x):
    """``x`` divided by a power of two that brings its largest magnitude into
    ``[0.5, 1)`` (exact): for measures that ignore the scale of their input."""
    m = magnitude(x)
    return x if m == 0.0 else np.ldexp(x, -int(np.frexp(m)[1]))


def check_kernel_range(arrays, *, caller):
    """Raise ``ValueError`` when the largest magnitude of ``arrays`` lies outside
    :data:`KERNEL_RANGE` (0, all points at the origin, is accepted)."""
    m = magnitude(*arrays)
    low, high = KERNEL_RANGE
    if m != 0.0 and not low <= m <= high:
        side = "above" if m > high else "below"
        raise ValueError(
            f"The points passed to {caller} reach magnitude {m:.3g}, {side} the range "
            f"[{low:.3g}, {high:.3g}] in which its squares and products are exact enough; "
            "divide the points by a constant first (separability is unchanged and distances "
            "scale by it), or use cluster_labels / label_distance_matrix, which do so.")
