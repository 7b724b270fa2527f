"""MLP classifier probe with a scikit-learn reference and a batched PyTorch backend.

The paper (Zhou & Srikumar 2022, Sec. 3 and Appendix C) probes representations with a
two-hidden-layer ReLU MLP trained by Adam for at most 1000 iterations (scikit-learn
0.22), grid-searched over hidden sizes {32, 64, 128, 256}^2 and L2 penalties
1e-7 ... 1e0; the best setting is retrained with 5 initialisations and the mean and
standard deviation of test accuracy are reported.

:class:`MLPProbe` is one such network as a scikit-learn classifier.
:func:`probe_grid_search` runs the whole protocol and returns a :class:`ProbeResult`.
"""

from __future__ import annotations

import itertools
import logging
import time
import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from harness.exceptions import HarnessWarning, UnknownNameError

logger = logging.getLogger(__name__)

__all__ = ["MLPProbe", "ProbeResult", "probe_grid_search", "select_probe_setting",
           "choose_setting", "GRIDS", "get_grid"]

#: Named hyper-parameter grids. ``"paper"`` is the paper's grid (128 settings);
#: ``"tiny"`` is a reduced grid for CI (8 settings, 200 epochs at most).
GRIDS = {
    "paper": {
        "hidden_sizes": [(a, b) for a in (32, 64, 128, 256) for b in (32, 64, 128, 256)],
        "alpha": [10.0**e for e in range(-7, 1)],
        "max_iter": 1000,
    },
    "tiny": {
        "hidden_sizes": [(a, b) for a in (64, 256) for b in (64, 256)],
        "alpha": [1e-4, 1e-2],
        "max_iter": 200,
    },
}


def get_grid(grid):
    """Return a grid dict from a name in :data:`GRIDS` or a user dict.

    Parameters
    ----------
    grid : str or dict
        A name in :data:`GRIDS`, or a dict with keys ``"hidden_sizes"`` (list of tuples of
        int), ``"alpha"`` (list of float) and optionally ``"max_iter"`` (int, default
        1000).

    Returns
    -------
    name : str
        The grid's name (``"custom"`` for a dict).
    grid : dict
        Normalised grid with the three keys.
    """
    if isinstance(grid, str):
        if grid not in GRIDS:
            import difflib

            near = difflib.get_close_matches(grid, GRIDS, n=3)
            msg = f"Unknown probe grid {grid!r}. Options: {', '.join(sorted(GRIDS))}."
            if near:
                msg += f" Did you mean: {', '.join(near)}?"
            raise UnknownNameError(msg)
        name, spec = grid, GRIDS[grid]
    elif isinstance(grid, dict):
        name, spec = "custom", grid
        missing = {"hidden_sizes", "alpha"} - set(spec)
        if missing:
            raise ValueError(
                f"The 'grid' parameter of probe_grid_search must be a name in {sorted(GRIDS)} or a "
                f"dict with keys 'hidden_sizes' and 'alpha'. Got a dict missing {sorted(missing)}."
            )
    else:
        raise TypeError(
            f"The 'grid' parameter of probe_grid_search must be a str or a dict. Got {grid!r} instead."
        )
    sizes = [tuple(int(h) for h in np.atleast_1d(s)) for s in spec["hidden_sizes"]]
    alphas = [float(a) for a in spec["alpha"]]
    if not sizes or not alphas or any(h < 1 for s in sizes for h in s) or any(a < 0 for a in alphas):
        raise ValueError(f"Grid {name!r} needs non-empty hidden sizes >= 1 and alphas >= 0; got {spec!r}.")
    return name, {"hidden_sizes": sizes, "alpha": alphas, "max_iter": int(spec.get("max_iter", 1000))}


def _forward_proba(X, coefs, intercepts, softmax_out):
    # NumPy forward pass shared by both backends' fitted weights.
    # Promote to the wider of the two dtypes: float32 torch weights applied to float64
    # inputs compute in float64, so predictions do not depend on BLAS blocking (and on
    # sample order) at float32 rounding level.
    h = np.asarray(X, dtype=np.result_type(np.asarray(X).dtype, coefs[0].dtype))
    for i, (w, b) in enumerate(zip(coefs, intercepts)):
        h = h @ w + b
        if i < len(coefs) - 1:
            np.maximum(h, 0, out=h)
    if not softmax_out:  # scikit-learn's single logistic unit for two classes
        p = 1.0 / (1.0 + np.exp(-h[:, 0]))
        return np.column_stack([1 - p, p])
    h -= h.max(axis=1, keepdims=True)
    np.exp(h, out=h)
    h /= h.sum(axis=1, keepdims=True)
    return h


class MLPProbe(ClassifierMixin, BaseEstimator):
    """ReLU MLP classifier trained with Adam: the paper's probe.

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(64, 64)
        Widths of the hidden layers; the paper uses two layers, each in {32, 64, 128, 256}.
    alpha : float, default=1e-4
        L2 penalty on the weights (not the biases). The penalty added to each minibatch's
        mean cross-entropy is ``alpha / (2 m) * sum ||W||^2`` with ``m`` the minibatch size.
    max_iter : int, default=1000
        Maximum number of epochs.
    backend : {"sklearn", "torch"}, default="sklearn"
        ``"sklearn"`` fits :class:`sklearn.neural_network.MLPClassifier` (the paper's
        choice and the reference). ``"torch"`` fits the same network with the batched
        PyTorch trainer of :mod:`harness.probes._torch_backend`.
    learning_rate_init : float, default=1e-3
        Adam step size.
    batch_size : int or "auto", default="auto"
        Minibatch size; ``"auto"`` is ``min(200, n_samples)``.
    tol : float, default=1e-4
        Training stops when the training loss has not improved by ``tol`` for more than
        ``n_iter_no_change`` consecutive epochs.
    n_iter_no_change : int, default=10
        Patience in epochs.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation and of the minibatch order. The two backends draw
        different random numbers from the same seed.
    device : str or None, default=None
        Torch backend only: ``None``/``"auto"`` picks CUDA when available, else CPU.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit`` (sorted; may be strings).
    n_features_in_ : int
        Number of input features.
    coefs_ : list of ndarray
        ``coefs_[i]`` of shape ``(fan_in, fan_out)``, scikit-learn's layout.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` of shape ``(fan_out,)``.
    n_iter_ : int
        Epochs run.
    loss_curve_ : list of float
        Training loss after each epoch.
    converged_ : bool
        False when training stopped at ``max_iter`` (a ``ConvergenceWarning`` is raised).
    estimator_ : MLPClassifier or None
        The fitted scikit-learn model (``backend="sklearn"``), else None.

    See Also
    --------
    probe_grid_search : The paper's full protocol (grid search, 5 seeds).
    sklearn.neural_network.MLPClassifier : The reference implementation.

    Notes
    -----
    The torch backend computes in float32 and uses a softmax output even for two
    classes; scikit-learn keeps the input dtype and uses one logistic unit for two
    classes. Both predict by ``argmax`` of the output. See ``docs/probes.md``.

    References
    ----------
    Zhou, Y. and Srikumar, V. (2022). A Closer Look at How Fine-tuning Changes BERT.
    ACL 2022, Sec. 3 and Appendix C.

    Examples
    --------
    >>> import numpy as np
    >>> from harness.probes import MLPProbe
    >>> X = np.r_[np.zeros((20, 2)), np.ones((20, 2))]
    >>> y = np.array(["a"] * 20 + ["b"] * 20)
    >>> MLPProbe((8, 8), max_iter=300, random_state=0).fit(X, y).predict([[1.0, 1.0]])
    array(['b'], dtype='<U1')
    """

    _parameter_constraints = {
        "hidden_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "backend": [StrOptions({"sklearn", "torch"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "device": [str, None],
    }

    def __init__(
        self,
        hidden_sizes=(64, 64),
        *,
        alpha=1e-4,
        max_iter=1000,
        backend="sklearn",
        learning_rate_init=1e-3,
        batch_size="auto",
        tol=1e-4,
        n_iter_no_change=10,
        random_state=None,
        device=None,
    ):
        self.hidden_sizes = hidden_sizes
        self.alpha = alpha
        self.max_iter = max_iter
        self.backend = backend
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.device = device

    def _hidden(self):
        sizes = tuple(np.atleast_1d(np.asarray(self.hidden_sizes)).tolist())
        if not sizes or not all(isinstance(h, int) and h >= 1 for h in sizes):
            raise ValueError(
                "The 'hidden_sizes' parameter of MLPProbe must be a non-empty sequence of "
                f"positive ints. Got {self.hidden_sizes!r} instead."
            )
        return sizes

    def fit(self, X, y):
        """Fit the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Labels (ints or strings).

        Returns
        -------
        self : MLPProbe
            The fitted probe.
        """
        self._validate_params()
        hidden = self._hidden()
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32), y_numeric=False)
        check_classification_targets(y)
        self.classes_, y_codes = np.unique(y, return_inverse=True)
        if self.backend == "sklearn":
            self._fit_sklearn(X, y, hidden)
        else:
            self._fit_torch(X, y_codes, hidden)
        return self

    def _fit_sklearn(self, X, y, hidden):
        from sklearn.neural_network import MLPClassifier

        est = MLPClassifier(
            hidden_layer_sizes=hidden,
            activation="relu",
            solver="adam",
            alpha=self.alpha,
            batch_size=self.batch_size,
            learning_rate_init=self.learning_rate_init,
            max_iter=self.max_iter,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            random_state=self.random_state,
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est.fit(X, y)
        self.converged_ = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        for w in caught:  # re-emit so callers see them at their own filter settings
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        self.estimator_ = est
        self.coefs_ = est.coefs_
        self.intercepts_ = est.intercepts_
        self.n_iter_ = est.n_iter_
        self.loss_curve_ = list(est.loss_curve_)
        self._softmax_out = est.out_activation_ == "softmax"

    def _fit_torch(self, X, y_codes, hidden):
        from harness.probes._torch_backend import MemberSpec, train_mlps

        rs = check_random_state(self.random_state)
        if isinstance(self.random_state, Integral):
            seed = int(self.random_state)
        else:  # None or a RandomState: draw a seed from it, as scikit-learn would
            seed = int(rs.randint(np.iinfo(np.int32).max))
        n_classes = max(len(self.classes_), 2)  # one class: two outputs, the second never the target
        (res,) = train_mlps(
            X,
            y_codes,
            n_classes,
            [MemberSpec(hidden, float(self.alpha), seed)],
            max_iter=self.max_iter,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            learning_rate_init=self.learning_rate_init,
            batch_size=self.batch_size,
            device=self.device,
        )
        self._set_trained(res)

    def _set_trained(self, res):
        # Install weights trained by the torch backend (also used by probe_grid_search).
        self.estimator_ = None
        self.coefs_ = res.coefs
        self.intercepts_ = res.intercepts
        self.n_iter_ = res.n_iter
        self.loss_curve_ = list(res.loss_curve)
        self.converged_ = res.converged
        self._softmax_out = True
        if not res.converged:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        if len(self.classes_) == 1:  # a single training label is always predicted
            return np.ones((X.shape[0], 1), dtype=X.dtype)
        return _forward_proba(X, self.coefs_, self.intercepts_, self._softmax_out)

    def predict(self, X):
        """Predicted labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@dataclass
class ProbeResult:
    """Outcome of :func:`probe_grid_search`.

    Accuracies are fractions in [0, 1] (multiply by 100 for the paper's tables).

    Attributes
    ----------
    accuracy_mean : float
        Mean test accuracy of the best setting over the retraining seeds.
    accuracy_std : float
        Population standard deviation (``ddof=0``) of those accuracies.
    accuracies : tuple of float
        Test accuracy per seed, in the order of ``seeds``.
    hidden_sizes : tuple of int
        Chosen hidden sizes.
    alpha : float
        Chosen L2 penalty.
    validation_table : list of dict
        One record per grid setting, in grid order: ``hidden_sizes``, ``alpha``,
        ``val_accuracy``, ``n_iter``, ``converged``.
    timings : dict
        Seconds spent in ``"selection"``, ``"retrain"`` and ``"total"``.
    backend : str
        ``"sklearn"`` or ``"torch"``.
    grid : str
        Grid name (``"custom"`` for a dict).
    seeds : tuple of int
        Seeds of the retraining runs.
    selection_seed : int
        Seed of every network trained during selection and of the validation split.
    n_fit : int
        Training examples used to fit during selection.
    n_validation : int
        Held-out training examples used to select.
    n_test_unseen : int
        Test examples whose label never occurs in training (always counted as errors).
    """

    accuracy_mean: float
    accuracy_std: float
    accuracies: tuple
    hidden_sizes: tuple
    alpha: float
    validation_table: list
    timings: dict
    backend: str
    grid: str
    seeds: tuple = ()
    selection_seed: int = 0
    n_fit: int = 0
    n_validation: int = 0
    n_test_unseen: int = 0
    extra: dict = field(default_factory=dict)


def _validation_split(y, validation_fraction, seed):
    """Indices (fit, val) of a stratified split; singleton labels always go to fit."""
    n = len(y)
    labels, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    idx = np.arange(n)
    multi = counts[codes] >= 2
    # A label seen once cannot be both fitted and validated; keep it for fitting.
    pool, singles = idx[multi], idx[~multi]
    n_val = int(round(validation_fraction * n))
    if pool.size < 2 or n_val < 1:
        raise ValueError(
            f"Cannot hold out a validation set: {n} training examples, {pool.size} with a label "
            f"seen at least twice, validation_fraction={validation_fraction}."
        )
    n_val = min(max(n_val, 1), pool.size - 1)
    try:
        fit, val = train_test_split(pool, test_size=n_val, random_state=seed, stratify=y[pool])
    except ValueError:
        # Fewer validation slots than labels: stratification is impossible, split at random.
        warnings.warn(
            f"Validation split of {n_val} examples cannot hold all {np.unique(y[pool]).size} labels; "
            "using an unstratified random split.",
            HarnessWarning,
            stacklevel=3,
        )
        fit, val = train_test_split(pool, test_size=n_val, random_state=seed)
    return np.sort(np.r_[fit, singles]), np.sort(val)


def _accuracy(y_true, y_pred):
    # Labels that were never seen in training cannot be predicted: they count as errors.
    y_true = np.asarray(y_true)
    return float(np.mean(y_true.astype(object) == np.asarray(y_pred).astype(object)))


def probe_grid_search(
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    grid="paper",
    backend="sklearn",
    n_seeds=5,
    validation_fraction=0.1,
    random_state=0,
    device=None,
    progress=True,
):
    """Grid-search an MLP probe, retrain the best setting with several seeds, test it.

    Protocol (Zhou & Srikumar 2022, Sec. 3): every setting of ``grid`` is fitted on
    ``1 - validation_fraction`` of the training set and scored on the held-out rest; the
    setting chosen by :func:`choose_setting` (the simplest one within one standard error
    of the best validation accuracy) is refitted on the whole training set with
    ``n_seeds`` seeds, and each refit is scored on the test set.

    Parameters
    ----------
    X_train : array-like of shape (n_train, n_features)
        Training representations.
    y_train : array-like of shape (n_train,)
        Training labels (ints or strings).
    X_test : array-like of shape (n_test, n_features)
        Test representations.
    y_test : array-like of shape (n_test,)
        Test labels. Labels absent from ``y_train`` count as errors.
    grid : {"paper", "tiny"} or dict, default="paper"
        Hyper-parameter grid, see :data:`GRIDS` and :func:`get_grid`.
    backend : {"sklearn", "torch"}, default="sklearn"
        ``"sklearn"`` fits the settings one after another with scikit-learn;
        ``"torch"`` trains the whole grid as one batched model (on a CPU the packed
        layout of :mod:`harness.probes._packed`: every width in lockstep, converged
        settings dropped) and the ``n_seeds`` refits as another.
    n_seeds : int, default=5
        Number of initialisations of the best setting.
    validation_fraction : float, default=0.1
        Share of the training set held out for selection. The split is stratified by
        label with seed ``random_state``; labels with a single training example always
        stay in the fitting part; when the held-out part is smaller than the number of
        labels the split falls back to unstratified (with a ``HarnessWarning``).
    random_state : int, default=0
        Seed of the split and of every selection fit; refit ``k`` uses seed
        ``random_state + 1 + k``.
    device : str or None, default=None
        Torch backend only (``None``: CUDA when available, else CPU).
    progress : bool, default=True
        Show tqdm progress bars.

    Returns
    -------
    ProbeResult
        Test accuracy mean, std and per seed, the chosen setting, the validation table
        and timings.

    Notes
    -----
    Cost: ``len(hidden_sizes) * len(alpha)`` fits of at most ``max_iter`` epochs each, plus
    ``n_seeds`` fits on the full training set. ConvergenceWarnings of individual fits are
    silenced; whether each setting converged is in ``validation_table``.
    """
    if backend not in ("sklearn", "torch"):
        raise ValueError(f"The 'backend' parameter of probe_grid_search must be 'sklearn' or 'torch'. Got {backend!r} instead.")
    if not isinstance(n_seeds, Integral) or n_seeds < 1:
        raise ValueError(f"The 'n_seeds' parameter of probe_grid_search must be an int >= 1. Got {n_seeds!r} instead.")
    if not (0 < validation_fraction < 1):
        raise ValueError(
            f"The 'validation_fraction' parameter of probe_grid_search must be in (0, 1). Got {validation_fraction!r} instead."
        )
    if not isinstance(random_state, Integral):
        raise ValueError(f"The 'random_state' parameter of probe_grid_search must be an int. Got {random_state!r} instead.")
    get_grid(grid)  # fail on a bad grid before any work
    X_train = np.asarray(X_train)
    X_test = np.asarray(X_test)
    if not np.issubdtype(X_train.dtype, np.floating):
        X_train = X_train.astype(np.float64)
    X_test = X_test.astype(X_train.dtype, copy=False)
    y_train = np.asarray(y_train)
    y_test = np.asarray(y_test)
    if X_train.ndim != 2 or X_train.shape[0] != y_train.shape[0]:
        raise ValueError(f"X_train of shape {X_train.shape} does not match y_train of shape {y_train.shape}.")
    if X_test.ndim != 2 or X_test.shape[0] != y_test.shape[0] or X_test.shape[1] != X_train.shape[1]:
        raise ValueError(f"X_test of shape {X_test.shape} does not match y_test {y_test.shape} / X_train {X_train.shape}.")

    seed = int(random_state)
    sel = select_probe_setting(
        X_train, y_train, grid=grid, backend=backend, validation_fraction=validation_fraction,
        random_state=seed, device=device, progress=progress,
    )
    best_h, best_a, table = sel["hidden_sizes"], sel["alpha"], sel["validation_table"]
    common = dict(max_iter=sel["max_iter"], backend=backend, device=device)

    t1 = time.perf_counter()
    seeds = tuple(seed + 1 + k for k in range(n_seeds))
    refits = _fit_many(X_train, y_train, [(best_h, best_a, s) for s in seeds], common, progress, "retrain")
    accs = tuple(_accuracy(y_test, p.predict(X_test)) for p in refits)
    t_ret = time.perf_counter() - t1

    unseen = int(np.sum(~np.isin(y_test.astype(object), np.unique(y_train).astype(object))))
    if unseen:
        logger.warning("%d test examples carry labels absent from training; counted as errors", unseen)
    return ProbeResult(
        accuracy_mean=float(np.mean(accs)),
        accuracy_std=float(np.std(accs)),
        accuracies=accs,
        hidden_sizes=tuple(best_h),
        alpha=float(best_a),
        validation_table=table,
        timings={"selection": sel["seconds"], "retrain": t_ret, "total": sel["seconds"] + t_ret},
        backend=backend,
        grid=sel["grid"],
        seeds=seeds,
        selection_seed=seed,
        n_fit=sel["n_fit"],
        n_validation=sel["n_validation"],
        n_test_unseen=unseen,
    )


def select_probe_setting(
    X_train,
    y_train,
    *,
    grid="paper",
    backend="sklearn",
    validation_fraction=0.1,
    random_state=0,
    device=None,
    progress=True,
    settings=None,
):
    """Selection step of :func:`probe_grid_search`: fit every setting, score on held-out data.

    Parameters
    ----------
    X_train : ndarray of shape (n_train, n_features)
        Training representations.
    y_train : ndarray of shape (n_train,)
        Training labels.
    grid : {"paper", "tiny"} or dict, default="paper"
        Hyper-parameter grid, see :func:`get_grid`.
    backend : {"sklearn", "torch"}, default="sklearn"
        Fitting backend.
    validation_fraction : float, default=0.1
        Held-out share of the training set (see :func:`probe_grid_search`).
    random_state : int, default=0
        Seed of the split and of every fit.
    device : str or None, default=None
        Torch backend only.
    progress : bool, default=True
        Show tqdm progress bars.
    settings : list of (tuple, float) or None, default=None
        Subset of the grid's (hidden_sizes, alpha) pairs to fit (benchmarks time a
        subset of the sequential backend); None fits the whole grid.

    Returns
    -------
    dict
        ``validation_table`` (list of records as in :class:`ProbeResult`),
        ``hidden_sizes`` and ``alpha`` of the chosen setting (:func:`choose_setting`),
        ``tie_band`` (its tie band),
        ``seconds``, ``grid`` (name), ``max_iter``, ``n_fit``, ``n_validation``.
    """
    grid_name, g = get_grid(grid)
    X_train, y_train = np.asarray(X_train), np.asarray(y_train)
    seed = int(random_state)
    if settings is None:
        settings = list(itertools.product(g["hidden_sizes"], g["alpha"]))
    settings = [(tuple(h), float(a)) for h, a in settings]
    fit_idx, val_idx = _validation_split(y_train, validation_fraction, seed)
    Xf, yf, Xv, yv = X_train[fit_idx], y_train[fit_idx], X_train[val_idx], y_train[val_idx]
    common = dict(max_iter=g["max_iter"], backend=backend, device=device)
    logger.info(
        "probe grid %r: %d settings, backend=%s, fit=%d val=%d",
        grid_name, len(settings), backend, len(fit_idx), len(val_idx),
    )
    t0 = time.perf_counter()
    probes = _fit_many(Xf, yf, [(h, a, seed) for h, a in settings], common, progress, "selection")
    table = [
        {
            "hidden_sizes": h,
            "alpha": a,
            "val_accuracy": _accuracy(yv, p.predict(Xv)),
            "n_iter": int(p.n_iter_),
            "converged": bool(p.converged_),
        }
        for (h, a), p in zip(settings, probes)
    ]
    seconds = time.perf_counter() - t0
    best, band = choose_setting(table, len(val_idx))
    logger.info(
        "selected hidden_sizes=%s alpha=%g (val acc %.4f, best %.4f, tie band %.4f) in %.1f s",
        table[best]["hidden_sizes"], table[best]["alpha"], table[best]["val_accuracy"],
        max(r["val_accuracy"] for r in table), band, seconds,
    )
    return {
        "validation_table": table,
        "hidden_sizes": table[best]["hidden_sizes"],
        "alpha": table[best]["alpha"],
        "tie_band": band,
        "seconds": seconds,
        "grid": grid_name,
        "max_iter": g["max_iter"],
        "n_fit": int(len(fit_idx)),
        "n_validation": int(len(val_idx)),
    }


def choose_setting(table, n_validation):
    r"""The selected row of a validation table: the simplest setting tied with the best.

    Validation accuracies closer than the validation set can tell apart are ties. The
    tie band is one binomial standard error of the best accuracy :math:`a^*`, and at
    least one validation example:

    .. math::

        b = \max\left(\sqrt{a^* (1 - a^*) / n_\mathrm{val}},\; 1 / n_\mathrm{val}\right)

    Among the settings with accuracy :math:`\ge a^* - b` the first in a fixed order wins:
    fewest hidden units (:math:`h_1 + h_2`), then the smaller first layer, then the
    strongest L2 penalty. This is the one-standard-error rule (Breiman et al. 1984;
    Hastie, Tibshirani & Friedman 2009, section 7.10). A plain argmax flips between
    near-tied settings under floating-point differences (another machine, another thread
    count), and with it the reported accuracy; a rule with a band flips only when a
    setting crosses the band's edge.

    Parameters
    ----------
    table : list of dict
        Rows with ``hidden_sizes``, ``alpha`` and ``val_accuracy``.
    n_validation : int
        Size of the validation set.

    Returns
    -------
    index : int
        Row of the chosen setting.
    band : float
        The tie band :math:`b`.
    """
    acc = np.array([r["val_accuracy"] for r in table], dtype=np.float64)
    top = float(acc.max())
    band = max(float(np.sqrt(top * (1.0 - top) / n_validation)), 1.0 / n_validation)
    # The comparison allows for rounding in the accuracies (k / n computed as floats).
    tied = np.flatnonzero(acc >= top - band - 1e-12)
    simplest = min(tied, key=lambda i: (sum(table[i]["hidden_sizes"]), table[i]["hidden_sizes"][0],
                                        -table[i]["alpha"]))
    return int(simplest), band


def _fit_many(X, y, members, common, progress, desc):
    """Fit one MLPProbe per (hidden_sizes, alpha, seed); batched for the torch backend."""
    probes = [MLPProbe(h, alpha=a, random_state=s, **common) for h, a, s in members]
    with warnings.catch_warnings():
        # Non-converged fits are expected in a grid (large alpha, tiny max_iter); they are
        # recorded per setting in the validation table instead.
        warnings.simplefilter("ignore", ConvergenceWarning)
        if common["backend"] == "sklearn":
            from tqdm.auto import tqdm

            for p in tqdm(probes, desc=desc, disable=not progress, unit="fit"):
                p.fit(X, y)
            return probes
        from harness.probes._torch_backend import MemberSpec, train_mlps

        # One batched call trains every member; each probe then receives its weights as
        # if it had been fitted alone (same classes_, n_features_in_, fitted attributes).
        classes, codes = np.unique(y, return_inverse=True)
        res = train_mlps(
            X,
            codes,
            max(len(classes), 2),
            [MemberSpec(tuple(h), float(a), int(s)) for h, a, s in members],
            max_iter=common["max_iter"],
            device=common["device"],
            progress=progress,
        )
        for p, r in zip(probes, res):
            p.classes_ = classes
            p.n_features_in_ = X.shape[1]
            p._set_trained(r)
    return probes
