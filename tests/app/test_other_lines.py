"""Lines without metrics ("other lines") are mentioned only where they mean something: before
any record, or piling up after the records stopped; a healthy log's progress bars are not."""

from __future__ import annotations

from trainmon.run import Run
from trainmon.ui.runs import OTHER_LINES_SHOWN, RunView, run_views


def view() -> RunView:
    return run_views(["train.log"], None, lambda path: Run(path))[0]


def test_before_any_record_every_other_line_counts() -> None:
    assert view().other_lines(0, 12) == 12


def test_a_healthy_logs_progress_bars_are_not_mentioned() -> None:
    v = view()
    for records in range(1, 200):  # 40 progress-bar lines per record, as tqdm redraws
        assert v.other_lines(records, 40 * records) == 0
    assert v.other_lines(199, 40 * 199 + 150) == 0  # within the usual share since the last


def test_lines_piling_up_after_the_records_stopped_are_counted_from_the_last_record() -> None:
    v = view()
    v.other_lines(50, 100)  # 2 other lines per record so far
    assert v.other_lines(50, 100 + OTHER_LINES_SHOWN + 1) == OTHER_LINES_SHOWN + 1
    assert v.other_lines(51, 400) == 0  # a record came: counted from it again
