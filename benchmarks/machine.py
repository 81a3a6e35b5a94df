"""The machine a measurement was taken on."""

from __future__ import annotations

import os
import platform
import time


def describe() -> dict:
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) // 1024
    except OSError:
        pass
    import torch

    return {"cores": len(os.sched_getaffinity(0)), "model": model, "memory_mib": memory,
            "python": platform.python_version(), "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def summary(m: dict) -> str:
    return f"{m['cores']} cores, {m['model']}, {m['memory_mib'] // 1024} GiB, Python {m['python']}, torch {m['torch']}"
