r"""The cache of verified separating planes between DirectProbe's clusters.

A plane verified between clusters :math:`x` and :math:`y`,

.. math::

    w \cdot p + b \ge x_{\min} > 0 \quad (p \in x), \qquad
    w \cdot q + b \le y_{\max} < 0 \quad (q \in y),

stays valid as long as neither cluster changes, and settles later checks: merging
:math:`x` with :math:`x'` keeps the plane valid against :math:`y` whenever :math:`x'`
lies on :math:`x`'s side of it (clusters of one label merge; other labels' hulls never
change). Planes are keyed by node ids (a cluster's id in the merge record) and stored
as rows of arrays, so that all planes of one node against many partners come out in
one gather (:meth:`PlaneStore.get_many`) instead of one dictionary lookup each. A
plane is stored once, oriented positive on the lower node id, and read in either
orientation.

Memory is capped (``max_planes`` rows of ``d + 3`` doubles); past the cap new planes
are not stored (a later check recomputes them).
"""

import numpy as np

__all__ = ["PlaneStore"]


class PlaneStore:
    """Verified planes between pairs of nodes (see the module docstring).

    Parameters
    ----------
    d : int
        Dimension of the points.
    max_planes : int
        Most planes kept at once.
    """

    def __init__(self, d, max_planes):
        self.d = d
        self.max_planes = int(max_planes)
        self.W = np.empty((0, d))
        self.b = np.empty(0)
        self.amin = np.empty(0)  # min over the lower node's side (>0)
        self.bmax = np.empty(0)  # max over the higher node's side (<0)
        self.adj = {}  # node -> {partner: row}
        self.free = []
        self.top = 0  # rows in use or freed: next fresh row
        self.size = 0

    def __len__(self):
        return self.size

    def __contains__(self, key):
        x, y = key
        return y in self.adj.get(x, ())

    def _grow(self):
        cap = min(self.max_planes, max(64, 2 * self.W.shape[0]))
        for name in ("W", "b", "amin", "bmax"):
            old = getattr(self, name)
            new = np.empty((cap,) + old.shape[1:])
            new[:old.shape[0]] = old
            setattr(self, name, new)

    def _row(self):
        if self.free:
            return self.free.pop()
        if self.top == self.W.shape[0]:
            self._grow()
        self.top += 1
        return self.top - 1

    def put(self, x, y, w, b, xmin, ymax):
        """Store a plane with ``w.p + b > 0`` on node x (min `xmin`) and < 0 on y."""
        if x > y:
            x, y, w, b, xmin, ymax = y, x, -w, -b, -ymax, -xmin
        r = self.adj.get(x, {}).get(y)  # a newer plane for the same pair replaces it
        if r is None:
            if self.size >= self.max_planes:
                return
            r = self._row()
            self.size += 1
        self.W[r] = w
        self.b[r] = b
        self.amin[r] = xmin
        self.bmax[r] = ymax
        self.adj.setdefault(x, {})[y] = r
        self.adj.setdefault(y, {})[x] = r

    def put_many(self, x, ys, W, b, xmin, ymax):
        """:meth:`put` of node x against each of ``ys`` (rows of W, b, xmin, ymax).

        A node new to the store (a cluster just merged) gets its planes in one block;
        otherwise they are put one by one.
        """
        ys = np.asarray(ys, dtype=np.int64)
        k = min(ys.size, self.max_planes - self.size)
        if x in self.adj or k < ys.size or (ys.size and np.any(ys == x)):
            for i, y in enumerate(ys.tolist()):
                self.put(x, y, W[i], b[i], xmin[i], ymax[i])
            return
        rows = [self.free.pop() for _ in range(min(k, len(self.free)))]
        while len(rows) < k:
            if self.top == self.W.shape[0]:
                self._grow()
            fresh = min(k - len(rows), self.W.shape[0] - self.top)
            rows.extend(range(self.top, self.top + fresh))
            self.top += fresh
        rows = np.array(rows, dtype=np.int64)
        lo = x < ys  # orientation: stored positive on the lower node id
        sign = np.where(lo, 1.0, -1.0)
        self.W[rows] = W * sign[:, None]
        self.b[rows] = b * sign
        self.amin[rows] = np.where(lo, xmin, -ymax)
        self.bmax[rows] = np.where(lo, ymax, -xmin)
        self.adj[x] = dict(zip(ys.tolist(), rows.tolist()))
        for y, r in zip(ys.tolist(), rows.tolist()):
            self.adj.setdefault(y, {})[x] = r
        self.size += k

    def get(self, x, y):
        """Plane oriented positive on x: ``(w, b, xmin, ymax)`` or None."""
        r = self.adj.get(x, {}).get(y)
        if r is None:
            return None
        if x < y:
            return self.W[r], self.b[r], self.amin[r], self.bmax[r]
        return -self.W[r], -self.b[r], -self.bmax[r], -self.amin[r]

    def get_many(self, x, ys):
        """Planes of node x against each of ``ys``, oriented positive on x.

        Returns ``found`` (bool, shape ``(len(ys),)``) and, for the found ones in
        order, ``W`` (k, d), ``b``, ``xmin``, ``ymax`` (k,).
        """
        nbr = self.adj.get(x)
        if not nbr:
            return np.zeros(len(ys), bool), None, None, None, None
        rows = np.array([nbr.get(y, -1) for y in ys.tolist()], dtype=np.int64)
        found = rows >= 0
        r = rows[found]
        sign = np.where(x < ys[found], 1.0, -1.0)
        lo = sign > 0
        W = self.W[r] * sign[:, None]
        b = self.b[r] * sign
        xmin = np.where(lo, self.amin[r], -self.bmax[r])
        ymax = np.where(lo, self.bmax[r], -self.amin[r])
        return found, W, b, xmin, ymax

    def forget(self, node):
        """Drop every plane of ``node`` (it merged away)."""
        for y, r in self.adj.pop(node, {}).items():
            nbr = self.adj.get(y)
            if nbr is not None:
                nbr.pop(node, None)
            self.free.append(r)
            self.size -= 1

    def purge_from(self, first_new):
        """Drop the planes of nodes ``>= first_new`` (ids reused by another sequence)."""
        for node in [n for n in self.adj if n >= first_new]:
            self.forget(node)
