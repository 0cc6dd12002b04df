"""What the kernel enforces on a student process. Python-level restrictions are never
relied on: student code can undo them. Every mechanism that is unavailable on this
machine is reported (a `Report` travels with each student process back to the
grader, which turns the fallbacks into notes), and `client.probe_sandbox()` asks a
probe student process what is really in force. docs/SANDBOX.md describes each protection.

Who applies what (see zygote.py for the process tree):

  zygote (once)    compiles the seccomp programs and the file-system plan; not root
                   (an ordinary user): enters a user namespace of its own first, where
                   it may create the other namespaces
  P  (submission)  (an ordinary user only) unshare(pid namespace), forks I
  I  (pid 1)       setsid, PDEATHSIG, unshare(mount, ipc, uts namespaces), joins the
                   zygote's network namespace (else makes one); private
                   root: pivot_root into a tmpfs holding read-only binds of the system
                   libraries and Python, a fresh /proc, /dev, a scratch /tmp
  cells child C    rlimits, dedicated uid (root: setresuid; in a user namespace: a
                   nested user namespace of its own, all capabilities dropped),
                   no_new_privs, Landlock, seccomp, a thread holding the second
                   RLIMIT_NPROC slot; own process group, CPU limit of a cell; becomes
                   the holder when its cells are done
  unit child       own process group, CPU limit of a unit, seccomp: no fork/vfork/clone

Everything from C down is set before the first line of student code runs, so it is
inherited by every process that runs student code and cannot be lifted.
"""
from __future__ import annotations

import ctypes
import errno
import gc
import os
import platform
import resource
import signal
import site
import socket
import stat
import sys
import tempfile

from autograder.sandbox import landlock

DEFAULTS = {
    "harden": True,          # namespaces, private root, uid, seccomp (False: benchmark/tests only)
    "memory_mb": 512,        # address-space cap per student process (RLIMIT_AS)
    "unit_seconds": 5.0,     # CPU and wall clock per unit and mode, at most (grader and holder both enforce it)
    "unit_cpu_seconds": 5,   # CPU per unit child (RLIMIT_CPU: the kernel's backstop, whole seconds)
    "cell_seconds": 10.0,    # wall clock per notebook cell
    "total_seconds": 120.0,  # whole submission: cells, units, restarts
    "output_file_mb": 16,    # largest file a student process may write (RLIMIT_FSIZE)
    "scratch_mb": 32,        # size of the private scratch tmpfs (the working directory)
    "open_files": 256,       # RLIMIT_NOFILE
    "uid_base": 1 << 30,     # student uid = uid_base + pid of the submission's init process (>= 65536)
    # limits that follow the work (autograder/budgets.py; unit_seconds and cell_seconds are their caps)
    "unit_factor": 30.0,          # a unit may take this many times the reference's CPU on its cases (in CPU)
    "unit_floor_seconds": 0.05,   # ... and never less than this (CPU seconds)
    "unit_wall_factor": 10.0,     # a unit's wall-clock backstop: this many times its CPU limit ...
    "unit_wall_floor_seconds": 1.0,  # ... and never less than this (a unit that waits without computing)
    "cell_floor_seconds": 2.0,    # a cell that only defines things
    "fixed_limits": False,        # True: unit_seconds and cell_seconds as they are
    "slice": True,                # False: run every statement (autograder/slicing.py)
    # tests only: protections to leave out, to exercise the fallbacks ("mount namespace",
    # "pid namespace", "network namespace", "ipc namespace", "uts namespace", "uid", "seccomp")
    "disable": (),
}
MIN_UID_BASE = 65536  # never a system or ordinary user's uid

ENV_KEEP = ("PATH", "LANG", "LC_ALL", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# where the scratch tmpfs is mounted in the private root: /tmp, unless a shown folder (a
# venv, the Python installation) lies under /tmp; then the first free one of the others
SCRATCH_POINTS = ("/tmp", "/scratch", "/rnngrade-scratch")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")

# --- the Linux interface (ctypes: Python 3.11 has no os.unshare, mount or pivot_root) ---

CLONE_NEWNS = 0x00020000
CLONE_THREAD = 0x00010000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACES = ((CLONE_NEWNS, "mount namespace"), (CLONE_NEWPID, "pid namespace"),
              (CLONE_NEWNET, "network namespace"), (CLONE_NEWIPC, "ipc namespace"),
              (CLONE_NEWUTS, "uts namespace"))

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_GET_SECCOMP = 21
PR_SET_SECCOMP = 22
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}

try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    _libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    _libc.unshare.argtypes = [ctypes.c_int]
    _libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
    _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    _libc.syscall.restype = ctypes.c_long
except (OSError, AttributeError):  # not Linux/glibc: every hardening step reports a fallback
    _libc = None


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _need_libc():
    if _libc is None:
        raise OSError(errno.ENOSYS, "no C library interface on this platform")
    return _libc


def unshare(flags: int) -> None:
    if hasattr(os, "unshare"):  # Python 3.12+
        os.unshare(flags)
    else:
        _check(_need_libc().unshare(flags), "unshare")


def setns(fd: int, nstype: int) -> None:
    if hasattr(os, "setns"):  # Python 3.12+
        os.setns(fd, nstype)
    else:
        _check(_need_libc().setns(fd, nstype), "setns")


class PidNamespaces:
    """The zygote's way to start each submission's init as pid 1 of a new pid namespace
    without an intermediate process: unshare(CLONE_NEWPID) puts the zygote's *next*
    child there; setns back to its own namespace right after that fork keeps every
    later child (the next submission's init included) out of it."""

    def __init__(self):
        self.own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)

    def before_fork(self) -> str:
        """'' when the next child will be pid 1 of a new namespace, else why not."""
        try:
            unshare(CLONE_NEWPID)
            return ""
        except OSError as exc:
            return str(exc)

    def after_fork(self) -> None:
        setns(self.own, CLONE_NEWPID)


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def map_user_namespace(inside: int, outside_uid: int, outside_gid: int) -> None:
    """Right after unshare(CLONE_NEWUSER): map one id (all an unprivileged process may map)."""
    try:
        _write("/proc/self/setgroups", "deny")  # required before an unprivileged gid_map
    except FileNotFoundError:
        pass
    _write("/proc/self/uid_map", f"{inside} {outside_uid} 1\n")
    _write("/proc/self/gid_map", f"{inside} {outside_gid} 1\n")


def can_unshare_mounts() -> str:
    """'' when this process may create mount and network namespaces as it is (root with
    CAP_SYS_ADMIN), else why not. Tried in a throw-away child."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            unshare(CLONE_NEWNS | CLONE_NEWNET)
            os.write(write_fd, b"ok")
        except BaseException as exc:
            os.write(write_fd, str(exc).encode()[:300])
        finally:
            os._exit(0)
    os.close(write_fd)
    answer = os.read(read_fd, 400).decode(errors="replace")
    os.close(read_fd)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:  # SIGCHLD ignored: reaped already
        pass
    return "" if answer == "ok" else answer or "the test child died"


def userns_refusal_hint() -> str:
    """Why a host may refuse unprivileged user namespaces, where it says so."""
    hints = []
    for path, bad, text in (
            ("/proc/sys/kernel/unprivileged_userns_clone", "0", "sysctl kernel.unprivileged_userns_clone=1"),
            ("/proc/sys/user/max_user_namespaces", "0", "sysctl user.max_user_namespaces=15000"),
            ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1",
             "AppArmor restricts user namespaces (sysctl kernel.apparmor_restrict_unprivileged_userns=0, "
             "or an AppArmor profile allowing userns for this Python)")):
        try:
            with open(path) as f:
                if f.read().strip() == bad:
                    hints.append(text)
        except OSError:
            pass
    return "; ".join(hints)


def enter_user_namespace() -> str:
    """The zygote of an ordinary user: become uid 0 of a user namespace of its own, with
    the capabilities to create the other namespaces there. '' or why not."""
    uid, gid = os.geteuid(), os.getegid()
    try:
        unshare(CLONE_NEWUSER)
        map_user_namespace(0, uid, gid)
    except OSError as exc:
        hint = userns_refusal_hint()
        return f"{exc}" + (f" ({hint})" if hint else "")
    return ""


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


SYS_CAPGET = {"x86_64": 125, "aarch64": 90, "riscv64": 90, "ppc64le": 183, "s390x": 184}
SYS_CAPSET = {"x86_64": 126, "aarch64": 91, "riscv64": 91, "ppc64le": 184, "s390x": 185}


def drop_capabilities() -> None:
    """No capability left (effective, permitted, inheritable, ambient)."""
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    number = SYS_CAPSET.get(platform.machine())
    if number is None:
        raise OSError(errno.ENOSYS, "capset: unknown architecture")
    _check(0 if _need_libc().syscall(number, ctypes.byref(header), ctypes.byref(data)) == 0 else -1, "capset")


def effective_capabilities() -> int:
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    number = SYS_CAPGET.get(platform.machine())
    if number is None or _need_libc().syscall(number, ctypes.byref(header), ctypes.byref(data)) != 0:
        return -1
    return data[0].effective | (data[1].effective << 32)


def mount(source, target: str, fstype, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    _check(_need_libc().mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def set_name(name: str) -> None:
    """The process's name in ps, top and perf (PR_SET_NAME, 15 bytes): each role of the
    student process tree shows as itself. Best effort."""
    if _libc is not None:
        buffer = ctypes.create_string_buffer(name.encode()[:15])
        _libc.prctl(15, ctypes.addressof(buffer), 0, 0, 0)


def prctl(option: int, arg2: int = 0, arg3: int = 0) -> None:
    _check(_need_libc().prctl(option, arg2, arg3, 0, 0), f"prctl({option})")


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (the zygote, for the init)."""
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:  # no CONFIG_PROC_CHILDREN: scan
        kids = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                            kids.append(int(name))
                except (OSError, ValueError, IndexError):
                    pass
    # zombies count: a killed process whose threads are still exiting shows as one, and
    # its children come back to us only once the last thread is gone
    return kids


def end_descendants(seconds: float = 2.0) -> None:
    """SIGKILL every descendant of this process (a subreaper: orphans, a double-forked
    daemon included, come back to it), pass after pass, until none is left."""
    import time

    me, deadline = os.getpid(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        kids = _children(me)
        if not kids:
            return
        for kid in kids:
            try:
                os.kill(kid, signal.SIGKILL)
            except OSError:
                pass
        while True:  # reap (when SIGCHLD is ignored the kernel does)
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        time.sleep(0.002)


def become_subreaper() -> None:
    try:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
    except OSError:
        pass


# --- what each student process reports back -----------------------------------------

class Report:
    """Protections in force for one student process, and the ones that fell back."""

    def __init__(self):
        self.active: list[str] = []
        self.fallbacks: list[list[str]] = []  # [protection, why it is not in force]

    def on(self, what: str) -> None:
        self.active.append(what)

    def off(self, what: str, why) -> None:
        self.fallbacks.append([what, str(why)[:300]])

    def plain(self) -> dict:
        return {"active": list(self.active), "fallbacks": [list(f) for f in self.fallbacks]}


# --- prepared once in the zygote -----------------------------------------------------

# syscalls no student code needs; all return EPERM (clone3 returns ENOSYS so that libc
# falls back to clone, whose flags a filter can inspect)
BASE_DENY = (
    "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "open_tree", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "swapon", "swapoff", "reboot",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "acct", "bpf",
    "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "open_by_handle_at", "name_to_handle_at", "iopl", "ioperm",
    "quotactl", "syslog", "settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "sethostname",
    "setdomainname", "vhangup", "uselib", "lookup_dcookie", "fanotify_init",
    # no new sockets at all (socketpair of stream sockets stays, see compile_seccomp): the
    # network, and the host's Unix sockets (a database's, a desktop bus, /dev/log), stay
    # closed even where there is no network namespace
    "socket",
    # no System V IPC and no POSIX message queues: without an ipc namespace (a container's
    # root, a host without user namespaces) a segment or queue outlives the submission and
    # is read by the next (the reference's answers carried from one submission to another,
    # gigabytes of host memory pinned)
    "shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl",
    "semget", "semop", "semtimedop", "semctl",
    "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
)
SOCK_TYPE_MASK = 0xF


def compile_seccomp() -> tuple[dict | None, str]:
    """BPF programs built with libseccomp (pyseccomp), exported once and loaded later
    with a single prctl: {"base": ..., "nofork": ...}, or (None, why not)."""
    try:
        import pyseccomp as sc
    except Exception as exc:  # ImportError, or RuntimeError when libseccomp.so is missing
        return None, f"pyseccomp/libseccomp unavailable ({type(exc).__name__}: {exc})"
    try:
        eperm = sc.ERRNO(errno.EPERM)
        base = sc.SyscallFilter(sc.ALLOW)
        base.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)  # 32-bit syscall entry: killed
        for name in BASE_DENY:
            try:
                base.add_rule(eperm, name)
            except (OSError, ValueError, RuntimeError):
                pass  # not a syscall on this architecture
        try:
            base.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
        except (OSError, ValueError, RuntimeError):
            pass
        for flag, _ in NAMESPACES + ((CLONE_NEWUSER, ""), (CLONE_NEWCGROUP, "")):
            base.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
        # socketpair() makes only a connected pair of stream sockets: a datagram (or
        # seqpacket) one can sendto() any Unix socket by its path (a container's root, where
        # the host's files are in sight) or be disconnected and bound to an abstract name
        for kind in range(SOCK_TYPE_MASK + 1):
            if kind != socket.SOCK_STREAM:
                base.add_rule(eperm, "socketpair", sc.Arg(1, sc.MASKED_EQ, SOCK_TYPE_MASK, kind))
        # kill(-1, ...) and kill(-pgid, ...): a student may signal a process, not a crowd
        base.add_rule(eperm, "kill", sc.Arg(0, sc.MASKED_EQ, 0x80000000, 0x80000000))
        nofork = sc.SyscallFilter(sc.ALLOW)
        nofork.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
        for name in ("fork", "vfork"):
            try:
                nofork.add_rule(eperm, name)
            except (OSError, ValueError, RuntimeError):
                pass  # aarch64 has neither
        nofork.add_rule(eperm, "clone")  # no thread either: without a uid of its own, RLIMIT_NPROC cannot stop one
        return {"base": _export(base), "nofork": _export(nofork)}, ""
    except Exception as exc:
        return None, f"libseccomp could not build the filters ({type(exc).__name__}: {exc})"


def _export(flt) -> bytes:
    read_fd, write_fd = os.pipe()
    try:
        with os.fdopen(write_fd, "wb") as out:
            flt.export_bpf(out)
        chunks = []
        while chunk := os.read(read_fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(read_fd)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def load_bpf(program: bytes) -> None:
    """Install a seccomp filter (needs no_new_privs). It stays for the life of the
    process and of every process it forks."""
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _package_dir(name: str) -> str | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return os.path.realpath(list(spec.submodule_search_locations)[0])
    return os.path.realpath(os.path.dirname(spec.origin)) if spec.origin else None


def file_system_plan() -> dict:
    """What the student's private root shows: the system libraries and the Python
    installation, read-only; nothing of the checkout, the reference, /tmp, /root or
    /home. Package folders of the grader are covered when an install put them inside
    a folder that is shown."""
    import numpy  # noqa: F401  (its folder must be shown)

    grader_pkg = os.path.realpath(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    project_root = os.path.dirname(grader_pkg)
    hide = [grader_pkg]
    from autograder.course import reference_root

    course_reference = os.path.realpath(reference_root())  # the course's solutions and hidden cases
    if os.path.isdir(course_reference):
        hide.append(course_reference)
    dirs, links = [], []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            links.append((top, os.readlink(top)))
        elif os.path.isdir(top):
            dirs.append(top)
    python = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    try:
        python.update(site.getsitepackages())
        python.add(site.getusersitepackages())
    except AttributeError:
        pass
    for module in ("numpy", "msgpack"):
        where = _package_dir(module)
        if where:
            python.add(os.path.dirname(where))
    for path in sorted(python):
        path = os.path.abspath(path)
        if not os.path.isdir(path):
            continue
        real = os.path.realpath(path)
        if real != path and os.path.islink(path):
            links.append((path, real))
        dirs.append(real)
    kept: list[str] = []
    for path in sorted(set(dirs), key=len):
        if not any(_inside(path, k) for k in kept) and not any(_inside(path, h) for h in hide):
            kept.append(path)
    files = []
    for name in ("ld.so.cache", "ld.so.conf", "localtime", "passwd", "group", "nsswitch.conf", "hosts"):
        path = os.path.join("/etc", name)
        if os.path.isfile(path):
            files.append((path, os.path.realpath(path)))
    cover = [h for h in hide if any(_inside(h, k) for k in kept)]
    shown = kept + [path for path, _ in links] + [path for path, _ in files]
    scratch = next((p for p in SCRATCH_POINTS if not any(_inside(s, p) or _inside(p, s) for s in shown)), None)
    if scratch is None:
        raise OSError(errno.EEXIST, f"no free scratch mount point among {SCRATCH_POINTS}")
    return {
        "dirs": kept, "links": links, "files": files, "cover": cover, "scratch": scratch,
        # Landlock (no folder can be shown but for a part): what may be read
        "read": _readable(kept, cover) + [real for _, real in files],
        # for the self-check: must not be visible (or be empty: covered); the checkout's
        # root only when it is not itself a shown folder (a non-editable install)
        "hidden": [p for p in [project_root] if not any(_inside(p, k) for k in kept)] + hide,
    }


def _readable(kept: list[str], cover: list[str]) -> list[str]:
    """The shown folders for Landlock, which cannot take a part out of a rule: a folder
    holding a covered one (a grader package installed into site-packages) is replaced
    by its entries, except the covered one."""
    out = []
    for folder in kept:
        todo = [folder]
        while todo:
            path = todo.pop()
            inner = [c for c in cover if _inside(c, path)]
            if not inner:
                out.append(path)
            elif path not in inner:
                try:
                    todo.extend(os.path.join(path, name) for name in os.listdir(path))
                except OSError:
                    pass
    return out


BASE_PREFIX = "rnngrade-sandbox-"  # the zygote's own folder in the host's temporary directory


def prepare_zygote(userns: bool = False) -> dict:
    """Once per zygote, before any fork: everything a student process needs later
    without touching the file system again. One folder of the zygote's own holds the
    mount point of the private roots and, without a private root, each submission's
    scratch folder; the zygote removes it when it ends."""
    plan = {"seccomp": None, "seccomp_error": "", "fs": None, "fs_error": "", "stage": None, "base": None,
            "userns": userns, "landlock": landlock.abi_version(),
            "netns": None,      # the zygote's network namespace (make_network_namespace)
            "prepared": False}  # the private root's fixed part is built (prepare_root)
    plan["seccomp"], plan["seccomp_error"] = compile_seccomp()
    plan["base"] = tempfile.mkdtemp(prefix=f"{BASE_PREFIX}{os.getpid()}-")
    os.chmod(plan["base"], 0o711)  # a student uid may reach its own scratch folder, not list the others
    plan["stage"] = os.path.join(plan["base"], "root")
    os.mkdir(plan["stage"], 0o700)
    try:
        plan["fs"] = file_system_plan()
    except Exception as exc:
        plan["fs_error"] = f"{type(exc).__name__}: {exc}"
    return plan


def host_scratch(plan: dict, outer_pid: int) -> str:
    """A scratch folder on the host (no private root), inside the zygote's folder."""
    path = os.path.join(plan["base"], f"student-{outer_pid}")
    os.mkdir(path, 0o700)
    return path


def cleanup_zygote(plan: dict) -> None:
    if plan.get("prepared"):  # (never remove what the stage's binds show)
        _libc.umount2(plan["stage"].encode(), MNT_DETACH)
    if plan.get("base"):
        remove_tree(plan["base"])


def remove_tree(path: str) -> None:
    """Remove a scratch folder whatever a student did to it: where the student ran as the
    grader's own uid (no user namespaces), a folder it left with mode 0 could not be
    listed, and stayed on the host with what it held. Links are never followed."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)
    if not os.path.lexists(path):
        return
    stack = [path]
    while stack:
        folder = stack.pop()
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                continue
            os.chmod(folder, 0o700)
            stack.extend(e.path for e in os.scandir(folder) if e.is_dir(follow_symlinks=False))
        except OSError:
            pass
    shutil.rmtree(path, ignore_errors=True)


def make_network_namespace() -> int | None:
    """Once per zygote: an empty network namespace (loopback down, no interface), held
    by a file descriptor; each submission's init joins it with setns instead of making
    one of its own (creating and tearing down a network namespace costs the kernel
    about a millisecond). What makes sharing it safe is in docs/SANDBOX.md ("One
    network namespace per zygote"); use_shared_network says when it is used. A child
    makes it (a zygote in a user namespace of its own could not return to the host's
    network namespace after unsharing its own). None when it cannot be made."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            unshare(CLONE_NEWNET)
            os.write(write_fd, b"k")
            os.close(write_fd)
            signal.pause()  # until the zygote has opened the namespace and kills this child
        finally:
            os._exit(0)
    os.close(write_fd)
    try:
        if os.read(read_fd, 1) != b"k":
            return None
        return os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    finally:
        os.close(read_fd)
        os.kill(pid, signal.SIGKILL)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # SIGCHLD ignored: reaped already
            pass


def use_shared_network(config: dict, plan: dict) -> bool:
    """Whether a submission joins the zygote's network namespace (make_network_namespace)
    rather than making one: only with seccomp's ban on socket() in force as well; else
    (seccomp missing or left out) one of its own, as before."""
    disable = config.get("disable") or ()
    return (bool(config.get("harden", True)) and plan.get("netns") is not None and bool(plan.get("seccomp"))
            and not {"network namespace", "seccomp"} & set(disable))


# --- I: namespaces -------------------------------------------------------------------

def enter_namespaces(report: Report, disable=(), skip=()) -> int:
    """unshare what can be unshared; returns the flags obtained. Namespaces in `skip`
    are dealt with elsewhere (the pid namespace: by the zygote, see PidNamespaces)."""
    wanted = 0
    for flag, name in NAMESPACES:
        if name in skip:
            continue
        if name in disable:
            report.off(name, "disabled by the configuration")
        else:
            wanted |= flag
    try:
        unshare(wanted)
        got = wanted
    except OSError:
        got = 0
        for flag, name in NAMESPACES:
            if not wanted & flag:
                continue
            try:
                unshare(flag)
                got |= flag
            except OSError as exc:
                report.off(name, exc)
    return got


# --- I: the private root ---------------------------------------------------------------

# flags of a mount that a user namespace may not clear on a bind of it (statvfs -> mount)
_LOCKED = ((os.ST_NOEXEC, MS_NOEXEC), (os.ST_NOATIME, 1024), (os.ST_NODIRATIME, 2048), (os.ST_RELATIME, 1 << 21))


def _bind_ro(source: str, target: str) -> None:
    mount(source, target, None, MS_BIND)
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
    try:
        mount(None, target, None, flags)
    except PermissionError:  # in a user namespace: keep the flags the host's mount has
        have = os.statvfs(source).f_flag
        mount(None, target, None, flags | sum(ms for st, ms in _LOCKED if have & st))


def _mirror_link(stage: str, path: str, target: str) -> None:
    where = stage + path
    os.makedirs(os.path.dirname(where), exist_ok=True)
    if not os.path.lexists(where):
        os.symlink(target, where)


def _make_dev(stage: str) -> None:
    dev = os.path.join(stage, "dev")
    os.makedirs(dev, exist_ok=True)
    for name, minor in (("null", 3), ("zero", 5), ("full", 7), ("random", 8), ("urandom", 9)):
        path = os.path.join(dev, name)
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
            os.chmod(path, 0o666)
        except PermissionError:  # in a user namespace: the host's device node, bound
            open(path, "w").close()
            mount("/dev/" + name, path, None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, name))


def _stage_tree(plan: dict) -> None:
    """The private root's fixed part, on the stage folder: a tmpfs holding read-only
    binds of the shown folders and files, the links, /dev, and the empty mount points
    of what each submission mounts itself (/proc, the scratch, the old root)."""
    fs, stage = plan["fs"], plan["stage"]
    mount("tmpfs", stage, "tmpfs", MS_NOSUID, "size=4m,nr_inodes=4096,mode=0755")
    for path, target in fs["links"]:
        _mirror_link(stage, path, target)
    for path in fs["dirs"]:
        os.makedirs(stage + path, exist_ok=True)
        _bind_ro(path, stage + path)
    for path, real in fs["files"]:
        where = stage + path
        os.makedirs(os.path.dirname(where), exist_ok=True)
        open(where, "w").close()
        _bind_ro(real, where)
    for path in fs["cover"]:  # grader packages inside a shown folder (non-editable install)
        mount("tmpfs", stage + path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0555")
    _make_dev(stage)
    for point in ("/proc", fs["scratch"], "/.old-root"):
        os.makedirs(stage + point)


def prepare_root(plan: dict) -> str:
    """Once per zygote (root, or root of its own user namespace): the private root's
    fixed part (_stage_tree) built in a mount namespace of the zygote's own, read-only,
    so that each submission's init, whose mount namespace is a copy of the zygote's,
    only mounts its /proc and scratch and pivots (build_root): about twenty mounts
    fewer per submission. '' when done, else why not (each init then builds it all)."""
    if not plan.get("fs"):
        return plan.get("fs_error") or "no plan"
    try:
        unshare(CLONE_NEWNS)
        mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted here reaches the host
        _stage_tree(plan)
        mount(None, plan["stage"], None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
    except OSError as exc:
        try:
            _libc.umount2(plan["stage"].encode(), MNT_DETACH)
        except (AttributeError, OSError):
            pass
        return str(exc)
    plan["prepared"] = True
    return ""


def build_root(plan: dict, config: dict, uid: int, report: Report, pid_namespace: bool) -> None:
    """In the init process (root, in its own mount namespace): pivot into a fresh
    tmpfs root, whose fixed part the zygote prepared (prepare_root) or this builds.
    Raises OSError when the host does not allow it (the caller falls back)."""
    fs, stage, prepared = plan["fs"], plan["stage"], bool(plan.get("prepared"))
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount propagates to the host
    if not prepared:
        _stage_tree(plan)
    try:
        mount("proc", stage + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
        hidepid = True
    except OSError:
        mount("proc", stage + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        hidepid = False
    scratch = fs["scratch"]
    size = int(config.get("scratch_mb", DEFAULTS["scratch_mb"]))
    owner = 0 if plan.get("userns") else uid  # in a user namespace C maps its own uid later
    mount("tmpfs", stage + scratch, "tmpfs", MS_NOSUID | MS_NODEV,
          f"size={size}m,nr_inodes=8192,mode=0700,uid={owner},gid={owner}")
    old = stage + "/.old-root"
    number = SYS_PIVOT_ROOT.get(platform.machine())
    pivoted = False
    if number is not None:
        if _need_libc().syscall(number, stage.encode(), old.encode()) == 0:
            pivoted = True
            os.chdir("/")
            _check(_libc.umount2(b"/.old-root", MNT_DETACH), "umount the old root")
            if not prepared:  # (a prepared root is read-only already: the empty folder stays)
                os.rmdir("/.old-root")
    if not pivoted:
        os.chdir(stage)
        os.chroot(".")
        report.off("pivot_root (the old root is detached)", "pivot_root failed; chroot used instead")
    if not prepared:
        mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
    report.on("private read-only root (system libraries and Python only; checkout, reference, "
              "/tmp, /root, /home not there; layer: mount namespace)")
    report.on(f"scratch working directory {scratch}: empty tmpfs of {size} MiB, the only writable place "
              "(layer: private root)")
    if pid_namespace:
        report.on("own /proc: only the submission's processes" + (" (hidepid=2)" if hidepid else ""))
    elif hidepid:
        report.on("/proc mounted with hidepid=2: only the student uid's processes")
    else:
        report.off("private /proc", "no pid namespace and no hidepid")


# --- C: uid, rlimits, no_new_privs, seccomp ---------------------------------------------

_STATE = {"own_groups": False, "nofork": None, "cell_cpu": None, "unit_cpu": DEFAULTS["unit_cpu_seconds"],
          "nproc": False, "slot": None}


def _set_limit(which, soft, hard=None) -> bool:
    hard = soft if hard is None else hard
    try:
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        resource.setrlimit(which, (soft, hard))
        return True
    except (ValueError, OSError):
        return False


def scrub_environment(scratch: str) -> None:
    for key in list(os.environ):
        if key not in ENV_KEEP:
            del os.environ[key]
    os.environ["HOME"] = os.environ["TMPDIR"] = scratch


def enter_sandbox(config: dict, uid: int, report: Report, plan: dict, scratch: str, pid_namespace: bool,
                  private_root: bool = False) -> None:
    """Applied in each cells child (zygote.become_holder), before any student code runs."""
    harden = bool(config.get("harden", True))
    memory = int(config.get("memory_mb", DEFAULTS["memory_mb"]))
    if _set_limit(resource.RLIMIT_AS, memory * 1024 * 1024):
        report.on(f"address space capped at {memory} MiB per process (RLIMIT_AS)")
    else:
        report.off("memory cap (RLIMIT_AS)", "setrlimit failed")
    _set_limit(resource.RLIMIT_FSIZE, int(config.get("output_file_mb", DEFAULTS["output_file_mb"])) * 1024 * 1024)
    _set_limit(resource.RLIMIT_CORE, 0)
    _set_limit(resource.RLIMIT_NOFILE, int(config.get("open_files", DEFAULTS["open_files"])))
    total = float(config.get("total_seconds", DEFAULTS["total_seconds"]))
    _set_limit(resource.RLIMIT_CPU, int(total) + 30)  # a ceiling for every process of the submission
    _STATE["cell_cpu"] = int(float(config.get("cell_seconds", DEFAULTS["cell_seconds"]))) + 1
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails instead of killing
    scrub_environment(scratch)
    os.chdir(scratch)
    os.umask(0o077)
    _STATE["own_groups"] = pid_namespace  # without one, the grader finds the processes by group
    if not harden:
        return
    disable = config.get("disable") or ()
    dropped = False
    try:
        if "uid" in disable or uid < MIN_UID_BASE:
            raise OSError(errno.EPERM, "disabled by the configuration" if "uid" in disable
                          else f"uid_base below {MIN_UID_BASE}")
        if plan.get("userns"):
            # an ordinary user's zygote maps one uid only: the holder takes a user namespace
            # of its own (its own RLIMIT_NPROC count) and gives up every capability
            unshare(CLONE_NEWUSER)
            map_user_namespace(uid, 0, 0)
            drop_capabilities()
            report.on(f"unprivileged uid {uid} in a user namespace of its own (the grader's uid outside it), "
                      "no capabilities (layer: user namespace)")
        else:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            report.on(f"unprivileged uid {uid}, no groups, no capabilities (layer: dedicated uid)")
        dropped = True
    except OSError as exc:
        report.off("dedicated unprivileged uid", exc)
    # counted per uid (per user namespace): only once this process has a uid of its own;
    # two tasks: the cells child and its slot thread (hold_process_slot), later the holder
    # and the unit child running student code
    if dropped and not plan.get("userns"):
        # the grader's sweep of this uid finds every process: cells and units may have
        # process groups of their own (kill(0) in a unit then reaches only that unit)
        _STATE["own_groups"] = True
    if dropped and _set_limit(resource.RLIMIT_NPROC, 2):
        report.on("RLIMIT_NPROC=2 for that uid: no process or thread can be created while student code runs")
        _STATE["nproc"] = True
    else:
        report.off("RLIMIT_NPROC (no process creation in top-level cells)", "needs a dedicated uid")
    try:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        report.on("no_new_privs")
    except OSError as exc:
        report.off("no_new_privs", exc)
        return
    abi = int(plan.get("landlock") or 0)
    if "landlock" in disable:
        report.off("Landlock", "disabled by the configuration")
    elif not abi:
        report.off("Landlock", "not available on this kernel (Linux >= 5.13 with Landlock enabled at boot)")
    elif not plan.get("fs"):
        report.off("Landlock", plan.get("fs_error") or "no file-system plan")
    else:
        reads = list(plan["fs"]["read"]) + (["/proc"] if private_root and pid_namespace else [])
        try:
            for what in landlock.restrict(reads, [scratch], list(DEVICES), abi):
                report.on(what)
            if abi >= 6:  # no student process can signal the init, which ends them all (zygote.run_init)
                _STATE["own_groups"] = True
        except OSError as exc:
            report.off("Landlock", exc)
    if "seccomp" in disable:
        report.off("seccomp filters", "disabled by the configuration")
    elif plan.get("seccomp"):
        try:
            load_bpf(plan["seccomp"]["base"])
            report.on("seccomp: no exec, no new sockets, no new namespaces, mounts, ptrace or kernel "
                      "administration, no kill(-1) or kill(-group)")
            _STATE["nofork"] = plan["seccomp"]["nofork"]
            report.on("seccomp in every unit child: no fork, vfork or clone (no process, no thread)")
        except OSError as exc:
            if plan.get("netns_joined"):
                # the shared network namespace is safe only with socket() denied
                # (docs/SANDBOX.md): refuse to start rather than run student code there
                raise OSError(f"seccomp could not be loaded in a submission that joined the zygote's "
                              f"network namespace: {exc}") from exc
            report.off("seccomp filters", exc)
    else:
        report.off("seccomp filters", plan.get("seccomp_error") or "not built")
    hold_process_slot()


# --- the second process slot of the student uid while cells run ------------------------

try:
    _threads = ctypes.CDLL(None, use_errno=True)
    _threads.pthread_create.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    _threads.pthread_join.argtypes = [ctypes.c_ulong, ctypes.c_void_p]
    _threads.pthread_attr_setstacksize.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    _SEM_WAIT = ctypes.cast(_threads.sem_wait, ctypes.c_void_p)
except (OSError, AttributeError):
    _threads = None


def hold_process_slot() -> None:
    """RLIMIT_NPROC=2 counts the tasks of the student uid. The cells child is the only
    process of that uid while the cells run (the init, its parent, is not of it): a
    native thread of its own, which does nothing but wait on a semaphore, fills the
    second slot, so a fork or a thread started by a cell gets EAGAIN. It replaces a
    whole process (the first holder, which used to be the cells child's parent) and
    costs far less: no copied page tables, no copy-on-write faults, no address space
    to tear down. Made
    last, after seccomp and Landlock, so it is confined as the child is; all signals are
    blocked in it (a signal a cell raises cannot end its wait). The child releases it
    when it commits (release_process_slot), before the holder forks unit children. Like
    the first holder before it, student code could end it (sem_post) and then fork
    once; what it starts is confined and dies with the submission."""
    if not _STATE["nproc"] or _STATE["slot"] or _threads is None:
        return
    semaphore = ctypes.create_string_buffer(64)  # sem_t: 32 bytes on 64-bit glibc
    attr = ctypes.create_string_buffer(128)      # pthread_attr_t: 56 bytes
    if _threads.sem_init(semaphore, 0, 0) != 0 or _threads.pthread_attr_init(attr) != 0:
        raise OSError(ctypes.get_errno(), "sem_init / pthread_attr_init")
    _threads.pthread_attr_setstacksize(attr, 1 << 16)
    thread = ctypes.c_ulong()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())  # inherited by the thread
    try:
        code = _threads.pthread_create(ctypes.byref(thread), attr, _SEM_WAIT, semaphore)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        _threads.pthread_attr_destroy(attr)
    if code != 0:
        raise OSError(code, f"pthread_create: {os.strerror(code)}")
    _STATE["slot"] = (thread.value, semaphore)


def release_process_slot() -> None:
    """The cells child commits: its thread ends, the slot is the unit children's."""
    slot, _STATE["slot"] = _STATE["slot"], None
    if slot is not None:
        _threads.sem_post(slot[1])
        _threads.pthread_join(slot[0], None)  # (the kernel may count it a moment longer: fork_retry)


def limit_cell(config: dict) -> None:
    """In a cell child, before the cell runs (cheap: two system calls)."""
    if _STATE["own_groups"]:
        os.setpgid(0, 0)  # kill(0, ...) in a cell reaches only the cell
    if _STATE["cell_cpu"]:
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        _set_limit(resource.RLIMIT_CPU, _STATE["cell_cpu"], hard)


def renew_cell_cpu() -> None:
    """Before each further cell run by the same child: a fresh CPU allowance on top of
    what the child has used so far."""
    if _STATE["cell_cpu"]:
        used = resource.getrusage(resource.RUSAGE_SELF)
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = int(used.ru_utime + used.ru_stime) + 1 + _STATE["cell_cpu"]
        _set_limit(resource.RLIMIT_CPU, soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard)


def after_commit() -> None:
    """The cell child became the holder: its CPU soft limit goes back to the ceiling."""
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    _set_limit(resource.RLIMIT_CPU, hard, hard)


def limit_unit(config: dict, units: int = 1) -> None:
    """In each unit child, before the cases of its `units` unit(s) run. The hard CPU
    limit covers all of them (it can never be raised again); renew_unit_cpu gives each
    unit its own soft allowance under it."""
    if _STATE["own_groups"]:
        os.setpgid(0, 0)
    cpu = _STATE["unit_cpu"] = int(config.get("unit_cpu_seconds", DEFAULTS["unit_cpu_seconds"]))
    ceiling = units * (cpu + 1)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    _set_limit(resource.RLIMIT_CPU, cpu, ceiling if hard == resource.RLIM_INFINITY else min(ceiling, hard))
    if _STATE["nofork"]:
        load_bpf(_STATE["nofork"])


def renew_unit_cpu() -> None:
    """Before each unit of a child that runs several: a unit's allowance (limit_unit) more
    than used so far."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    wanted = int(used.ru_utime + used.ru_stime) + 1 + _STATE["unit_cpu"]
    _set_limit(resource.RLIMIT_CPU, wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard)


try:
    _pylibc = ctypes.PyDLL(None, use_errno=True)  # PyDLL: the GIL stays held across the call
    _pylibc.fork.restype = ctypes.c_int
    _pylibc.fork.argtypes = []
except (OSError, AttributeError):
    _pylibc = None


def fork() -> int:
    """fork(2) for the sandbox's own process tree, without CPython's at-fork bookkeeping.

    os.fork() re-seeds `random`, rebuilds `threading`'s state and re-creates the import
    lock in every child: about 200 pages the child would otherwise share with its parent
    are written (copied), ~0.5 ms of CPU per fork, and a submission takes four or five
    forks. None of it is needed here: every process of the tree is single-threaded (the
    GIL stays held across the call, so no other Python thread can run) and ends with
    os._exit (no interpreter shutdown), and none needs a `random` state of its own (the
    state is the zygote's, which runs no student code). Where a thread
    exists after all (student code in a cell, where RLIMIT_NPROC is not in force), the
    ordinary os.fork is used."""
    if _pylibc is None or len(sys._current_frames()) > 1:
        return os.fork()
    pid = _pylibc.fork()
    if pid < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))  # EAGAIN (RLIMIT_NPROC) makes a BlockingIOError
    return pid


def fork_retry(limit_seconds: float = 3.0) -> int:
    """fork, waiting while RLIMIT_NPROC still counts a task that just ended (the slot
    thread of a holder that committed, or a unit child: the kernel uncounts it a
    moment after it is gone)."""
    import time

    delay, deadline = 0.0002, time.monotonic() + limit_seconds
    # Objects that exist now are never scanned by the child's garbage collector: a scan
    # writes to every object's header and so copies every page the child shares with us.
    gc.freeze()
    while True:
        try:
            return fork()
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.02)


# --- self-checks ----------------------------------------------------------------------

def verify(report: Report, plan: dict, uid: int, deep=None) -> None:
    """Check, from inside, what the kernel really enforces; anything claimed above and
    not true here moves to the fallbacks. `deep` (the probe: {"read": [host files],
    "write": [host paths], "port": a TCP port the grader listens on}) also tries the
    attacks; the grader checks on the host what got through (client.probe_sandbox)."""
    claimed = set(report.active)

    def refute(prefix: str, why: str) -> None:
        for item in list(report.active):
            if item.startswith(prefix):
                report.active.remove(item)
                report.off(item, why)

    if any(a.startswith("unprivileged uid") for a in claimed) and (0 in os.getresuid() or os.getuid() != uid):
        refute("unprivileged uid", f"still uid {os.getresuid()}")
    # (prctl, not /proc/self/status: Landlock may leave /proc unreadable)
    if "no_new_privs" in claimed and _need_libc().prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1:
        refute("no_new_privs", "not set")
    if any(a.startswith("seccomp") for a in claimed) and _need_libc().prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2:
        refute("seccomp", "no filter in force")
    if any(a.startswith("unprivileged uid") for a in claimed) and effective_capabilities() != 0:
        refute("unprivileged uid", f"capabilities left: {effective_capabilities():#x}")
    if any(a.startswith("private read-only root") for a in claimed):
        visible = [p for p in plan["fs"]["hidden"] if os.path.isdir(p) and os.listdir(p)]
        if visible:
            refute("private read-only root", f"still visible: {visible}")
    if not deep:
        return
    for what, ok, detail in _deep_checks(deep if isinstance(deep, dict) else {}):
        if ok:
            report.on(f"checked from inside: {what}")
        else:
            report.off(f"checked from inside: {what}", detail)


def _child_try(body) -> str:
    """Run body() in a forked child (with the unit child's limits); its result string."""
    read_fd, write_fd = os.pipe()
    pid = fork_retry()
    if pid == 0:
        try:
            os.close(read_fd)
            try:
                text = body()
            except BaseException as exc:
                text = f"{type(exc).__name__}: {exc}"
            os.write(write_fd, text.encode()[:1000])
        finally:
            os._exit(0)
    os.close(write_fd)
    data = b""
    while chunk := os.read(read_fd, 4096):
        data += chunk
    os.close(read_fd)
    os.waitpid(pid, 0)
    return data.decode(errors="replace")


def _deep_checks(targets: dict) -> list:
    out = []
    port = int(targets.get("port") or 9)

    def unit_fork():
        limit_unit({"unit_cpu_seconds": 5})
        return cell_fork()

    def cell_fork():
        try:
            pid = os.fork()
        except OSError as exc:
            return f"blocked: {exc}"
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        return "FORKED"

    def exec_true():
        try:
            os.execv("/bin/true", ["true"])
        except OSError as exc:
            return f"blocked: {exc}"
        return "EXECUTED"

    def network():
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.settimeout(1)
                s.connect(("127.0.0.1", port))
            return "CONNECTED"
        except ConnectionRefusedError as exc:
            return f"loopback reachable: {exc}"
        except OSError as exc:
            blocked = f"blocked: {exc}"
        # a Unix datagram socket of the grader's host, by its path (the grader looks for
        # what arrived): socketpair() makes no datagram socket, or the path is not in sight
        try:
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        except OSError as exc:
            return f"{blocked}; datagram socketpair: {exc}"
        try:
            a.sendto(b"rnngrade probe", targets.get("unix") or "/nonexistent")
            return "SENT a datagram to the grader's Unix socket"
        except OSError as exc:
            return f"{blocked}; datagram to the host: {exc}"
        finally:
            a.close()
            b.close()

    def sysv_ipc():
        # a segment that outlives the submission where no ipc namespace holds it
        libc = _need_libc()
        ipc_private, ipc_creat, ipc_rmid = 0, 0o1000, 0
        shmid = libc.shmget(ipc_private, 4096, ipc_creat | 0o600)
        if shmid < 0:
            return f"blocked: shmget: {os.strerror(ctypes.get_errno())}"
        libc.shmctl(shmid, ipc_rmid, None)
        return "CREATED a System V shared memory segment"

    def read_outside():
        got = []
        for path in targets.get("read") or ():
            try:
                with open(path, "rb") as f:
                    f.read(16)
                got.append(path)
            except OSError:
                pass
        return f"READ {got}" if got else "blocked"

    def write_outside():
        wrote = []
        for path in list(targets.get("write") or ()) + ["/rnngrade-probe", "/etc/rnngrade-probe",
                                                        "/usr/rnngrade-probe"]:
            try:
                with open(path, "w") as f:
                    f.write("x")
                wrote.append(path)
            except OSError:
                pass
        # inside a private root /tmp may be the scratch itself: the grader looks on the host
        return f"blocked (wrote only {wrote}: the grader checks the host)" if wrote else "blocked"

    def others_visible():
        me = os.getuid()
        seen = []
        try:
            names = os.listdir("/proc")
        except OSError as exc:
            return f"blocked: /proc not readable ({exc})"
        for name in names:
            if name.isdigit():
                try:
                    if os.stat(f"/proc/{name}").st_uid != me:
                        seen.append(name)
                except OSError:
                    pass
        return "blocked" if not seen else f"VISIBLE {seen[:5]}"

    # the probe's process is what a cells child is (its slot thread held): fork right here
    result = cell_fork()
    out.append(("fork in a cell child blocked", result.startswith("blocked"), result))
    release_process_slot()  # as a holder does before its unit children
    for what, body in (("fork in a unit child", unit_fork),
                       ("exec", exec_true), ("network", network), ("System V IPC", sysv_ipc),
                       ("reads of the checkout, the reference and host folders", read_outside),
                       ("writes outside scratch", write_outside),
                       ("other processes in /proc", others_visible)):
        result = _child_try(body)
        out.append((what + " blocked", result.startswith("blocked"), result))
    return out
