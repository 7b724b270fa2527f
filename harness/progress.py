"""Progress a person can follow: one live line per stage, plain log lines off a terminal.

``harness verify`` runs for minutes (tiny tier) to hours (paper tier). :class:`StageProgress`
keeps one line per stage (fine-tuning updates, snapshot extraction, DirectProbe, distances,
probes, claim cells) with the count done, the elapsed time and an ETA:

* on a terminal, one live tqdm bar per stage;
* elsewhere (CI, ``nohup``, a log file), one plain line when a stage starts, at most one
  every ``log_every`` seconds while it runs, and one when it ends; nothing is redrawn.

A unit that reports nothing while it runs (a probe grid: tens of minutes at paper scale)
runs inside :meth:`StageProgress.working`, which says what is running and for how long,
so that a long unit is not taken for a hang.

Work running elsewhere (Ray workers) reports through the same ``advance`` calls; see
:mod:`harness.executor`.
"""

import sys
import threading
import time
from contextlib import contextmanager

from tqdm.auto import tqdm

#: Display order and units of the stages (a stage not listed is shown after them).
STAGES = {
    "fine-tune": "upd",
    "extract": "snap",
    "directprobe": "run",
    "distances": "unit",
    "probes": "probe",
    "claims": "cell",
}


def _clock(seconds):
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class StageProgress:
    """Counts per stage, rendered as tqdm bars on a TTY and as log lines otherwise.

    Parameters
    ----------
    stream : file, default=sys.stderr
    live : bool or None
        Force the tqdm bars on (True) or the log lines (False); None = bars on a TTY.
    log_every : float, default=60
        Seconds between two log lines of one stage off a terminal.
    enabled : bool, default=True
        False shows nothing (library use, tests).
    """

    def __init__(self, stream=None, *, live=None, log_every=60.0, enabled=True):
        self.stream = stream or sys.stderr
        self.live = (hasattr(self.stream, "isatty") and self.stream.isatty()) if live is None \
            else live
        self.log_every = log_every
        self.enabled = enabled
        self.totals, self.done, self.started, self._logged, self._bars = {}, {}, {}, {}, {}

    def add_total(self, stage, n):
        """Announce ``n`` more units of work in ``stage``."""
        if n <= 0:
            return
        self.totals[stage] = self.totals.get(stage, 0) + n
        self.done.setdefault(stage, 0)
        bar = self._bar(stage)
        if bar is not None:
            bar.total = self.totals[stage]
            bar.refresh()

    def advance(self, stage, n=1):
        """``n`` units of ``stage`` are done."""
        if n <= 0:
            return
        now = time.monotonic()
        # The clock and the rate start at the stage's first report (which may carry work
        # done before, e.g. a resumed run's updates).
        self.started.setdefault(stage, (now, self.done.get(stage, 0) + n))
        self.done[stage] = self.done.get(stage, 0) + n
        bar = self._bar(stage)
        if bar is not None:
            bar.update(n)
        elif self.enabled and (self.done[stage] >= self.totals.get(stage, 0)
                               or now - self._logged.get(stage, 0) >= self.log_every):
            self._logged[stage] = now
            self.write(self.line(stage))

    def set_done(self, stage, n):
        """Set the count of ``stage`` (for reports that send absolute numbers)."""
        self.advance(stage, n - self.done.get(stage, 0))

    @contextmanager
    def working(self, stage, what):
        """While a unit of ``stage`` runs in this process, say so: off a terminal, a line
        every ``log_every`` seconds (``[stage] done/total ...; on WHAT for M:SS``); on a
        terminal, the stage's bar shows ``on WHAT for M:SS``, redrawn every second."""
        if not self.enabled:
            yield
            return
        stop, started = threading.Event(), time.monotonic()

        def running():
            return f"on {what} for {_clock(time.monotonic() - started)}"

        def beat():
            while not stop.wait(1.0 if self.live else self.log_every):
                bar = self._bar(stage)
                if bar is not None:
                    bar.set_postfix_str(running())
                else:
                    self.write(f"{self.line(stage)}; {running()}")

        thread = threading.Thread(target=beat, name="progress-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            bar = self._bar(stage)
            if bar is not None:
                bar.set_postfix_str("")

    def line(self, stage):
        """``stage  done/total unit  elapsed, ETA`` (the log form of a bar)."""
        done, total = self.done.get(stage, 0), self.totals.get(stage, 0)
        since, done_then = self.started.get(stage, (time.monotonic(), 0))
        elapsed = time.monotonic() - since
        eta = ""
        if done >= total:
            eta = ", done"
        elif done > done_then and elapsed > 0:
            eta = f", ETA {_clock(elapsed / (done - done_then) * (total - done))}"
        return (f"[{stage}] {done}/{total} {STAGES.get(stage, 'unit')} "
                f"({_clock(elapsed)} elapsed{eta})")

    def write(self, text):
        """Print a line without breaking the live bars."""
        if not self.enabled:
            return
        if self.live:
            tqdm.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self):
        for bar in self._bars.values():
            bar.close()
        self._bars = {}

    def _bar(self, stage):
        if not (self.enabled and self.live):
            return None
        if stage not in self._bars:
            order = list(STAGES) + sorted(set(self.totals) - set(STAGES))
            self._bars[stage] = tqdm(total=self.totals.get(stage, 0), desc=f"{stage:>11}",
                                     unit=STAGES.get(stage, "unit"), file=self.stream,
                                     position=order.index(stage), leave=True,
                                     dynamic_ncols=True, mininterval=0.5)
        return self._bars[stage]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
