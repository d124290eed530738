"""The run's own end: `process-exited`, driven by an observed fact, never by timing.

The samplers see the training process end and hand that fact in
(`AdviceEngine.observe_process_exit`); whether it is a problem depends only on the fact and
the records: a run whose log showed it finishing (an end-of-training summary, or the last
step reaching the planned total) ended as it should.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainmon.advice.base import Hit, RuleInfo
from trainmon.i18n import _

if TYPE_CHECKING:
    from trainmon.sources.samples import ProcessExit
    from trainmon.store import MetricStore


def run_finished(store: MetricStore) -> bool:
    """The log showed the run finishing: a summary record, or the last step == the total."""
    if store.kind_counts.get("summary", 0) > 0:
        return True
    last = store.last_step
    return bool(store.total_steps) and last is not None and last >= (store.total_steps or 0)


class ProcessExited:
    """The training process ended before its log showed the run finishing."""

    info = RuleInfo(
        "process-exited", "lifecycle", "critical", "training process exited before the end"
    )

    def check(self, store: MetricStore, fact: ProcessExit) -> Hit | None:
        if run_finished(store):
            return None
        last = store.last_step
        if last is None:
            title = _("Training process {pid} exited before any record")
        elif store.total_steps:
            title = _("Training process {pid} exited at step {step} of {total}")
        else:
            title = _("Training process {pid} exited at step {step}")
        how = fact.how or _("exit status not known (not trainmon's child, already reaped)")
        clean = fact.status is not None and fact.status.clean
        killed = fact.status is not None and fact.status.sigkill
        advice = (
            _(
                "SIGKILL is what the kernel's OOM killer sends: look for it with `dmesg` or "
                "`journalctl -k`, then lower the batch size or the number of DataLoader workers."
            )
            if killed
            else _("The end of the training output (a traceback, an error) usually says why.")
        )
        evidence = (
            _("{how}; the log shows no end-of-run summary and the last step is below {total}")
            if store.total_steps
            else _("{how}; the log shows no end-of-run summary")
        )
        return Hit(
            "warning" if clean else "critical",
            last,
            title.format(pid=fact.pid, step=last, total=store.total_steps),
            evidence.format(how=how, total=store.total_steps),
            advice + " " + _("Resume from the last checkpoint once the cause is fixed."),
        )
