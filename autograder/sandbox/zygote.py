"""The zygote: a fresh interpreter that imports numpy and the student-side runtime once,
then forks one student process tree per submission (a few milliseconds each instead of
an interpreter start-up). It never imports the reference or any assignment data, so a
forked child holds nothing a student may not see.

Started by the grading process as `python -m autograder.sandbox.zygote FD`, where FD is
a Unix socket on which it receives spawn requests, each carrying the socket of the new
student process and the write end of its output pipe (SCM_RIGHTS).

One submission's processes:

  zygote ── I       forked straight into a new pid namespace, whose pid 1 it is; setsid,
            │       unshare(mount, ipc, uts), joins the zygote's network namespace, mounts
            │       /proc and the scratch into the private root the zygote prepared and
            │       pivots; reads the load request, forks and watches the cells child
            │       (a fresh one after a cell that crashed or ran too long), reaps; when
            │       it dies the kernel kills every process of the submission (the grader
            │       kills it at the end, or on a time-out); it dies with the zygote
            └─ C   the cells child: rlimits, dedicated uid, no_new_privs, Landlock,
                      seccomp, a thread holding the uid's second process slot; then the
                      cells; then the holder (units in forked children)

An ordinary user's zygote first enters a user namespace of its own (uid 0 there, with the
capabilities to create the other namespaces); there it may not return to the host's pid
namespace after an unshare, so a small parent P creates each submission's pid namespace
and forks I into it (zygote ── P ── I ── C). Where no namespace can be made (a
container's root), I and C run on the host, confined by the dedicated uid, Landlock and
seccomp; the zygote ends whatever is left when it ends (limits.end_descendants).
"""
from __future__ import annotations

import fcntl
import gc
import os
import select
import signal
import socket
import sys
import time
import traceback

import numpy  # noqa: F401  (imported once here so that every student process starts warm)
import numpy.random  # noqa: F401  (numpy loads it lazily: ~12 ms in every process that seeds or draws)
import encodings.idna  # noqa: F401  (socket functions load it lazily; where Landlock limits reads it may not be found)

from autograder.codec import decode, recv_message, send_message
from autograder.sandbox import limits, runtime


def become_holder(sock: socket.socket, request: dict, cells: list, pending: list, first: bool,
                  progress_fd: int, box: dict) -> None:
    """A cells child of the init: sets up its own sandbox (every restriction, before any
    student code), runs the pending cells and, once they are done, is the holder: it
    answers the grader's unit requests. Never returns. `first`: the first cells child
    of the submission, which sends the report (and the syntax errors) to the grader."""
    config, report = enter_cells_sandbox(box, sock.fileno(), progress_fd)
    sys.path.insert(0, "")  # the working directory first, as in Jupyter: a module a cell wrote there
    writer = runtime.BoundedWriter()
    sys.stdout = sys.stderr = writer
    runtime.print_within(writer)
    namespace = runtime.new_namespace()
    skip = {int(i) for i in request.get("skip") or []}
    if first:
        send_message(sock, {"op": "ready", "report": report.plain()})
        runtime.send_syntax_errors(sock, cells, skip)
    os.write(progress_fd, b"r")  # the init counts the cells' limits from here
    runtime.install_files(request.get("files") or {})
    runtime.install_helpers(request["helpers"], request.get("helper_code"))
    limits.limit_cell(config)
    runtime.run_cells(sock, cells, pending, namespace, writer, progress_fd, config,
                      careful=bool(request.get("careful")))
    limits.release_process_slot()
    limits.after_commit()
    limits.set_name("rnng-holder")
    send_message(sock, {"op": "loaded", "defined": runtime.defined_names(namespace)})
    serve_units(sock, config, namespace, writer)


def serve_units(sock, config: dict, namespace: dict, writer) -> None:
    """The holder's loop: each unit request runs in a child. Never returns."""
    try:
        while True:
            sock.setblocking(True)  # a unit child may have made the shared socket non-blocking
            request = recv_message(sock)
            op = request.get("op")
            if op == "unit":
                run_unit_in_child(sock, request, namespace, writer, config)
            elif op == "units":
                run_units_in_child(sock, request, namespace, writer, config)
            else:
                break
    except (EOFError, OSError):
        pass
    os._exit(0)


def probe_holder(sock: socket.socket, box: dict) -> None:
    """The probe's student process: the set-up of a cells child, then every check from
    inside, attacks included (limits.verify), and the report. Never returns."""
    try:
        _, report = enter_cells_sandbox(box, sock.fileno(), deep=True)
        send_message(sock, {"op": "ready", "report": report.plain()})
    finally:
        os._exit(0)


def enter_cells_sandbox(box: dict, *keep: int, deep: bool = False) -> tuple[dict, "limits.Report"]:
    """A cells child's set-up, the same for the probe's (which then also tries the attacks,
    `deep`): every restriction, before any student code. Keeps only the fds `keep`."""
    limits.set_name("rnng-cells")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the init's handler (no pid namespace) is not ours
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _close_fds_but(*keep)
    config, report = box["config"], box["report"]
    limits.enter_sandbox(config, box["uid"], report, box["plan"], box["scratch"], box["pid_namespace"],
                         box["private"])
    if config.get("harden", True):
        limits.verify(report, box["plan"], box["uid"], deep=config.get("probe") if deep else None)
    return config, report


def _close_fds_but(*keep: int) -> None:
    """Nothing of the zygote's or the init's but `keep` (and stdio)."""
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def run_cells_from_init(sock: socket.socket, request: dict, box: dict) -> None:
    """The init's part of fork-and-commit: fork a cells child for the pending cells and
    watch its progress pipe; a child that commits holds the notebook's state from then
    on (this returns); one that crashes or runs past a cell's limit is killed, that cell
    reported to the grader and dropped (the first time, replaced by its leading
    definitions, as Jupyter would have run them: `prefix`), and a fresh child runs the
    others (those before it included: their state died with the child). Each failure
    shortens one cell or removes it, so this ends. The init only counts the child's bytes; it decodes nothing of it."""
    cells = [{"label": "preamble", "source": request["preamble"], "syntax_error": "",
              "code": request.get("preamble_code")}] + list(request["cells"])
    pending = runtime.pending_cells(cells, {int(i) for i in request.get("skip") or []})
    cell_timeout = float(request["cell_timeout"])
    first = True
    while True:
        read_fd, write_fd = os.pipe()
        pid = limits.fork()
        if pid == 0:
            try:
                os.close(read_fd)
                become_holder(sock, request, cells, pending, first, write_fd, box)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(1)
        os.close(write_fd)
        try:
            ready, finished, committed = runtime.watch_cells(read_fd, cells, pending, cell_timeout)
        finally:
            os.close(read_fd)
        if committed:
            return
        status, timed_out = runtime.wait_child(pid, 0)
        if not ready or not pending:
            return  # its set-up failed: the grader sees the socket close (a grader failure)
        failed = pending[min(finished, len(pending) - 1)]
        limit = cells[failed].get("timeout") or cell_timeout
        send_message(sock, {"op": "cell", "index": failed, "status": "timeout" if timed_out else "crashed",
                            "error": runtime.exit_description(status, limit, timed_out, box["config"], "cell")})
        if cells[failed].get("prefix") and not cells[failed].get("prefixed"):
            # once: the definitions before its first other statement (that Jupyter would have
            # run before the cell hung or crashed), with the other cells in a fresh child
            cells[failed] = dict(cells[failed], source=cells[failed]["prefix"], code=None, prefixed=True,
                                 timeout=cells[failed].get("prefix_timeout") or cells[failed].get("timeout"))
        else:
            pending = [i for i in pending if i != failed]
        first = False


def run_unit_in_child(sock, request, namespace, writer, config) -> None:
    """One unit in a child of its own, stopped at its CPU limit (`timeout`: CPU seconds,
    read from the child's CPU clock) or at its wall-clock backstop (`wall`). In reference
    mode the child writes a byte for each call it makes to the grading process, and each
    earns it `per_call` more CPU seconds, up to `most` (autograder.budgets): the grader
    bounds the whole by the wall-clock backstop anyway."""
    per_call = float(request.get("per_call") or 0)
    # non-blocking at both ends: a full pipe drops a byte, and the holder reads them all
    # only when the child reaches its limit
    read_fd, write_fd = os.pipe2(os.O_NONBLOCK) if per_call > 0 else (None, None)
    room = int((float(request.get("most") or 0) - float(request.get("timeout") or 0)) / per_call) + 1 \
        if per_call > 0 else 0
    if room > 4096:
        # room for every call it can earn time for (a pipe may start at one page for an
        # ordinary user over pipe-user-pages-soft)
        try:
            fcntl.fcntl(read_fd, fcntl.F_SETPIPE_SZ, min(room, 1 << 20))
        except OSError:
            pass  # at the system's limits: the calls' time is capped anyway
    pid = limits.fork_retry()
    if pid == 0:
        try:
            limits.set_name("rnng-unit")
            if read_fd is not None:
                os.close(read_fd)
            limits.limit_unit(config)
            runtime.run_unit(sock, request, namespace, writer, write_fd)
        finally:
            os._exit(0)
    timeout = float(request.get("timeout") or 0)
    most = float(request.get("most") or timeout)
    deadline = time.monotonic() + float(request.get("wall") or timeout)
    child_fd = runtime.pidfd(pid)
    why = ""
    try:
        if read_fd is not None:
            os.close(write_fd)
            timeout, why = _wait_earning(pid, child_fd, read_fd, timeout, per_call, most, deadline)
        else:
            why = runtime.watch_child(pid, child_fd, timeout, 0.0, deadline)
    finally:
        if child_fd is not None:
            os.close(child_fd)
    if why == "wall":
        timeout = float(request.get("wall") or timeout)
    status, _ = runtime.wait_child(pid, 0)
    timed_out = why in ("cpu", "wall")
    send_message(sock, {"op": "unit_exit", "timed_out": timed_out, "limit": why if timed_out else "",
                        "status": runtime.exit_description(status, timeout, timed_out, config, "unit",
                                                           why if timed_out else "")})


def _wait_earning(pid: int, child_fd: int | None, progress_fd: int, timeout: float, per_call: float,
                  most: float, deadline: float) -> tuple[float, str]:
    """Wait until the unit child ends or reaches a limit, each byte it wrote on the pipe
    adding `per_call` to its CPU limit `timeout`, up to `most`. The bytes are counted
    when the child reaches its limit as it stood (a byte is written before each call, so
    none is missed while the pipe has room: run_unit_in_child sizes it); reading each as
    it came woke this process once per call. Returns the CPU limit it had and "cpu" or
    "wall" if it reached one, else ""."""
    try:
        while True:
            why = runtime.watch_child(pid, child_fd, timeout, 0.0, deadline)
            earned = 0
            while True:
                try:
                    data = os.read(progress_fd, 65536)
                except BlockingIOError:
                    break
                if not data:
                    break
                earned += len(data)
            earned_limit = min(timeout + earned * per_call, most)
            if why == "cpu" and earned_limit > timeout:
                timeout = earned_limit
                continue  # it had earned more than it has used
            return earned_limit, why if why != "ready" else ""
    finally:
        os.close(progress_fd)


def run_units_in_child(sock, request, namespace, writer, config) -> None:
    """Several own-mode units in one child (one fork instead of one per unit). The child
    writes a byte after each unit; each byte starts the next unit's CPU limit (from the
    child's CPU clock then) and wall-clock backstop, so every unit has its own, as in a
    child of its own."""
    units = request["units"]
    timeout = float(request.get("timeout") or 0)
    wall = float(request.get("wall") or timeout)
    # each unit's own limits (autograder.budgets.unit_budget, wall_limit), else the shared ones
    timeouts = [float(t) for t in request.get("timeouts") or []]
    walls = [float(t) for t in request.get("walls") or []]
    read_fd, write_fd = os.pipe()
    pid = limits.fork_retry()
    if pid == 0:
        try:
            limits.set_name("rnng-units")
            os.close(read_fd)
            limits.limit_unit(config, len(units))
            runtime.run_units(sock, request, namespace, writer, write_fd)
        finally:
            os._exit(0)
    os.close(write_fd)
    child_fd = runtime.pidfd(pid)
    finished, why, fd = 0, "", read_fd
    cpu_base, started = 0.0, time.monotonic()
    try:
        while finished < len(units):
            if finished < len(timeouts):
                timeout = timeouts[finished]
            if finished < len(walls):
                wall = walls[finished]
            why = runtime.watch_child(pid, fd, timeout, cpu_base, started + wall)
            if why != "ready":
                break
            if fd == child_fd:
                break  # the child ended after closing its pipe
            data = os.read(read_fd, 64)
            if not data:
                # the child ended, or closed its end: the unit's limits still hold until it ends
                fd = child_fd
                continue
            if data.count(b"+"):
                finished += data.count(b"+")
                cpu_base, started = runtime.child_cpu(pid) or 0.0, time.monotonic()
    finally:
        os.close(read_fd)
        if child_fd is not None:
            os.close(child_fd)
    timed_out = why in ("cpu", "wall")
    if finished >= len(units) and not timed_out:
        # every unit said it is done: the grader need not wait for the child's exit
        send_message(sock, {"op": "units_exit", "finished": finished, "timed_out": False, "status": ""})
        runtime.wait_child(pid, timeout)
        return
    if why == "wall":
        timeout = wall
    status, _ = runtime.wait_child(pid, 0)
    send_message(sock, {"op": "units_exit", "finished": finished, "timed_out": timed_out,
                        "limit": why if timed_out else "",
                        "status": runtime.exit_description(status, timeout, timed_out, config, "unit",
                                                           why if timed_out else "")})


# --- one submission's process tree --------------------------------------------------------

def _stdio(out_fd: int) -> None:
    """stdin reads nothing; stdout and stderr (os.write, C code) go to the grader's pipe."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    if out_fd > 2:
        os.close(out_fd)


def start_init(sock_fd: int, out_fd: int, config: dict, plan: dict, pid_namespace: bool, pid_ns_why: str,
               pid_fd: int) -> None:
    """I, forked by the zygote (as pid 1 of a new pid namespace when there is one): takes
    its outer pid from the zygote, its stdio, the other namespaces, then runs run_init."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # no handler a student process could trigger: as pid 1 of its namespace the init then
    # receives no signal sent from inside it (the cells child restores Python's handler)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limits.set_name("rnng-init")
    limits.die_with_parent()
    outer = int(os.read(pid_fd, 32) or b"0")  # nothing: the zygote died before telling
    os.close(pid_fd)
    if outer <= 1:
        os._exit(1)
    sock = socket.socket(fileno=sock_fd)
    _stdio(out_fd)
    report = limits.Report()
    harden = bool(config.get("harden", True))
    flags = 0
    if harden and plan.get("userns"):
        report.on("user namespace of the grader's own (an ordinary user: the namespaces below without root)")
    elif harden and plan.get("namespaces_error"):
        report.off("namespaces (mount, pid, network, ipc, uts)", plan["namespaces_error"])
    if harden:
        if pid_namespace:
            flags |= limits.CLONE_NEWPID
        else:
            report.off("pid namespace", pid_ns_why)
        shared = limits.use_shared_network(config, plan)
        skip = ("pid namespace",) + (("network namespace",) if shared else ())
        flags |= limits.enter_namespaces(report, config.get("disable") or (), skip=skip)
        if shared:
            flags |= _join_network(plan, report)
    scratch = None if harden and flags & limits.CLONE_NEWNS and plan.get("fs") else limits.host_scratch(plan, outer)
    try:
        send_message(sock, {"op": "spawned", "pid": outer, "pid_namespace": bool(flags & limits.CLONE_NEWPID),
                            "scratch": scratch or ""})  # a host folder the grader removes at the end
    except OSError:
        os._exit(1)
    run_init(sock, config, plan, report, flags, outer, scratch)


def _join_network(plan: dict, report: limits.Report) -> int:
    """The zygote's network namespace (limits.make_network_namespace), else one of the
    submission's own. The flag obtained (reported by run_init)."""
    try:
        limits.setns(plan["netns"], limits.CLONE_NEWNET)
        plan["netns_joined"] = True  # (this process's copy of the plan)
        return limits.CLONE_NEWNET
    except OSError:
        try:
            limits.unshare(limits.CLONE_NEWNET)
            return limits.CLONE_NEWNET
        except OSError as exc:
            report.off("network namespace", exc)
            return 0


def run_init(sock, config: dict, plan: dict, report: limits.Report, flags: int, outer_pid: int,
             scratch: str | None) -> None:
    """I: pid 1 of the submission (when the pid namespace exists). Never returns."""
    try:
        limits.set_name("rnng-init")
        limits.die_with_parent()
        limits.become_subreaper()
        os.setsid()  # a group of its own: without a pid namespace the grader kills this group
        harden = bool(config.get("harden", True))
        pid_namespace = bool(flags & limits.CLONE_NEWPID)
        uid = int(config.get("uid_base", limits.DEFAULTS["uid_base"])) + outer_pid
        private = False
        if harden:
            for flag, name in limits.NAMESPACES:
                if flags & flag:
                    report.on(name + {"mount namespace": " (private mounts)",
                                      "pid namespace": " (all processes die with the submission)",
                                      "network namespace": " (no network: loopback down, no interfaces"
                                      + ("; the zygote's, made once and joined by its submissions one at a "
                                         "time)" if plan.get("netns_joined") else ")"),
                                      "ipc namespace": " (no shared memory with other submissions)",
                                      "uts namespace": ""}[name])
            if flags & limits.CLONE_NEWNS and plan.get("fs"):
                try:
                    limits.build_root(plan, config, uid, report, pid_namespace)
                    scratch, private = plan["fs"]["scratch"], True
                except OSError as exc:
                    report.off("private root file system", exc)
            elif not plan.get("fs"):
                report.off("private root file system", plan.get("fs_error") or "no plan")
            else:
                report.off("private root file system", "no mount namespace")
            if not private:
                if scratch is None:  # the mounts failed half-way: the grader learns no host folder
                    raise RuntimeError("the private root failed after the grader was told there is one")
                if not plan.get("userns") and os.geteuid() == 0 and "uid" not in (config.get("disable") or ()):
                    os.chown(scratch, uid, uid)  # the dedicated uid's; else the grader's own
                report.on(f"fresh scratch working directory {scratch} on the host")
        else:
            report.on(f"fresh scratch working directory {scratch}")
        box = {"config": config, "uid": uid, "report": report, "plan": plan, "scratch": scratch,
               "pid_namespace": pid_namespace, "private": private}
        if not pid_namespace:
            # no namespace ends what a cell forked: the grader asks (SIGTERM, which no student
            # process may send it where Landlock scopes signals) and this init ends them all
            signal.signal(signal.SIGTERM, lambda *_: (limits.end_descendants(), os._exit(0)))
        if config.get("probe"):
            if limits.fork() == 0:
                probe_holder(sock, box)
            # stay until the grader ends the probe (kills this process or closes its end):
            # the holder may report and end before the grader has checked who this process
            # is, and an init that ended at once was gone from /proc by then
            select.select([sock], [], [])
        else:
            try:
                # the grader's load request: read before any process of this submission
                # exists, so nothing a student wrote can be in it
                request = recv_message(sock)
            except (EOFError, OSError):  # a spare the grader discarded
                os._exit(0)
            if request.get("op") == "load":
                run_cells_from_init(sock, request, box)
            del request
        sock.close()
        for fd in (0, 1, 2):
            try:
                os.close(fd)
            except OSError:
                pass
        while True:  # reap the cells children, the holder, and orphans
            try:
                os.wait()
            except InterruptedError:
                continue
            except ChildProcessError:
                break
    except BaseException:  # shown in the grader's output capture of this submission
        traceback.print_exc()
    finally:
        os._exit(0)


def start_in_new_pid_namespace(fds, request: dict, plan: dict, pid_read: int, wanted: bool) -> None:
    """In a user namespace the zygote may not set its children's pid namespace back to
    the host's after unshare, so a small parent P (the zygote's child, whose pid the
    grader holds) unshares it and forks I as pid 1 there; P waits for I, and I dies
    with P (the grader kills P: I gets SIGKILL, and with it the whole namespace)."""
    limits.set_name("rnng-submission")
    limits.die_with_parent()
    why = "disabled by the configuration"
    if wanted:
        try:
            limits.unshare(limits.CLONE_NEWPID)
            why = ""
        except OSError as exc:
            why = str(exc)
    child = limits.fork()
    if child == 0:
        start_init(fds[0], fds[1], request, plan, wanted and not why, why, pid_read)
        os._exit(1)
    for fd in list(fds) + [pid_read]:
        os.close(fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        os.waitpid(child, 0)
    finally:
        os._exit(0)


def sweep_uid(uid: int) -> None:
    """Without a pid namespace: kill every process of a submission's uid (kill(-1) as
    that uid reaches exactly those)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    try:
        os.waitpid(pid, 0)  # (SIGCHLD is ignored: this returns ECHILD once it has ended)
    except ChildProcessError:
        pass


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    limits.set_name("rnng-zygote")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the submissions' init processes are reaped by the kernel
    limits.become_subreaper()  # and so are orphans of a submission without a pid namespace
    why = limits.can_unshare_mounts()
    userns_why = limits.enter_user_namespace() if why else ""
    plan = limits.prepare_zygote(userns=bool(why) and not userns_why)
    if why and userns_why:
        plan["namespaces_error"] = f"{why}; no user namespace either: {userns_why}"
    else:
        plan["netns"] = limits.make_network_namespace()
        limits.prepare_root(plan)
    try:
        namespaces = None if plan["userns"] else limits.PidNamespaces()
    except OSError:
        namespaces = None
    no_pid_namespace = set()  # uids of submissions without one: swept when the zygote ends
    gc.freeze()  # what is imported now stays shared with every forked student process
    try:
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(control, 1 << 16, 2)
            except OSError:
                break
            if not message:
                break
            request = decode(message)
            if request.get("op") == "sweep":
                for fd in fds:
                    os.close(fd)
                uid = int(request["uid"])
                if uid >= limits.MIN_UID_BASE and not plan.get("userns"):
                    sweep_uid(uid)
                    no_pid_namespace.discard(uid)
                control.sendall((0).to_bytes(4, "little"))
                continue
            if len(fds) != 2:
                for fd in fds:
                    os.close(fd)
                control.sendall((0).to_bytes(4, "little"))
                continue
            harden = bool(request.get("harden", True))
            new_namespace, why = False, "disabled by the configuration"
            wanted = harden and "pid namespace" not in (request.get("disable") or ())
            if wanted and not plan["userns"]:
                why = namespaces.before_fork() if namespaces else "no /proc/self/ns/pid"
                new_namespace = not why
            pid_read, pid_write = os.pipe()
            pid = limits.fork()
            if pid == 0:
                try:
                    control.close()
                    os.close(pid_write)
                    if plan["userns"]:
                        start_in_new_pid_namespace(fds, request, plan, pid_read, wanted)
                    else:
                        start_init(fds[0], fds[1], request, plan, new_namespace, why, pid_read)
                except BaseException:
                    traceback.print_exc()
                finally:
                    os._exit(1)
            if new_namespace:
                namespaces.after_fork()  # raises rather than fork the next child into that namespace
            elif harden and not plan.get("userns"):
                no_pid_namespace.add(int(request.get("uid_base", limits.DEFAULTS["uid_base"])) + pid)
            os.close(pid_read)
            os.write(pid_write, str(pid).encode())
            os.close(pid_write)
            for fd in fds:
                os.close(fd)
            control.sendall(pid.to_bytes(4, "little"))
    finally:
        # the grader is gone (or closed us): nothing of any submission stays behind
        for uid in no_pid_namespace:
            if uid >= limits.MIN_UID_BASE:
                sweep_uid(uid)
        limits.end_descendants()  # the inits and whatever was orphaned to us (a subreaper)
        limits.cleanup_zygote(plan)


if __name__ == "__main__":
    main()
