"""Landlock (Linux >= 5.13): an unprivileged process confines itself and every process it
forks to a set of paths, and (ABI >= 4) to no TCP bind or connect, and (ABI >= 6) to
signals and abstract Unix sockets of its own domain. Used where namespaces are refused
(a container's root, a host that restricts user namespaces) and as a second layer
everywhere else.

A small ctypes layer in the style of limits.py: the maintained PyPI binding (`landlock`
1.0.0.dev5) covers file-system rules only, not the network rules or the scoping this
sandbox relies on.
"""
from __future__ import annotations

import ctypes
import errno
import os

# syscall numbers are the same on every architecture (added after the tables were unified)
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH, RULE_NET_PORT = 1, 2

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR, MAKE_REG = 16, 32, 64, 128, 256
MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 512, 1024, 2048, 4096
REFER, TRUNCATE, IOCTL_DEV = 8192, 16384, 32768  # ABI 2, 3, 5
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2             # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2  # ABI 6

FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the rights a file (not a folder) can hold
READ = EXECUTE | READ_FILE | READ_DIR


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.syscall.restype = ctypes.c_long
except (OSError, AttributeError):
    _libc = None


def abi_version() -> int:
    """0 when Landlock is not available (old kernel, disabled at boot, or refused)."""
    if _libc is None:
        return 0
    version = _libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    return max(int(version), 0)


def _handled_fs(abi: int) -> int:
    rights = (1 << 13) - 1  # EXECUTE .. MAKE_SYM (ABI 1)
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def restrict(read: list[str], write: list[str], devices: list[str], abi: int) -> list[str]:
    """Confine this process (and all it forks from now on): read-only access beneath
    `read`, full access beneath `write`, read and write of the `devices` files; with
    ABI >= 4 no TCP bind or connect; with ABI >= 6 no signal or abstract Unix socket
    outside the domain. Needs no_new_privs. Returns what is in force; raises OSError."""
    if abi <= 0:
        raise OSError(errno.ENOSYS, "Landlock is not available on this kernel")
    handled = _handled_fs(abi)
    attr = _RulesetAttr(handled, (NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 else 0,
                        (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = _libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"landlock_create_ruleset: {os.strerror(code)}")
    try:
        for paths, rights in ((read, READ), (write, handled), (devices, READ_FILE | WRITE_FILE)):
            for path in paths:
                _allow(ruleset, path, rights & handled)
        if _libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"landlock_restrict_self: {os.strerror(code)}")
    finally:
        os.close(ruleset)
    what = [f"Landlock ABI {abi}: reads only beneath the system libraries and the Python installation, "
            "writes only in the scratch directory"]
    if abi >= 4:
        what.append(f"Landlock ABI {abi}: no TCP connect or bind")
    if abi >= 6:
        what.append(f"Landlock ABI {abi}: no signal or abstract Unix socket outside the submission's own processes")
    return what


def _allow(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # not on this machine
    try:
        if not os.path.isdir(path):
            rights &= FILE_RIGHTS
        rule = _PathBeneath(rights, fd)
        if _libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH),
                         ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"landlock_add_rule {path}: {os.strerror(code)}")
    finally:
        os.close(fd)
