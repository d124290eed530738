"""The sampler through NVIDIA's real binding, loaded against a fake libnvidia-ml.so.1.

The Python fake checks the sampler's logic; this checks what it cannot: symbol names,
ctypes struct layouts, the memory v2 version word and the process-list protocol of the real
`pynvml` module. Skips where no C compiler is found.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent / "fakes" / "libnvml_fake.c"
GIB = 1024**3

PROBE = """\
import json, sys
from trainmon.sources.nvml import NvmlGpuSource
clock = [0.0]
src = NvmlGpuSource(clock=lambda: clock[0])
out = []
for _ in range(int(sys.argv[1])):
    snap = src.sample()
    out.append({
        "status": snap.status, "reason": snap.reason, "driver": snap.driver_version,
        "cuda": snap.cuda_version,
        "devices": [
            {"name": d.name, "uuid": d.uuid, "util": d.util_pct, "used": d.mem_used_bytes,
             "total": d.mem_total_bytes, "temp": d.temperature_c, "power": d.power_w,
             "limit": d.power_limit_w, "fan": d.fan_pct, "sm": d.sm_clock_mhz,
             "pstate": d.pstate, "throttle": d.throttle_reasons, "ecc": d.ecc_errors,
             "lost": d.lost,
             "procs": None if d.processes is None else [
                 [p.pid, p.used_memory_bytes, p.visible] for p in d.processes]}
            for d in snap.devices
        ],
    })
    clock[0] += 2.0
src.close()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def libdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build the fake NVML library")
    out = tmp_path_factory.mktemp("fake_nvml")
    subprocess.run(
        [cc, "-shared", "-fPIC", "-O1", "-o", str(out / "libnvidia-ml.so.1"), str(SOURCE)],
        check=True,
        capture_output=True,
    )
    return out


def probe(libdir: Path, samples: int, **env: str) -> list[dict[str, object]]:
    environ = dict(os.environ)
    environ["LD_LIBRARY_PATH"] = f"{libdir}:{environ.get('LD_LIBRARY_PATH', '')}"
    environ.update(env)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(samples)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=True,
    )
    data: list[dict[str, object]] = json.loads(result.stdout)
    return data


def test_fields_through_the_real_binding(libdir: Path) -> None:
    (snap,) = probe(libdir, 1, FAKE_NVML_PID=str(os.getpid()))
    assert snap["status"] == "ok"
    assert snap["driver"] == "550.54.14" and snap["cuda"] == "12.4"
    devices = snap["devices"]
    assert isinstance(devices, list)
    a, b = devices
    assert a["name"] == "NVIDIA H100 80GB HBM3" and a["uuid"] == "GPU-fake-0"
    assert a["used"] == 60 * GIB  # the v2 call (v1 would add the reserved 0.5 GiB)
    assert a["total"] == 80 * GIB
    assert a["util"] == 80 and b["util"] == 81
    assert a["temp"] == 64 and a["power"] == 612.0 and a["limit"] == 700.0
    assert a["fan"] is None and a["sm"] == 1980 and a["pstate"] == 0
    assert a["throttle"] == ["power cap"]
    assert a["ecc"] == 0 and b["ecc"] is None
    assert a["procs"] == [[os.getpid(), 20 * GIB, True]]
    assert b["procs"] == []


def test_lost_gpu_through_the_real_binding(libdir: Path) -> None:
    snaps = probe(libdir, 4, FAKE_NVML_LOST_AFTER="2")
    lost = [[d["lost"] for d in s["devices"]] for s in snaps]  # type: ignore[attr-defined]
    assert lost == [[False, False], [False, False], [False, True], [False, True]]
    last = snaps[-1]["devices"][0]  # type: ignore[index]
    assert last["util"] == 80  # the other GPU keeps updating


@pytest.mark.parametrize(("code", "words"), [("12", "NVML not found"), ("9", "not loaded")])
def test_init_errors_through_the_real_binding(libdir: Path, code: str, words: str) -> None:
    (snap,) = probe(libdir, 1, FAKE_NVML_INIT=code)
    assert snap["status"] == "unavailable"
    assert words in str(snap["reason"])
