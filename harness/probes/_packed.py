"""Packed CPU trainer: a whole probe grid as one model in four flat buffers.

:func:`harness.probes._torch_backend.train_mlps` trains many small ReLU MLPs with
scikit-learn's Adam and stopping rule. Grouping them by shape (one batched model per
shape, trained one after the other) leaves a CPU mostly idle: each shape runs its own
sequence of small kernels, element-wise work is repeated per shape and per tensor, and
on a shared machine every parallel region waits for the slowest thread. This module
trains members of *different* widths (same depth) in lockstep instead:

* **One flat buffer** each for the parameters, the gradients and Adam's two moments.
  Every layer and every member is a view into it, so the L2 term is one ``addcmul`` and
  Adam one fused call (``torch._fused_adam_``) per step, whatever the grid.
* **Layer 1 is one GEMM** when the members share their minibatch order (a grid search
  from one seed): the first-layer weights of all members are rows of one
  ``(sum h1, d)`` matrix, so ``X_b @ W1^T`` and its gradient ``delta^T X_b`` are two
  wide matrix products instead of one per shape.
* **Later layers are block-diagonal**: members are ordered by their hidden sizes from
  the last layer backwards, so members with equal ``(fan_in, fan_out)`` at a layer are
  consecutive ("runs") and each run is one ``bmm``. The paper grid has 16 runs at the
  second layer and 4 at the output layer. Activations of a hidden layer live in one
  buffer, so ReLU and its derivative are one call per layer.
* **Converged members leave the batch**: the buffers are repacked without them, so a
  member costs nothing once it has stopped.

Every member follows scikit-learn's update step for step (see
:mod:`harness.probes._torch_backend`), draws its initialisation from its own seed exactly
as the per-shape trainer does, and sees the same minibatch order, so a member trained
here follows the trajectory it follows in the per-shape trainer, up to the summation
order inside the matrix products (tested in float64 in ``tests/probes``).
"""

from __future__ import annotations

import logging
import math
from functools import reduce

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["train_packed"]


def _runs(keys):
    """Maximal ranges ``(k0, k1)`` of consecutive equal ``keys``."""
    out, k0 = [], 0
    for k in range(1, len(keys) + 1):
        if k == len(keys) or keys[k] != keys[k0]:
            out.append((k0, k))
            k0 = k
    return out


class _Layout:
    """Where each member's weights and biases live in one flat buffer.

    Parameters
    ----------
    units : list of list of int
        ``[n_features, h1, ..., hL, n_classes]`` per member, in packing order (members
        with equal sizes at a layer should be consecutive for few runs).

    Notes
    -----
    Buffer order: first-layer weights, stored transposed as ``(sum h1, d)`` with each
    member's ``h1`` rows consecutive; then, per later layer and run, weights of shape
    ``(G, fan_in, fan_out)``; then all biases in the same order. All weights come first,
    so the L2 term touches one prefix ``[:n_weights]`` of the buffer.
    """

    def __init__(self, units):
        self.units = [list(u) for u in units]
        self.n_members = len(units)
        self.n_layers = len(units[0]) - 1
        self.n_features = units[0][0]
        # runs[i]: members sharing (fan_in, fan_out) of weight layer i.
        self.runs = [_runs([(u[i], u[i + 1]) for u in self.units]) for i in range(self.n_layers)]
        # Column offset of each member in the first hidden layer's (mb, sum h1) activations;
        # element offsets (per minibatch row) of each member in later hidden layers' buffers.
        self.unit_offsets = [np.r_[0, np.cumsum([u[i + 1] for u in self.units])]
                             for i in range(self.n_layers)]
        d = self.n_features
        w_sizes = [[u[i] * u[i + 1] for u in self.units] for i in range(self.n_layers)]
        b_sizes = [[u[i + 1] for u in self.units] for i in range(self.n_layers)]
        seg = [s for layer in w_sizes for s in layer]  # weight segments, buffer order
        self.n_weights = int(sum(seg))
        self.size = self.n_weights + int(sum(s for layer in b_sizes for s in layer))
        w_start = np.r_[0, np.cumsum([sum(layer) for layer in w_sizes])]
        b_start = self.n_weights + np.r_[0, np.cumsum([sum(layer) for layer in b_sizes])]
        # Offsets of member k's weights / biases of layer i.
        self.w_off = [w_start[i] + np.r_[0, np.cumsum(w_sizes[i])] for i in range(self.n_layers)]
        self.b_off = [b_start[i] + np.r_[0, np.cumsum(b_sizes[i])] for i in range(self.n_layers)]
        if not self.units or self.n_layers < 2 or any(len(u) != self.n_layers + 1 or u[0] != d
                                                       for u in self.units):
            raise ValueError("packed members need one input width, equal depth and >= 1 hidden layer")
        # Rows of ``row_len`` weights each belong to one member (row_len divides every
        # segment), so per-member sums of squares are one row-wise norm and one index_add.
        self.row_len = reduce(math.gcd, seg)
        members = np.tile(np.arange(self.n_members), self.n_layers)
        self.row_member = np.repeat(members, np.asarray(seg) // self.row_len)

    def views(self, flat):
        """Structured views of a flat buffer.

        Returns
        -------
        dict
            ``"W0T"``: first-layer weights ``(sum h1, d)``; ``"b0"``: ``(sum h1,)``;
            ``"W"[i][r]``, ``"b"[i][r]``: weights ``(G, fan_in, fan_out)`` and biases
            ``(G, 1, fan_out)`` of run ``r`` of layer ``i`` (for ``i = 0`` the weights are
            ``(G, h1, d)``, transposed).
        """
        W, b = [], []
        for i in range(self.n_layers):
            Wi, bi = [], []
            for k0, k1 in self.runs[i]:
                fi, fo = self.units[k0][i], self.units[k0][i + 1]
                w = flat[self.w_off[i][k0]:self.w_off[i][k1]]
                Wi.append(w.view(k1 - k0, fo, fi) if i == 0 else w.view(k1 - k0, fi, fo))
                bi.append(flat[self.b_off[i][k0]:self.b_off[i][k1]].view(k1 - k0, 1, fo))
            W.append(Wi)
            b.append(bi)
        s1 = int(self.unit_offsets[0][-1])
        return {"W0T": flat[:self.w_off[0][-1]].view(s1, self.n_features),
                "b0": flat[self.b_off[0][0]:self.b_off[0][-1]], "W": W, "b": b}

    def pack(self, members, torch, dtype, device):
        """One flat buffer from per-member ``(coefs, intercepts)`` (scikit-learn layout)."""
        flat = torch.empty(self.size, dtype=dtype, device=device)
        for k, (coefs, intercepts) in enumerate(members):
            for i in range(self.n_layers):
                w = coefs[i].t() if i == 0 else coefs[i]  # first layer stored transposed
                flat[self.w_off[i][k]:self.w_off[i][k + 1]] = w.reshape(-1)
                flat[self.b_off[i][k]:self.b_off[i][k + 1]] = intercepts[i]
        return flat

    def unpack(self, flat):
        """Per-member ``(coefs, intercepts)`` (scikit-learn layout) copied out of ``flat``."""
        out = []
        for k, u in enumerate(self.units):
            coefs, intercepts = [], []
            for i in range(self.n_layers):
                w = flat[self.w_off[i][k]:self.w_off[i][k + 1]]
                coefs.append(w.view(u[1], u[0]).t().clone() if i == 0
                             else w.view(u[i], u[i + 1]).clone())
                intercepts.append(flat[self.b_off[i][k]:self.b_off[i][k + 1]].clone())
            out.append((coefs, intercepts))
        return out


class _Activations:
    """Per-minibatch-size buffers of the hidden activations, the logits and their deltas.

    The first hidden layer is ``(mb, sum h1)`` (the output of one GEMM); a later hidden
    layer is one buffer in which member ``k`` owns an ``(mb, h)`` block, so a run of
    equal widths is a contiguous ``(G, mb, h)`` view; the logits are ``(B, mb, C)``.
    """

    def __init__(self, layout, mb, torch, dtype, device):
        self.layout, self.mb = layout, mb
        L = layout.n_layers
        B, C = layout.n_members, layout.units[0][-1]
        sizes = [mb * int(layout.unit_offsets[i][-1]) for i in range(L - 1)] + [B * mb * C]
        self.H = [torch.empty(s, dtype=dtype, device=device) for s in sizes]
        self.D = [torch.empty(s, dtype=dtype, device=device) for s in sizes]
        self.H0 = self.H[0].view(mb, -1)
        self.D0 = self.D[0].view(mb, -1)
        self.logits = self.H[-1].view(B, mb, C)
        self.delta_out = self.D[-1].view(B, mb, C)
        # View i, r: input (G, mb, fan_in) and output (G, mb, fan_out) of run r of layer i.
        self.inputs = [[self._view(i - 1, k0, k1) if i > 0 else None for k0, k1 in layout.runs[i]]
                       for i in range(L)]
        self.outputs = [[self._view(i, k0, k1) for k0, k1 in layout.runs[i]] for i in range(L)]
        self.d_inputs = [[self._view(i - 1, k0, k1, self.D) if i > 0 else None
                          for k0, k1 in layout.runs[i]] for i in range(L)]
        self.d_outputs = [[self._view(i, k0, k1, self.D) for k0, k1 in layout.runs[i]]
                          for i in range(L)]

    def _view(self, i, k0, k1, bufs=None):
        # (G, mb, width) view of members [k0, k1) of hidden layer i (or the logits).
        bufs = self.H if bufs is None else bufs
        lay, mb, G = self.layout, self.mb, k1 - k0
        width = lay.units[k0][i + 1]
        if i == lay.n_layers - 1:  # logits
            return bufs[i].view(lay.n_members, mb, width)[k0:k1]
        off = lay.unit_offsets[i]
        if i == 0:  # columns of the (mb, sum h1) GEMM output; a strided view
            return bufs[0].view(mb, -1)[:, off[k0]:off[k1]].view(mb, G, width).transpose(0, 1)
        return bufs[i][mb * off[k0]:mb * off[k1]].view(G, mb, width)


class _Packed:
    """The members still training: layout, parameters, Adam state, per-member alpha."""

    def __init__(self, layout, members, alphas, torch, dtype, device):
        self.layout = layout
        self.torch, self.dtype, self.device = torch, dtype, device
        self.P = layout.pack([m[0] for m in members], torch, dtype, device)
        self.M = layout.pack([m[1] for m in members], torch, dtype, device)
        self.V = layout.pack([m[2] for m in members], torch, dtype, device)
        self.G = torch.zeros_like(self.P)
        self.alphas = np.asarray(alphas, dtype=np.float64)
        self.row_member = torch.as_tensor(layout.row_member, device=device)
        # Per-weight alpha (biases are not penalised): the L2 gradient is one addcmul.
        self.alpha_w = torch.as_tensor(self.alphas, dtype=dtype, device=device)[self.row_member]
        self.alpha_w = self.alpha_w.repeat_interleave(layout.row_len)
        self.alpha64 = torch.as_tensor(self.alphas, dtype=torch.float64, device=device)
        self.p, self.g = layout.views(self.P), layout.views(self.G)
        self._acts = {}

    def acts(self, mb):
        if mb not in self._acts:
            self._acts[mb] = _Activations(self.layout, mb, self.torch, self.dtype, self.device)
        return self._acts[mb]

    def members(self):
        """Per member ``(params, m, v)``, each ``(coefs, intercepts)``."""
        lay = self.layout
        return list(zip(lay.unpack(self.P), lay.unpack(self.M), lay.unpack(self.V)))

    def sq_norms(self):
        """Sum of squared weights per member, float64 ``(B,)``."""
        torch, lay = self.torch, self.layout
        # Norms of short rows in the working precision, squared and summed in float64.
        rows = torch.linalg.vector_norm(self.P[:lay.n_weights].view(-1, lay.row_len), dim=1)
        rows = rows.to(torch.float64).square_()
        return torch.zeros(lay.n_members, dtype=torch.float64, device=self.device).index_add_(
            0, self.row_member, rows)


def _forward(net, a, xb):
    """Fill ``a``'s activations and logits for inputs ``xb`` (``(mb, d)`` or ``(B, mb, d)``)."""
    torch, lay, p = net.torch, net.layout, net.p
    L = lay.n_layers
    for i in range(L):
        if i == 0 and xb.dim() == 2:  # shared minibatch: all first layers in one GEMM
            torch.addmm(p["b0"], xb, p["W0T"].t(), out=a.H0)
        elif i == 0:  # own minibatch per member: one bmm per run, copied into the
            # strided (mb, sum h1) buffer
            for r, (k0, k1) in enumerate(lay.runs[0]):
                z = torch.baddbmm(p["b"][0][r], xb[k0:k1], p["W"][0][r].transpose(1, 2))
                a.outputs[0][r].copy_(z)
        else:
            for r in range(len(lay.runs[i])):
                torch.baddbmm(p["b"][i][r], a.inputs[i][r], p["W"][i][r], out=a.outputs[i][r])
        if i < L - 1:
            a.H[i].relu_()


def _backward(net, a, xb):
    """Gradients of the summed minibatch loss, given ``a.delta_out`` (into ``net.G``)."""
    torch, lay, p, g = net.torch, net.layout, net.p, net.g
    L = lay.n_layers
    for i in range(L - 1, -1, -1):
        if i == 0 and xb.dim() == 2:  # shared minibatch: all first layers in one GEMM
            torch.mm(a.D0.t(), xb, out=g["W0T"])
            torch.sum(a.D0, dim=0, out=g["b0"])
            break
        for r, (k0, k1) in enumerate(lay.runs[i]):
            dv = a.d_outputs[i][r]
            if i == 0:
                torch.bmm(dv.transpose(1, 2), xb[k0:k1], out=g["W"][0][r])
            else:
                torch.bmm(a.inputs[i][r].transpose(1, 2), dv, out=g["W"][i][r])
            torch.sum(dv, dim=1, keepdim=True, out=g["b"][i][r])
            if i > 0:
                back = p["W"][i][r].transpose(1, 2)
                if i == 1:  # into the strided (mb, sum h1) buffer
                    a.d_inputs[i][r].copy_(torch.bmm(dv, back))
                else:
                    torch.bmm(dv, back, out=a.d_inputs[i][r])
        if i > 0:  # ReLU derivative of the layer below, in place, one call per layer
            torch.ops.aten.threshold_backward.grad_input(a.D[i - 1], a.H[i - 1], 0,
                                                         grad_input=a.D[i - 1])


def _adam_step(net, t, lr, beta_1, beta_2, epsilon):
    """scikit-learn's Adam step on the whole flat buffer (one fused call)."""
    torch = net.torch
    # scikit-learn: p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps).
    # torch's fused Adam: p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps').
    # They are equal for eps' = eps / sqrt(1 - b2^t).
    eps_t = epsilon / math.sqrt(1 - beta_2**t)
    if hasattr(torch, "_fused_adam_"):
        step = torch.tensor(float(t), device=net.device)
        torch._fused_adam_([net.P], [net.G], [net.M], [net.V], [], [step], lr=lr, beta1=beta_1,
                           beta2=beta_2, weight_decay=0.0, eps=eps_t, amsgrad=False,
                           maximize=False)
        return
    # Without the private fused kernel: the same step in plain in-place ops.
    net.M.lerp_(net.G, 1 - beta_1)
    net.V.mul_(beta_2).addcmul_(net.G, net.G, value=1 - beta_2)
    denom = net.V.sqrt().add_(epsilon)
    net.P.addcdiv_(net.M, denom, value=-lr * math.sqrt(1 - beta_2**t) / (1 - beta_1**t))


def train_packed(X, y, n_classes, specs, inits, *, shared_order, shuffle_gens, max_iter, tol,
                 n_iter_no_change, learning_rate_init, batch_size, beta_1, beta_2, epsilon,
                 device, dtype, bar=None):
    """Train members of equal depth (any widths) in lockstep; see the module docstring.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features)
        Inputs on ``device`` in ``dtype``.
    y : torch.Tensor of shape (n_samples,)
        Integer class codes.
    n_classes : int
        Output units.
    specs : list of MemberSpec
        The members (same number of hidden layers).
    inits : list of (coefs, intercepts)
        Initial torch tensors per member, scikit-learn layout.
    shared_order : bool
        Every member uses the minibatch order of ``shuffle_gens[0]`` (a grid from one seed).
    shuffle_gens : list of torch.Generator
        Per member (in ``specs`` order) the generator of its epoch permutations.
    max_iter, tol, n_iter_no_change, learning_rate_init, batch_size, beta_1, beta_2, epsilon
        As :func:`harness.probes._torch_backend.train_mlps` (``batch_size`` an int).
    device, dtype
        torch device and dtype.
    bar : tqdm or None
        Progress bar updated once per epoch.

    Returns
    -------
    list of dict
        Per member in ``specs`` order: ``coefs``, ``intercepts`` (NumPy), ``n_iter``,
        ``converged``, ``loss_curve``.
    """
    import torch

    B = len(specs)
    n_samples, n_features = X.shape
    # Order by hidden sizes from the last layer backwards: equal (fan_in, fan_out) pairs
    # at every layer are then consecutive (16 runs at layer 2 and 4 at the output for the
    # paper grid).
    order = sorted(range(B), key=lambda k: tuple(reversed(specs[k].hidden_sizes)))
    units = [[n_features, *specs[k].hidden_sizes, n_classes] for k in order]
    zeros = [tuple([torch.zeros_like(w) for w in part] for part in inits[k]) for k in order]
    net = _Packed(_Layout(units), [(inits[k], zeros[j], zeros[j]) for j, k in enumerate(order)],
                  [specs[k].alpha for k in order], torch, dtype, device)
    act = np.asarray(order)  # spec index of each packed member

    best_loss = np.full(B, np.inf)
    no_improve = np.zeros(B, dtype=int)
    n_iter = np.zeros(B, dtype=int)
    converged = np.zeros(B, dtype=bool)
    curves = [[] for _ in range(B)]
    final = [None] * B
    bounds = [(s, min(s + batch_size, n_samples)) for s in range(0, n_samples, batch_size)]
    t = 0
    with torch.no_grad():
        for _epoch in range(max_iter):
            if act.size == 0:
                break
            if shared_order:
                perm = torch.randperm(n_samples, generator=shuffle_gens[0]).to(device)
            else:
                perm = torch.stack([torch.randperm(n_samples, generator=shuffle_gens[k])
                                    for k in act]).to(device)
            acc = torch.zeros(act.size, dtype=torch.float64, device=device)
            for start, stop in bounds:
                mb = stop - start
                rows = perm[start:stop] if shared_order else perm[:, start:stop]
                xb = X[rows]  # (mb, d) shared, or (B, mb, d)
                yb = y[rows].view(1, mb, 1).expand(act.size, mb, 1) if shared_order else y[rows].unsqueeze(2)
                a = net.acts(mb)
                _forward(net, a, xb)
                logp = torch.log_softmax(a.logits, dim=2)
                ce = logp.gather(2, yb).sum(dim=(1, 2), dtype=torch.float64).neg_()  # mb * mean CE
                # Loss before the update, as scikit-learn: mean CE + alpha / (2 mb) ||W||^2.
                acc += ce + 0.5 * net.alpha64 * net.sq_norms()
                # delta = (softmax - onehot) / mb, scikit-learn's output-layer delta.
                d = a.delta_out
                torch.exp(logp, out=d)
                d.scatter_add_(2, yb, torch.full(yb.shape, -1.0, dtype=d.dtype, device=device))
                d.div_(mb)
                _backward(net, a, xb)
                net.G[:net.layout.n_weights].addcmul_(net.alpha_w, net.P[:net.layout.n_weights],
                                                      value=1.0 / mb)
                t += 1
                _adam_step(net, t, learning_rate_init, beta_1, beta_2, epsilon)

            loss = (acc / n_samples).cpu().numpy()
            # scikit-learn's _update_no_improvement_count on the training loss, per member.
            k = act
            for j, kk in enumerate(k):
                curves[kk].append(float(loss[j]))
            n_iter[k] += 1
            worse = loss > best_loss[k] - tol
            no_improve[k] = np.where(worse, no_improve[k] + 1, 0)
            best_loss[k] = np.fmin(best_loss[k], loss)
            conv = no_improve[k] > n_iter_no_change
            converged[k[conv]] = True
            done = conv | ~np.isfinite(loss)  # a diverged member stops rather than run on NaNs
            if done.any():
                net, act = _drop(net, act, done, final, torch)
            logger.debug("epoch %d: %d of %d members still training", _epoch + 1, act.size, B)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(active=int(act.size))
        if act.size:
            _drop(net, act, np.ones(act.size, dtype=bool), final, torch)
    return [{"coefs": final[k][0], "intercepts": final[k][1], "n_iter": int(n_iter[k]),
             "converged": bool(converged[k]), "loss_curve": curves[k]} for k in range(B)]


def _drop(net, act, done, final, torch):
    """Store finished members' weights in ``final``; repack the others without them."""
    members = net.members()
    for j in np.flatnonzero(done):
        coefs, intercepts = members[j][0]
        final[act[j]] = ([w.cpu().numpy() for w in coefs], [b.cpu().numpy() for b in intercepts])
    keep = np.flatnonzero(~done)
    if keep.size == 0:
        return net, act[keep]
    lay = net.layout
    new = _Packed(_Layout([lay.units[j] for j in keep]), [members[j] for j in keep],
                  net.alphas[keep], torch, net.dtype, net.device)
    return new, act[keep]
