"""Batched PyTorch trainer for many ReLU MLPs at once.

This module trains ``B`` independent multi-layer perceptrons that share an architecture
(the same hidden sizes) as one batched model: every weight matrix carries a leading batch
dimension and each layer is one ``torch.bmm``/``torch.matmul`` call. Members may differ
in their L2 penalty ``alpha`` and in their random seed. How members of different hidden
sizes share a batch is the ``layout`` of :func:`train_mlps`: on a CPU every width trains
in lockstep in flat buffers (``"packed"``, :mod:`harness.probes._packed`); on a GPU,
where kernel launches rather than arithmetic bound such small networks, all shapes are
zero-padded to the widest (``"pad"``); ``"shape"`` trains one batched model per shape,
one after the other (16 batched fits for the paper grid), and is the packed layout's
reference.

The optimisation follows :class:`sklearn.neural_network.MLPClassifier` with
``solver="adam"`` step for step, so that the two backends of
:class:`harness.probes.MLPProbe` are interchangeable:

* Glorot-uniform initialisation of weights *and* biases, bound
  ``sqrt(6 / (fan_in + fan_out))``;
* minibatches of ``min(200, n_samples)`` drawn from a fresh permutation every epoch
  (the last minibatch may be smaller);
* per-minibatch objective ``mean cross-entropy + alpha / (2 m) * sum ||W||^2`` with ``m``
  the minibatch size, on weights only (biases are not penalised);
* Adam with sklearn's bias-corrected step
  ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)`` and update
  ``-lr_t * m_t / (sqrt(v_t) + eps)``;
* convergence when the epoch's training loss has not improved on the best loss by more
  than ``tol`` for more than ``n_iter_no_change`` consecutive epochs, else stop at
  ``max_iter`` epochs.

Differences from scikit-learn (documented in ``docs/probes.md``): arithmetic is float32
by default (scikit-learn keeps the input dtype); the output layer is a softmax over
``n_classes`` units even for two classes (scikit-learn uses one logistic unit), so the
binary case has one more output unit; random numbers come from ``torch.Generator``, so a
seed gives a different (but reproducible) initialisation and shuffle than scikit-learn's
``RandomState`` with the same seed; the loss is computed by ``log_softmax`` rather than
by clipping probabilities at machine epsilon.

Per-member convergence is tracked with a boolean mask. Converged members are frozen and
dropped from the batch (their tensors are compacted away), so they cost nothing for the
rest of the run. Each member draws its own minibatch order from its own seed, so a member
trained inside a batch follows the same trajectory as the same member trained alone; when
all members share a seed (a grid search from one seed) the minibatch is gathered once and
broadcast across the batch.

torch is imported lazily by :func:`train_mlps` so that importing :mod:`harness.probes`
does not pull it in.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["MemberSpec", "TrainedMLP", "train_mlps", "resolve_device"]

_SHUFFLE_STREAM = 0x5EED5EED  # xor-ed into a member's seed for its minibatch orders


@dataclass(frozen=True)
class MemberSpec:
    """One network to train: architecture, penalty and seed.

    Parameters
    ----------
    hidden_sizes : tuple of int
        Widths of the hidden layers.
    alpha : float
        L2 penalty strength (scikit-learn's ``alpha``).
    seed : int
        Seed of the member's initialisation and minibatch order.
    """

    hidden_sizes: tuple
    alpha: float
    seed: int


@dataclass
class TrainedMLP:
    """Weights and training record of one trained member.

    Attributes
    ----------
    spec : MemberSpec
        What was trained.
    coefs : list of ndarray
        ``coefs[i]`` has shape ``(fan_in, fan_out)`` of layer ``i`` (scikit-learn layout).
    intercepts : list of ndarray
        ``intercepts[i]`` has shape ``(fan_out,)``.
    n_iter : int
        Epochs run.
    converged : bool
        False when training stopped at ``max_iter``.
    loss_curve : list of float
        Training loss (cross-entropy plus penalty) after each epoch.
    """

    spec: MemberSpec
    coefs: list
    intercepts: list
    n_iter: int
    converged: bool
    loss_curve: list = field(default_factory=list)


def resolve_device(device):
    """Map ``None``/``"auto"`` to CUDA when available, else CPU; pass others through.

    Parameters
    ----------
    device : str, torch.device or None
        Requested device.

    Returns
    -------
    torch.device
    """
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _init_member(gen, layer_units, torch, dtype):
    # Weights and biases both uniform in +-sqrt(6/(fan_in+fan_out)), as scikit-learn's
    # _init_coef does for non-logistic activations. Drawn on CPU from the member's own
    # generator so the result does not depend on the device or on the other members.
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        w = (torch.rand((fan_in, fan_out), generator=gen, dtype=torch.float64) * 2 - 1) * bound
        b = (torch.rand((fan_out,), generator=gen, dtype=torch.float64) * 2 - 1) * bound
        coefs.append(w.to(dtype))
        intercepts.append(b.to(dtype))
    return coefs, intercepts


def _pad_member(member, layer_units, torch):
    """Zero-pad a member's (coefs, intercepts) to the group's widest ``layer_units``."""
    coefs, intercepts = member
    padded_c, padded_i = [], []
    for W, b, fan_in, fan_out in zip(coefs, intercepts, layer_units[:-1], layer_units[1:]):
        Wp = torch.zeros((fan_in, fan_out), dtype=W.dtype)
        Wp[:W.shape[0], :W.shape[1]] = W
        bp = torch.zeros(fan_out, dtype=b.dtype)
        bp[:b.shape[0]] = b
        padded_c.append(Wp)
        padded_i.append(bp)
    return padded_c, padded_i


def _train_group(
    X,
    y,
    n_classes,
    specs,
    *,
    max_iter,
    tol,
    n_iter_no_change,
    learning_rate_init,
    batch_size,
    beta_1,
    beta_2,
    epsilon,
    device,
    dtype,
    progress,
    desc,
):
    """Train members with the same number of hidden layers as one batched model.

    Members narrower than the widest are zero-padded: a padded unit has zero incoming
    weights and bias, so its ReLU output and every gradient reaching it are exactly 0,
    and Adam never moves it (its moments stay 0). Each member is initialised with its
    own sizes before padding, so padding changes no member's trajectory beyond the
    summation order inside the matrix products.
    """
    import torch

    n_samples, n_features = X.shape
    hidden = tuple(max(widths) for widths in zip(*(s.hidden_sizes for s in specs)))
    layer_units = [n_features, *hidden, n_classes]
    n_layers = len(layer_units) - 1
    B = len(specs)
    member_units = [[n_features, *s.hidden_sizes, n_classes] for s in specs]

    gens = [torch.Generator().manual_seed(int(s.seed)) for s in specs]
    inits = [_pad_member(_init_member(g, units, torch, dtype), layer_units, torch)
             for g, units in zip(gens, member_units)]
    # Minibatch orders come from a second stream per seed, so that they do not depend on
    # how many numbers the member's initialisation drew (its shape): members of one seed
    # then share one order whatever their sizes.
    gens = [torch.Generator().manual_seed(int(s.seed) ^ _SHUFFLE_STREAM) for s in specs]
    # params[i]: weights (B, fan_in, fan_out); params[n_layers + i]: biases (B, 1, fan_out)
    params = [torch.stack([m[0][i] for m in inits]).to(device) for i in range(n_layers)]
    params += [torch.stack([m[1][i] for m in inits]).unsqueeze(1).to(device) for i in range(n_layers)]
    m_state = [torch.zeros_like(p) for p in params]
    v_state = [torch.zeros_like(p) for p in params]
    alpha = torch.tensor([s.alpha for s in specs], dtype=dtype, device=device).view(B, 1, 1)

    # Members with the same seed draw the same minibatch order, so the minibatch can be
    # gathered once and broadcast; otherwise each member gathers its own rows.
    shared_order = len({int(s.seed) for s in specs}) == 1

    # Book-keeping per original member index.
    active = np.ones(B, dtype=bool)  # convergence mask over the original members
    act_idx = np.arange(B)  # original indices of the members still in the batch
    best_loss = np.full(B, np.inf)
    no_improve = np.zeros(B, dtype=int)
    n_iter = np.zeros(B, dtype=int)
    converged = np.zeros(B, dtype=bool)
    curves = [[] for _ in range(B)]
    final = [None] * B

    t_step = 0
    batch_bounds = [(s, min(s + batch_size, n_samples)) for s in range(0, n_samples, batch_size)]

    def freeze(done_local):
        # Copy finished members out and drop them from every batched tensor.
        nonlocal params, m_state, v_state, alpha, act_idx
        for j in np.flatnonzero(done_local):
            k = act_idx[j]
            units = member_units[k]
            final[k] = (
                [params[i][j, :units[i], :units[i + 1]].cpu().numpy().copy()
                 for i in range(n_layers)],
                [params[n_layers + i][j, 0, :units[i + 1]].cpu().numpy().copy()
                 for i in range(n_layers)],
            )
        keep = torch.as_tensor(np.flatnonzero(~done_local), device=device)
        params = [p.index_select(0, keep) for p in params]
        m_state = [p.index_select(0, keep) for p in m_state]
        v_state = [p.index_select(0, keep) for p in v_state]
        alpha = alpha.index_select(0, keep)
        act_idx = act_idx[~done_local]

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_iter, desc=desc, leave=False, unit="epoch")

    with torch.no_grad():
        for epoch in range(max_iter):
            if act_idx.size == 0:
                break
            if shared_order:
                perm = torch.randperm(n_samples, generator=gens[0]).to(device)
            else:
                perm = torch.stack([torch.randperm(n_samples, generator=gens[k]) for k in act_idx]).to(device)
            acc_loss = torch.zeros(act_idx.size, dtype=torch.float64, device=device)
            for start, stop in batch_bounds:
                mb = stop - start
                if shared_order:
                    rows = perm[start:stop]
                    xb = X.index_select(0, rows).unsqueeze(0)  # (1, mb, d), broadcast over B
                    yb = y.index_select(0, rows).unsqueeze(0).expand(act_idx.size, mb)
                else:
                    rows = perm[:, start:stop]
                    xb = X[rows]  # (B, mb, d)
                    yb = y[rows]
                # Forward pass, keeping activations for the hand-written backward pass.
                acts = [xb]
                h = xb
                for i in range(n_layers):
                    h = torch.matmul(h, params[i]) + params[n_layers + i]
                    if i < n_layers - 1:
                        h = torch.relu_(h)
                    acts.append(h)
                logp = torch.log_softmax(h, dim=2)
                ce = -logp.gather(2, yb.unsqueeze(2)).squeeze(2).mean(dim=1)
                sq = sum((params[i] * params[i]).sum(dim=(1, 2)) for i in range(n_layers))
                batch_loss = ce.double() + 0.5 * alpha.view(-1).double() * sq.double() / mb
                acc_loss += batch_loss * mb

                # Backward pass: delta = (softmax - onehot) / m, as scikit-learn's _backprop
                # (dividing once here instead of every gradient saves passes over memory).
                delta = logp.exp_()
                delta.scatter_add_(2, yb.unsqueeze(2), torch.full_like(yb.unsqueeze(2), -1, dtype=delta.dtype))
                delta /= mb
                alpha_m = alpha / mb
                grads = [None] * (2 * n_layers)
                for i in range(n_layers - 1, -1, -1):
                    a = acts[i]
                    if a.shape[0] == 1 and delta.shape[0] != 1:
                        # Shared input: X^T delta for every member in one GEMM.
                        g = torch.einsum("md,bmh->bdh", a[0], delta)
                    else:
                        g = torch.bmm(a.transpose(1, 2), delta)
                    g.addcmul_(alpha_m, params[i])  # + alpha / m * W, per member
                    grads[i] = g
                    grads[n_layers + i] = delta.sum(dim=1, keepdim=True)
                    if i > 0:
                        # ReLU derivative in one fused pass (0 where the unit was off).
                        delta = torch.ops.aten.threshold_backward(
                            torch.bmm(delta, params[i].transpose(1, 2)), acts[i], 0
                        )

                # Adam, scikit-learn's form of the bias correction.
                t_step += 1
                lr_t = learning_rate_init * math.sqrt(1 - beta_2**t_step) / (1 - beta_1**t_step)
                # Multi-tensor ops: one call per step for all layers, not one per tensor.
                torch._foreach_lerp_(m_state, grads, 1 - beta_1)
                torch._foreach_mul_(v_state, beta_2)
                torch._foreach_addcmul_(v_state, grads, grads, value=1 - beta_2)
                denom = torch._foreach_sqrt(v_state)
                torch._foreach_add_(denom, epsilon)
                torch._foreach_addcdiv_(params, m_state, denom, value=-lr_t)

            epoch_loss = (acc_loss / n_samples).cpu().numpy()
            done_local = np.zeros(act_idx.size, dtype=bool)
            for j, k in enumerate(act_idx):
                loss = float(epoch_loss[j])
                curves[k].append(loss)
                n_iter[k] += 1
                # scikit-learn's _update_no_improvement_count on the training loss.
                if loss > best_loss[k] - tol:
                    no_improve[k] += 1
                else:
                    no_improve[k] = 0
                if loss < best_loss[k]:
                    best_loss[k] = loss
                if no_improve[k] > n_iter_no_change:
                    converged[k] = True
                    done_local[j] = True
                elif not np.isfinite(loss):
                    # Diverged: stop rather than spend epochs on NaNs.
                    done_local[j] = True
            if done_local.any():
                active[act_idx[done_local]] = False
                freeze(done_local)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(active=int(act_idx.size))
        if act_idx.size:
            freeze(np.ones(act_idx.size, dtype=bool))
    if bar is not None:
        bar.close()

    return [
        TrainedMLP(
            spec=specs[k],
            coefs=final[k][0],
            intercepts=final[k][1],
            n_iter=int(n_iter[k]),
            converged=bool(converged[k]),
            loss_curve=curves[k],
        )
        for k in range(B)
    ]


def _train_packed_group(X, y, n_classes, specs, *, device, dtype, progress, desc, **options):
    """:func:`_train_group`'s contract with the packed trainer (:mod:`harness.probes._packed`).

    Initialisation and minibatch orders are drawn exactly as in :func:`_train_group`, so
    a member starts from the same weights and sees the same minibatches in both.
    """
    import torch

    from harness.probes._packed import train_packed

    n_features = X.shape[1]
    inits = [_init_member(torch.Generator().manual_seed(int(s.seed)),
                          [n_features, *s.hidden_sizes, n_classes], torch, dtype) for s in specs]
    inits = [([w.to(device) for w in c], [b.to(device) for b in i]) for c, i in inits]
    gens = [torch.Generator().manual_seed(int(s.seed) ^ _SHUFFLE_STREAM) for s in specs]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=options["max_iter"], desc=desc, leave=False, unit="epoch")
    try:
        out = train_packed(X, y, n_classes, specs, inits,
                           shared_order=len({int(s.seed) for s in specs}) == 1,
                           shuffle_gens=gens, device=device, dtype=dtype, bar=bar, **options)
    finally:
        if bar is not None:
            bar.close()
    return [TrainedMLP(spec=s, coefs=r["coefs"], intercepts=r["intercepts"], n_iter=r["n_iter"],
                       converged=r["converged"], loss_curve=r["loss_curve"])
            for s, r in zip(specs, out)]


def train_mlps(
    X,
    y,
    n_classes,
    specs,
    *,
    max_iter=1000,
    tol=1e-4,
    n_iter_no_change=10,
    learning_rate_init=1e-3,
    batch_size="auto",
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-8,
    device=None,
    dtype="float32",
    progress=False,
    pad=None,
    layout=None,
):
    """Train many ReLU MLP classifiers with Adam, batched by architecture.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training inputs.
    y : ndarray of shape (n_samples,)
        Integer class codes in ``[0, n_classes)``.
    n_classes : int
        Number of output units.
    specs : sequence of MemberSpec
        Networks to train. Members with equal ``hidden_sizes`` form one batched model.
    max_iter : int, default=1000
        Maximum number of epochs per member.
    tol : float, default=1e-4
        Minimum improvement of the training loss that resets the patience counter.
    n_iter_no_change : int, default=10
        A member stops after more than this many epochs without such an improvement.
    learning_rate_init : float, default=1e-3
        Adam step size.
    batch_size : int or "auto", default="auto"
        ``"auto"`` is ``min(200, n_samples)``; an int is clipped to ``[1, n_samples]``.
    beta_1, beta_2, epsilon : float
        Adam constants (scikit-learn's defaults).
    device : str, torch.device or None, default=None
        ``None`` or ``"auto"``: CUDA when available, else CPU.
    dtype : {"float32", "float64"}, default="float32"
        Arithmetic precision.
    progress : bool, default=False
        Show a tqdm bar per batched group.
    pad : bool or None, default=None
        Batch members of different widths together, zero-padded to the widest (see
        :func:`_train_group`): one batched model per number of hidden layers instead of
        one per shape. It costs up to ``widest / width`` times the arithmetic of a narrow
        member but removes most kernel launches, which is what bounds small MLPs on a
        GPU. ``None``: see ``layout``. ``True`` is ``layout="pad"``, ``False`` is
        ``layout="shape"``.
    layout : {"packed", "shape", "pad"} or None, default=None
        How members are batched. ``"packed"`` (:mod:`harness.probes._packed`): members of
        every width train in lockstep in flat buffers, the first layers of a shared-order
        grid as one GEMM, later layers one ``bmm`` per run of equal shapes, one fused Adam
        call per step; converged members are repacked away. ``"shape"``: one batched
        model per shape, trained one after the other (the earlier CPU path, kept as the
        reference the packed one is tested against). ``"pad"``: every member zero-padded
        to the widest, one batched model. ``None``: ``"pad"`` on CUDA (kernel launches
        bound there), ``"packed"`` elsewhere.

    Returns
    -------
    list of TrainedMLP
        One per spec, in the order of ``specs``. Weights are NumPy arrays on the host.

    Notes
    -----
    Cost per epoch of a group is ``O(n_samples * B * sum_i fan_in_i * fan_out_i)``, the
    same arithmetic as ``B`` sequential fits; the gain comes from one large kernel per
    layer instead of ``B`` small ones and from float32. Memory holds ``4 B`` copies of the
    parameters (weights, two Adam moments, gradients) plus activations of one minibatch.
    Results are deterministic on CPU for a fixed thread count.
    """
    import torch

    dev = resolve_device(device)
    tdtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    n_samples = X.shape[0]
    if batch_size == "auto":
        bs = min(200, n_samples)
    else:
        bs = int(np.clip(batch_size, 1, n_samples))
    # A private copy: inputs may be read-only memmaps, which torch cannot wrap.
    Xt = torch.from_numpy(np.array(X, dtype=dtype, order="C")).to(dev)
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64), device=dev)

    if layout is None:
        layout = {True: "pad", False: "shape"}.get(pad, "pad" if dev.type == "cuda" else "packed")
    if layout not in ("packed", "shape", "pad"):
        raise ValueError(f"The 'layout' parameter of train_mlps must be 'packed', 'shape' or 'pad'. "
                         f"Got {layout!r} instead.")
    group_fn = _train_packed_group if layout == "packed" else _train_group
    groups = {}
    for k, s in enumerate(specs):
        key = len(s.hidden_sizes) if layout != "shape" else tuple(s.hidden_sizes)
        groups.setdefault(key, []).append(k)
    out = [None] * len(specs)
    for hidden, idx in groups.items():
        hidden = tuple(max(w) for w in zip(*(specs[k].hidden_sizes for k in idx)))
        logger.debug("training %d member(s) with hidden sizes %s on %s", len(idx), hidden, dev)
        res = group_fn(
            Xt,
            yt,
            n_classes,
            [specs[k] for k in idx],
            max_iter=max_iter,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            learning_rate_init=learning_rate_init,
            batch_size=bs,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            device=dev,
            dtype=tdtype,
            progress=progress,
            desc=f"mlp {hidden} x{len(idx)}",
        )
        for k, r in zip(idx, res):
            out[k] = r
    return out
