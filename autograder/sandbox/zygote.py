"""The zygote: a fresh interpreter that imports numpy and the student-side runtime once,
then forks one student process per submission (about a millisecond each instead of an
interpreter start-up). It never imports the reference or any assignment data, so a
forked child holds nothing a student may not see.

Started by the grading process as `python -m autograder.sandbox.zygote FD`, where FD is
a Unix socket on which it receives spawn requests, each carrying the socket of the new
student process (SCM_RIGHTS).
"""
from __future__ import annotations

import os
import signal
import socket
import sys

import numpy  # noqa: F401  (imported once here so that every student process starts warm)

from autograder.codec import recv_message, send_message
from autograder.sandbox import limits, runtime


def serve_submission(sock: socket.socket, config: dict) -> None:
    """Body of one student process. Never returns."""
    writer = runtime.BoundedWriter()
    sys.stdout = sys.stderr = writer
    namespace = runtime.new_namespace()
    try:
        while True:
            request = recv_message(sock)
            op = request.get("op")
            if op == "load":
                runtime.install_helpers(request["helpers"])
                cells = [{"label": "preamble", "source": request["preamble"], "syntax_error": ""}] + request["cells"]
                namespace = runtime.execute_cells(sock, cells, namespace, request["cell_timeout"], writer)
                send_message(sock, {"op": "loaded", "defined": runtime.defined_names(namespace)})
            elif op == "unit":
                run_unit_in_child(sock, request, namespace, writer, config)
            else:
                break
    except (EOFError, OSError):
        pass
    os._exit(0)


def run_unit_in_child(sock, request, namespace, writer, config) -> None:
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(go_write)
        os.read(go_read, 1)  # wait until the parent has announced our pid
        os.close(go_read)
        limits.limit_unit(config)
        try:
            runtime.run_unit(sock, request, namespace, writer)
        finally:
            os._exit(0)
    os.close(go_read)
    send_message(sock, {"op": "unit_started", "pid": pid})
    os.write(go_write, b"g")
    os.close(go_write)
    _, status = os.waitpid(pid, 0)
    send_message(sock, {"op": "unit_exit", "status": runtime._exit_description(status, request.get("timeout", 0))})


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # student processes are reaped by the kernel
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 1)
        except OSError:
            break
        if not message or not fds:
            break
        from autograder.codec import decode

        config = decode(message)
        pid = os.fork()
        if pid == 0:
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            student = socket.socket(fileno=fds[0])
            limits.enter_sandbox(config)
            serve_submission(student, config)
        os.close(fds[0])
        control.sendall(pid.to_bytes(4, "little"))


if __name__ == "__main__":
    main()
