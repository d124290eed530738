"""The NVML sampler against a real driver, checked against nvidia-smi (skips without one)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from trainmon.sources.nvml import NvmlGpuSource
from trainmon.sources.samples import GpuSnapshot

pytestmark = pytest.mark.gpu

FIELDS = (
    "index,uuid,memory.used,memory.total,utilization.gpu,temperature.gpu,"
    "power.draw,enforced.power.limit,pstate,clocks.sm"
)
MIB = 1024**2


def _smi() -> list[dict[str, str]]:
    out = subprocess.run(
        ["nvidia-smi", f"--query-gpu={FIELDS}", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    names = FIELDS.split(",")
    rows = [[v.strip() for v in line.split(",")] for line in out.splitlines() if line.strip()]
    return [dict(zip(names, row, strict=True)) for row in rows]


@pytest.fixture(scope="module")
def real() -> Iterator[NvmlGpuSource]:
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
    except pynvml.NVMLError as err:
        pytest.skip(f"NVML cannot initialise here: {err}")
    if shutil.which("nvidia-smi") is None:
        pytest.skip("nvidia-smi not found")
    src = NvmlGpuSource()
    yield src
    src.close()


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"


def _within(value: float | None, readings: list[float | None], slack: float) -> bool:
    """`value` lies within the nvidia-smi readings taken before and after, plus slack."""
    known = [r for r in readings if r is not None]
    if not known:
        return value is None
    if value is None:
        return False
    return min(known) - slack <= value <= max(known) + slack


def test_sampler_matches_nvidia_smi(real: NvmlGpuSource) -> None:
    before = _smi()
    snap: GpuSnapshot = real.sample()
    after = _smi()
    assert snap.status == "ok", snap.reason
    assert len(snap.devices) == len(before)
    for dev, b, a in zip(snap.devices, before, after, strict=True):
        assert dev.index == int(b["index"])
        assert dev.uuid == b["uuid"]
        # Memory via the v2 call: total exact to the MiB, used within 1 % (allocations move).
        assert dev.mem_total_bytes is not None
        assert abs(dev.mem_total_bytes // MIB - int(b["memory.total"])) <= 1
        used = None if dev.mem_used_bytes is None else dev.mem_used_bytes / MIB
        total_mib = float(b["memory.total"])
        assert _within(used, [_num(b["memory.used"]), _num(a["memory.used"])], 0.01 * total_mib)
        util = [_num(b["utilization.gpu"]), _num(a["utilization.gpu"])]
        assert _within(dev.util_pct, util, 1.0)
        temp = [_num(b["temperature.gpu"]), _num(a["temperature.gpu"])]
        assert _within(dev.temperature_c, temp, 1.0)
        power = [_num(b["power.draw"]), _num(a["power.draw"])]
        known = [p for p in power if p is not None]
        assert _within(dev.power_w, power, max(1.0, 0.01 * max(known, default=0.0)))
        limit = _num(b["enforced.power.limit"])
        assert _within(dev.power_limit_w, [limit], 1.0)
        pstate = b["pstate"]
        if pstate.startswith("P"):
            assert dev.pstate == int(pstate[1:])


def test_repeated_samples_stay_ok_and_cheap(real: NvmlGpuSource) -> None:
    calls = real.calls
    for _ in range(3):
        snap = real.sample()
        assert snap.status == "ok"
        assert not any(d.lost for d in snap.devices)
    # 8 cheap calls per GPU, plus at most 3 of the slow tier (power limit, ECC, processes).
    assert real.calls - calls <= 3 * 11 * len(snap.devices)
