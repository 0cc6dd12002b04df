"""Commands that run a Python command line in each setup the sandbox must hold in
(tests/test_sandbox_setups.py; docs/SANDBOX.md, "Setups"). CI runs as root; each setup
is made from there:

  root            as is
  ordinary user   uid/gid 65534 (setpriv), no capabilities; HOME and a readable copy of
                  the checkout in a fresh folder
  container root  Docker's default capability bounding set and a seccomp filter refusing
                  unshare, setns, mount, pivot_root and namespace flags (container_root.py)
  under /tmp      the package installed (not editable) into a venv under /tmp
  user, no userns an ordinary user where user namespaces are refused (the container
                  filter above, as uid 65534): Landlock and seccomp only

Where the Python installation sits below a folder others cannot enter (pyenv in /root),
the command runs in a mount namespace of its own where that folder is an empty tmpfs
holding only the way to Python: as on a machine where Python is installed for everyone.
"""
from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOBODY = 65534


def closed_ancestor(path: str) -> tuple[str, str] | None:
    """(the first folder above `path` that others cannot enter, its child on the way)."""
    parts = Path(path).resolve().parts
    for i in range(2, len(parts)):
        folder = Path(*parts[:i])
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return str(folder), str(Path(*parts[:i + 1]))
    return None


def expose_python(argv: list[str], scratch: Path) -> list[str]:
    closed = closed_ancestor(sys.base_prefix)
    if closed is None:
        return argv
    folder, child = closed
    keep = scratch / "keep"
    keep.mkdir(exist_ok=True)
    script = (f"mount --bind {shlex.quote(child)} {shlex.quote(str(keep))} && "
              f"mount -t tmpfs -o mode=0755 tmpfs {shlex.quote(folder)} && mkdir -p {shlex.quote(child)} && "
              f"mount --move {shlex.quote(str(keep))} {shlex.quote(child)} && exec \"$@\"")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv]


def command(setup: str, argv: list[str], scratch: Path) -> list[str]:
    """argv (starting with a Python) as run in `setup`."""
    if setup == "root" or setup == "under-tmp":
        return argv
    if setup == "ordinary-user":
        return expose_python(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv], scratch)
    if setup == "container-root":
        return expose_python([sys.executable, str(HERE / "container_root.py"), *argv], scratch)
    if setup == "user-no-userns":
        return expose_python([sys.executable, str(HERE / "container_root.py"), "--user", str(NOBODY), *argv], scratch)
    raise ValueError(setup)
