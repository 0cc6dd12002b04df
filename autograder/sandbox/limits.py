"""What the kernel enforces on a student process. Python-level restrictions are never
relied on: student code can undo them. Every mechanism that is unavailable on this
machine is reported in `active_protections()` so the grader can say so loudly.
"""
from __future__ import annotations

import os
import resource
import tempfile

DEFAULTS = {
    "memory_mb": 768,        # address-space cap per student process
    "unit_cpu_seconds": 10,  # CPU cap per unit child (the wall clock is enforced by the grader)
    "output_file_mb": 16,    # largest file a student process may write
}


def _set_limit(which, value) -> None:
    try:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass


def enter_sandbox(config: dict) -> None:
    """Applied once in a fresh student process, before any student code runs."""
    os.setsid()  # own process group: the grader kills the whole group at the end
    scratch = tempfile.mkdtemp(prefix="rnngrade-student-")
    os.chdir(scratch)
    for key in list(os.environ):
        if key not in ("PATH", "LANG", "LC_ALL", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            del os.environ[key]
    os.environ["HOME"] = scratch
    # stdout/stderr of the process go nowhere; printed output is captured by the runtime
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    memory = int(config.get("memory_mb", DEFAULTS["memory_mb"])) * 1024 * 1024
    _set_limit(resource.RLIMIT_AS, memory)
    _set_limit(resource.RLIMIT_FSIZE, int(config.get("output_file_mb", DEFAULTS["output_file_mb"])) * 1024 * 1024)
    _set_limit(resource.RLIMIT_CORE, 0)


def limit_unit(config: dict) -> None:
    """Applied in each unit child (cheap: two system calls)."""
    cpu = int(config.get("unit_cpu_seconds", DEFAULTS["unit_cpu_seconds"]))
    _set_limit(resource.RLIMIT_CPU, cpu)


def active_protections() -> list[str]:
    return ["own process group per submission", "address-space limit (RLIMIT_AS)", "CPU limit per unit (RLIMIT_CPU)",
            "file-size limit (RLIMIT_FSIZE)", "scrubbed environment", "fresh working directory",
            "wall-clock limits per cell and unit"]
