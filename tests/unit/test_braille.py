"""The numpy raster: plotext's dots, joined lines, NaN gaps, clipping, markers and overwrite
order, checked by hand on small grids and against plotext itself on random series."""

from __future__ import annotations

import math
import random
import re

import numpy as np
import plotext
import pytest

from trainmon.ui.braille import (
    BLOCKS,
    BRAILLE,
    Cells,
    Trace,
    data_limits,
    line_dots,
    rasterise,
    to_dots,
)

RED, BLUE = (255, 0, 0), (0, 0, 255)


def grid(cells: Cells, width: int, height: int) -> list[str]:
    """The cells as text rows, top row first ('.' where nothing is drawn)."""
    rows = [["."] * width for _ in range(height)]
    for col, row, code in zip(cells.cols, cells.rows, cells.codes, strict=True):
        rows[height - 1 - int(row)][int(col)] = chr(int(code)) if code else "*"
    return ["".join(r) for r in rows]


def test_limits_follow_plotext() -> None:
    assert data_limits([[1.0, 5.0], [math.nan, -2.0]]) == (-2.0, 5.0)
    assert data_limits([[4.0]]) == (2.0, 6.0)
    assert data_limits([[0.0, 0.0]]) == (-1.0, 1.0)
    assert data_limits([[], [math.nan]]) == (-1.0, 1.0)


def test_values_map_to_dots_as_plotext_maps_them() -> None:
    assert to_dots([0.0, 5.0, 10.0], (0.0, 10.0), 8).tolist() == [0.0, 4.0, 7.0]
    assert np.isnan(to_dots([math.nan], (0.0, 1.0), 4)[0])


def test_a_horizontal_line_fills_the_bottom_dots_of_a_row() -> None:
    trace = Trace([0.0, 1.0], [0.0, 0.0], RED)
    cells = rasterise([trace], 3, 1, (0.0, 1.0), (0.0, 1.0))
    assert grid(cells, 3, 1) == ["⣀⣀⣀"]  # dots 7 and 8 of each cell


def test_a_vertical_line_fills_a_column_of_dots() -> None:
    trace = Trace([0.0, 0.0], [0.0, 1.0], RED)
    cells = rasterise([trace], 2, 2, (-1.0, 1.0), (0.0, 1.0))
    assert grid(cells, 2, 2) == [".⡇", ".⡇"]


def test_a_diagonal_is_joined_dot_by_dot() -> None:
    trace = Trace([0.0, 1.0], [0.0, 1.0], RED)
    assert grid(rasterise([trace], 2, 1, (0.0, 1.0), (0.0, 1.0)), 2, 1) == ["⡠⠊"]


def test_line_dots_interpolate_between_points() -> None:
    xs, ys = line_dots(np.array([0.0, 4.0]), np.array([0.0, 2.0]))
    assert sorted(zip(xs.tolist(), ys.tolist(), strict=True)) == [
        (0, 0), (1, 0), (2, 1), (3, 1), (4, 2)
    ]  # fmt: skip


def test_a_nan_breaks_the_line_and_keeps_its_neighbours() -> None:
    joined = Trace([0.0, 1.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0], RED)
    broken = Trace([0.0, 1.0, 2.0, 3.0], [0.0, math.nan, math.nan, 0.0], RED)
    args = (8, 1, (0.0, 3.0), (0.0, 1.0))
    assert grid(rasterise([joined], *args), 8, 1) == ["⣀⣀⣀⣀⣀⣀⣀⣀"]
    assert grid(rasterise([broken], *args), 8, 1) == ["⡀......⢀"]


def test_dots_outside_the_plot_area_are_left_out() -> None:
    trace = Trace([-10.0, 10.0], [0.5, 0.5], RED)
    cells = rasterise([trace], 4, 1, (0.0, 1.0), (0.0, 1.0))
    assert grid(cells, 4, 1) == ["⠒⠒⠒⠒"]  # the middle of the row, clipped at both sides
    far = Trace([5.0], [5.0], RED, "●", lines=False)
    assert len(rasterise([far], 4, 1, (0.0, 1.0), (0.0, 1.0))) == 0


def test_markers_take_one_cell_each_and_the_last_series_owns_a_cell() -> None:
    line = Trace([0.0, 3.0], [0.0, 0.0], RED)
    points = Trace([1.0, 2.0], [0.0, 0.0], BLUE, "●", lines=False)
    cells = rasterise([line, points], 4, 1, (0.0, 3.0), (0.0, 1.0))
    assert grid(cells, 4, 1) == ["⣀**⣀"]
    owners = dict(zip(cells.cols.tolist(), cells.owners.tolist(), strict=True))
    assert owners == {0: 0, 1: 1, 2: 1, 3: 0}


def test_right_axis_series_use_their_own_limits() -> None:
    left = Trace([0.0, 1.0], [0.0, 0.0], RED)
    right = Trace([0.0, 1.0], [100.0, 100.0], BLUE, right=True)
    cells = rasterise([left, right], 2, 2, (0.0, 1.0), (0.0, 1.0), (0.0, 100.0))
    assert grid(cells, 2, 2) == ["⠉⠉", "⣀⣀"]


def test_blocks_are_two_by_two() -> None:
    trace = Trace([0.0, 1.0], [0.0, 1.0], RED, BLOCKS)
    assert grid(rasterise([trace], 2, 1, (0.0, 1.0), (0.0, 1.0)), 2, 1) == ["▄▞"]


def plotext_cells(traces: list[Trace], width: int, height: int) -> list[str]:
    """What plotext itself draws in the plot area for these traces (axes off)."""
    plotext.clf()
    plotext.plotsize(width, height)
    plotext.xaxes(False, False)
    plotext.yaxes(False, False)
    plotext.xticks([])
    plotext.yticks([])
    plotext.theme("clear")
    for trace in traces:
        draw = plotext.plot if trace.lines else plotext.scatter
        draw(list(trace.x), list(trace.y), marker=trace.marker)
    text = re.sub(r"\x1b\[[0-9;]*m", "", plotext.build())
    return [line.replace(" ", ".") for line in text.split("\n")][:height]


@pytest.mark.parametrize("seed", range(6))
def test_random_series_match_plotext(seed: int) -> None:
    rng = random.Random(seed)
    width, height = rng.randint(8, 60), rng.randint(4, 20)
    traces = []
    for marker, lines in ((BLOCKS, True), (BRAILLE, True), ("●", False), (BRAILLE, True)):
        n = rng.randint(1, 120)
        xs = sorted(rng.uniform(0, 1000) for _ in range(n))
        ys = [rng.gauss(0, 1) * rng.choice((1, 10, 1e-4)) for _ in range(n)]
        traces.append(Trace(xs, ys, RED, marker, lines))
    expected = plotext_cells(traces, width, height)
    xlim = data_limits(t.x for t in traces)
    ylim = data_limits(t.y for t in traces)
    cells = rasterise(traces, width, height, xlim, ylim)
    drawn = [
        row.replace("*", "●") for row in grid(cells, width, height)
    ]  # plotext prints the marker itself
    assert drawn == expected
