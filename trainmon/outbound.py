"""Everything that leaves trainmon besides the screen: alerts to `--notify` URLs and metrics
on `--serve-metrics`, driven by whoever owns the runs (the dashboard, `trainmon serve`).

`update` is called on that owner's thread with every run's state; it decides the alerts
(`AlertWatch`), queues them for the notifier's thread and publishes the runs' metrics for
the exporter's HTTP thread. Nothing here blocks: sends and scrapes happen on their threads.
"""

from __future__ import annotations

from collections.abc import Sequence

from trainmon.alert_options import AlertOptions
from trainmon.alerts import AlertWatch
from trainmon.exporter import MetricsExporter, RunMetricsCache
from trainmon.notify import Delivery, Notifier, apprise_sender, notify_status
from trainmon.run import Run
from trainmon.sources.samples import ProcessExit

RunState = tuple[str, Run, "ProcessExit | None"]
"""(label, run, the end of its training process if seen)."""


class Outbound:
    """The notifier and the exporter that the options asked for (either may be absent)."""

    def __init__(
        self,
        options: AlertOptions,
        *,
        notifier: Notifier | None = None,
        exporter: MetricsExporter | None = None,
    ) -> None:
        self.options = options
        self.notifier = notifier
        if notifier is None and options.notify:
            self.notifier = Notifier(apprise_sender(options.notify))
        self.exporter = exporter
        if exporter is None and options.serve_metrics is not None:
            self.exporter = MetricsExporter(*options.serve_metrics)
        self.watch = AlertWatch(options.notify_on, options.stall_after_s)
        self._metrics = RunMetricsCache()
        self._last_delivery: Delivery | None = None

    def start(self) -> None:
        """Listen and start sending; OSError when the metrics address cannot be bound."""
        if self.exporter is not None:
            self.exporter.start()
        if self.notifier is not None:
            self.notifier.start()

    def update(self, runs: Sequence[RunState], now_s: float) -> None:
        """Alerts that are new since the last call go out; the metrics are republished."""
        labels = [label for label, _run, _ended in runs]
        if len(set(labels)) < len(labels):  # two logs of one name: their paths tell them apart
            runs = [
                (label if labels.count(label) == 1 else run.path, run, ended)
                for label, run, ended in runs
            ]
        if self.notifier is not None:
            for label, run, ended in runs:
                for alert in self.watch.check(label, run, now_s, ended):
                    self.notifier.post(alert)
        if self.exporter is not None:
            self.exporter.publish(
                tuple(
                    self._metrics.metrics(label, run, moving=ended is None)
                    for label, run, ended in runs
                )
            )

    def new_failure(self) -> str:
        """The status line's note when a send failed since the last call ("" otherwise)."""
        if self.notifier is None:
            return ""
        last = self.notifier.last
        if last is self._last_delivery:
            return ""
        self._last_delivery = last
        return notify_status(self.notifier) if last is not None and not last.ok else ""

    def close(self) -> None:
        """Send what is queued (briefly), stop listening."""
        if self.notifier is not None:
            self.notifier.stop()
        if self.exporter is not None:
            self.exporter.close()
