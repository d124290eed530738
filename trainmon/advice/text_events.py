"""Findings from the failure signatures in the log's text (`trainmon.parsing.text_events`).

One finding per signature, however often it was printed: the event that matters most (the
one after which no record came: the run stopped there), the ranks it came from, its line, and
how often it was seen. A crash and a caught exception print the same traceback; what follows
tells them apart: records after it mean the run went on, so it is a warning, not a critical
finding. A few fp16 overflows are how dynamic loss scaling finds its scale (info); many are a
warning; a scale driven down to its minimum is critical.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from trainmon.advice.base import RuleInfo
from trainmon.i18n import N_, _
from trainmon.parsing import text_events as te
from trainmon.parsing.text_events import TextEvent
from trainmon.records import Finding, Severity

MANY_OVERFLOWS: Final = 10
"""Skipped fp16 steps from which the overflows are a warning rather than normal scaling."""
MIN_LOSS_SCALE: Final = 1.0
"""DeepSpeed's and apex's default minimum: an overflow that reduces the scale to it (or
below) leaves nothing to reduce."""

_RULES: Final[dict[str, tuple[RuleInfo, str, str]]] = {
    # id: (info, headline, remedy)
    te.TRACEBACK: (
        RuleInfo(te.TRACEBACK, "crash", "critical", "a Python traceback (the run's exception)"),
        N_("Python exception"),
        N_(
            "The exception line and the frames above it say where it was raised; fix that, then "
            "resume from the last checkpoint."
        ),
    ),
    te.CUDA_OOM: (
        RuleInfo(te.CUDA_OOM, "crash", "critical", "CUDA / MPS out of memory"),
        N_("GPU out of memory"),
        N_(
            "Lower the per-device batch size (keep the effective batch with gradient "
            "accumulation), turn on gradient checkpointing, train in bf16/fp16, or shorten the "
            "sequences; when reserved memory is far above allocated, "
            "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True reduces fragmentation."
        ),
    ),
    te.NCCL_TIMEOUT: (
        RuleInfo(te.NCCL_TIMEOUT, "crash", "critical", "an NCCL collective timed out (watchdog)"),
        N_("NCCL watchdog timeout"),
        N_(
            "One rank stopped reaching the collective (it crashed, hung, or waits on data or a "
            "slow checkpoint): look for that rank's own error first. Raise the process group's "
            "timeout only for steps that are slow but healthy; NCCL_DEBUG=INFO names the failing "
            "peer."
        ),
    ),
    te.NCCL_ERROR: (
        RuleInfo(te.NCCL_ERROR, "crash", "critical", "an NCCL error"),
        N_("NCCL error"),
        N_(
            "Check that every rank sees its GPU and the network interface (NCCL_DEBUG=INFO, "
            "NCCL_SOCKET_IFNAME), that NCCL and driver versions match on every node, and which "
            "rank failed first."
        ),
    ),
    te.KILLED: (
        RuleInfo(te.KILLED, "crash", "critical", "a process killed (SIGKILL, the OOM killer)"),
        N_("Process killed"),
        N_(
            "SIGKILL usually comes from the kernel's OOM killer (host RAM): check `dmesg` or "
            "`journalctl -k`, then lower the DataLoader workers, prefetching or in-memory "
            "datasets; a scheduler's memory or time limit kills the same way."
        ),
    ),
    te.NAN_ERROR: (
        RuleInfo(te.NAN_ERROR, "numerics", "critical", "an error about NaN/Inf values"),
        N_("NaN/Inf error"),
        N_(
            "Anomaly detection names the first op that produced it: lower the LR, add warm-up or "
            "gradient clipping, check the batch for NaN inputs, and prefer bf16 to fp16."
        ),
    ),
    te.FP16_OVERFLOW: (
        RuleInfo(te.FP16_OVERFLOW, "numerics", "info", "fp16 overflow: optimizer steps skipped"),
        N_("fp16 overflow, steps skipped"),
        N_(
            "A few skipped steps are how dynamic loss scaling finds its scale; many mean the "
            "gradients overflow fp16: lower the LR, clip gradients, or train in bf16."
        ),
    ),
    te.LOSS_SCALE_MIN: (
        RuleInfo(te.LOSS_SCALE_MIN, "numerics", "critical", "fp16 loss scale at its minimum"),
        N_("fp16 loss scale collapsed to its minimum"),
        N_(
            "Every step overflows even at the smallest scale: the loss or gradients are already "
            "non-finite. Lower the LR, clip gradients, check the data, or train in bf16."
        ),
    ),
    te.CHECKPOINT_FAILED: (
        RuleInfo(te.CHECKPOINT_FAILED, "crash", "critical", "a checkpoint could not be saved"),
        N_("Checkpoint save failed"),
        N_(
            "Check free space and quota on the output folder, its permissions and mount; the last "
            "checkpoint written before this one is the one to resume from."
        ),
    ),
    te.DISK_FULL: (
        RuleInfo(te.DISK_FULL, "crash", "critical", "no space left on device"),
        N_("Disk full"),
        N_(
            "Free space where checkpoints and caches go (keep fewer checkpoints: "
            "save_total_limit), or point them to a larger disk; a save cut short leaves a broken "
            "checkpoint: do not resume from it."
        ),
    ),
}

TEXT_EVENT_RULES: Final[tuple[RuleInfo, ...]] = tuple(entry[0] for entry in _RULES.values())
"""The text-event rules, for the rule table, `--mute` and the help."""


def text_findings(events: Sequence[TextEvent], records_now: int) -> list[Finding]:
    """One finding per signature among `events`; `records_now` is how many records the
    parser had emitted in all (records after an event mean the run went on)."""
    by_kind: dict[str, list[TextEvent]] = {}
    for event in events:
        by_kind.setdefault(event.kind, []).append(event)
    overflows = by_kind.get(te.FP16_OVERFLOW, [])
    collapsed = [e for e in overflows if e.value is not None and e.value <= MIN_LOSS_SCALE]
    if collapsed:
        by_kind.setdefault(te.LOSS_SCALE_MIN, []).extend(collapsed)
    findings = [_finding(kind, group, records_now) for kind, group in by_kind.items()]
    return sorted(findings, key=lambda f: (f.step if f.step is not None else -1, f.rule))


def _finding(kind: str, group: list[TextEvent], records_now: int) -> Finding:
    info, headline, remedy = _RULES[kind]
    headline, remedy = _(headline), _(remedy)
    final = [e for e in group if e.records_before >= records_now]
    shown = final[0] if final else group[0]
    severity: Severity = info.severity
    if kind == te.FP16_OVERFLOW:
        severity = "warning" if len(group) >= MANY_OVERFLOWS else "info"
    elif info.family == "crash" or kind == te.NAN_ERROR:
        severity = "critical" if final else "warning"
    ranks = sorted({e.rank for e in group if e.rank is not None})
    who = ""
    if ranks:
        shown_ranks = ", ".join(map(str, ranks[:8])) + (", …" if len(ranks) > 8 else "")
        who = (_("rank {ranks}: ") if len(ranks) == 1 else _("ranks {ranks}: ")).format(
            ranks=shown_ranks
        )
    if kind == te.CUDA_OOM:
        device = next((d for d in ("CUDA", "MPS", "HIP", "XPU") if d in shown.title), "GPU")
        headline = _("{device} out of memory").format(device=device)
    if kind == te.TRACEBACK:
        title = f"{who}{shown.title}"
    else:
        title = f"{who}{headline}" + (f" ({shown.detail})" if shown.detail else "")
    evidence = _("line {line}: {text}").format(line=shown.line_no, text=shown.title)
    if len(group) > 1:
        evidence += "; " + _("seen {count} times (lines {first}–{last})").format(
            count=len(group), first=group[0].line_no, last=group[-1].line_no
        )
    if kind != te.FP16_OVERFLOW:
        after = records_now - shown.records_before
        evidence += "; " + (
            _("no record after it: the run stopped here")
            if after <= 0
            else _("{count} record(s) after it: the run went on (caught and logged)").format(
                count=after
            )
        )

    return Finding(kind, severity, shown.step, title, evidence, remedy)
