"""The Ray executor: every unit a Ray task, dependencies passed as object refs.

All units are submitted at once; a unit's dependencies are passed to its task as object
refs, so Ray starts it only when they are done (and fails it, unexecuted, when one failed).
Ray does the scheduling and the resource accounting: a fine-tuning run, an extraction or a
probe takes one GPU when the cluster has GPUs (probes a quarter of one), every other unit
one CPU core. Every unit runs with the driver's torch thread count (``Context``), so that
Ray and serial give the same numbers on one machine. Without GPUs a fine-tuning
run takes up to 4 cores. Progress of running fine-tuning runs (updates, snapshots) reaches
the driver through a small actor it polls.

Results are artifacts in the shared store; the tasks return only their timings. A killed
driver takes its local runtime with it; the next run finds every finished artifact in the
store and resumes the fine-tuning runs from their checkpoints.
"""

import logging
import os
import time

from .units import execute

logger = logging.getLogger(__name__)

#: Environment the workers need to behave like the driver (offline hub, data, caches).
FORWARDED_ENV = ("HF_HUB_OFFLINE", "HF_HOME", "HF_HUB_CACHE", "TOKENIZERS_PARALLELISM",
                 "HARNESS_DATA_DIR", "HARNESS_STORE",
                 # Task files registered by the driver (harness.data.taskfile).
                 "HARNESS_TASK_FILES")
#: Ceiling of the cores a CPU-only fine-tuning run takes (torch's intra-op threads).
FINETUNE_MAX_CPUS = 4
#: Object store of a local runtime: tasks return a few numbers, arrays go to the store.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 ** 2


def _require_ray():
    try:
        import ray
    except ImportError:
        raise ImportError("The 'ray' executor needs Ray: pip install 'finetune-geometry-harness[ray]' "
                          "(or `make venv`, which installs it); or use --executor serial.") from None
    return ray


#: Seconds to wait for a cluster's address to accept a connection before giving up.
CONNECT_TIMEOUT_S = 5.0


def check_address(address, timeout=CONNECT_TIMEOUT_S):
    """Raise :class:`~harness.exceptions.HarnessError` unless something listens at ``address``.

    ``ray.init`` retries an address where no cluster listens for minutes, printing a
    warning every 30 s; one TCP connection with a timeout answers in seconds. ``"auto"``
    (and ``"local"``) are left to Ray, which fails at once when no runtime is found.
    """
    import socket

    from ..exceptions import HarnessError

    if address in ("auto", "local"):
        return
    host_port = address.split("://", 1)[-1].rstrip("/")
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise HarnessError(f"--address {address}: expected host:port (or ray://host:port, "
                           "or auto).")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as err:
        why = "timed out" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise HarnessError(f"--address {address}: no Ray cluster answers there ({why} after "
                           f"at most {timeout:.0f} s); start one (ray start --head) or leave "
                           "--address out to run a local runtime.") from None


def start(address=None, num_cpus=None):
    """Join ``address`` or start a local runtime sized to the machine; returns ``ray``."""
    ray = _require_ray()
    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    options = dict(include_dashboard=False, configure_logging=False,
                   runtime_env={"env_vars": env})
    if address:
        check_address(address)  # a missing cluster: one line, not minutes of retries
        ray.init(address=address, **options)
    else:
        # "local": a private runtime even if another one runs on this machine.
        ray.init(address="local", num_cpus=num_cpus or os.cpu_count(),
                 object_store_memory=LOCAL_OBJECT_STORE_BYTES, **options)
    return ray


def _resources(unit, n_gpus, n_cpus):
    if unit.kind == "finetune":
        return {"num_gpus": 1, "num_cpus": 1} if n_gpus else {
            "num_cpus": max(1, min(FINETUNE_MAX_CPUS, n_cpus))}
    if unit.device == "gpu" and n_gpus:
        return {"num_gpus": 0.25 if unit.kind == "probe" else 1, "num_cpus": 1}
    return {"num_cpus": 1}


class _Reporter:
    """``report(stage, n)`` of a worker, forwarded to the progress actor.

    The calls do not wait; :meth:`flush` waits for all of them before the task returns, so
    that the driver's last poll, after the last task, sees every count (an actor call still
    in flight when its task ended would otherwise be missed).
    """

    def __init__(self, actor):
        self.actor = actor
        self.sent = []

    def __call__(self, stage, n=1):
        if n:
            self.sent.append(self.actor.advance.remote(stage, n))

    def flush(self):
        import ray

        ray.get(self.sent)
        self.sent = []


def run_ray(context, units, progress, summary, *, address=None, num_cpus=None):
    """Execute ``units`` as Ray tasks; record results and failures in ``summary``."""
    ray = _require_ray()
    started_here = not ray.is_initialized()
    clock = time.perf_counter()
    if started_here:
        start(address, num_cpus)
    summary.startup_s = time.perf_counter() - clock
    try:
        _run(ray, context, units, progress, summary)
    finally:
        if started_here:
            clock = time.perf_counter()
            ray.shutdown()
            summary.startup_s += time.perf_counter() - clock


def _run(ray, context, units, progress, summary):
    @ray.remote(num_cpus=0)
    class Counter:
        """Counts reported by workers since the driver last asked."""

        def __init__(self):
            self.counts = {}

        def advance(self, stage, n):
            self.counts[stage] = self.counts.get(stage, 0) + n

        def take(self):
            counts, self.counts = self.counts, {}
            return counts

    task = ray.remote(_execute_with_deps)
    resources = ray.cluster_resources()
    n_gpus, n_cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    counter = Counter.remote()
    reporter = _Reporter(counter)
    context_ref = ray.put(context)
    refs, by_ref = {}, {}
    for unit in units:
        deps = [refs[d] for d in unit.deps if d in refs]
        ref = task.options(name=unit.id.replace("/", ":"), max_retries=2,
                           **_resources(unit, n_gpus, n_cpus)).remote(
            context_ref, unit, reporter, *deps)
        refs[unit.id] = ref
        by_ref[ref] = unit
    pending, errors = list(by_ref), {}
    while pending:
        done, pending = ray.wait(pending, num_returns=len(pending), timeout=0.5)
        _drain(ray, counter, progress)
        for ref in done:
            unit = by_ref[ref]
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as err:
                cause = getattr(err, "cause", None) or err
                errors[unit.id] = f"{type(cause).__name__}: {cause}"
                continue
            summary.record(unit, result)
            if unit.kind != "finetune":
                progress.advance(unit.stage)
    _drain(ray, counter, progress)
    # Ray fails a task whose dependency failed without running it: that unit is blocked.
    down = set()
    for unit in units:
        if unit.id not in errors:
            continue
        down.add(unit.id)
        if any(dep in down for dep in unit.deps):
            summary.blocked.append(unit.id)
        else:
            summary.failed[unit.id] = errors[unit.id]
            logger.error("unit %s failed: %s", unit.id, errors[unit.id])


def _drain(ray, counter, progress):
    for stage, n in ray.get(counter.take.remote()).items():
        progress.advance(stage, n)


def _execute_with_deps(context, unit, reporter, *deps):
    """A Ray task: ``deps`` are the dependencies' results, passed only to order the work."""
    result = execute(context, unit, reporter)
    reporter.flush()
    return result
