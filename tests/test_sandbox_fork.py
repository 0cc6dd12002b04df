"""limits.fork: the sandbox's own fork(2), without CPython's at-fork bookkeeping.

Each test runs in a child of its own: a pytest-xdist worker has more than one thread
(limits.fork then takes os.fork), and a fork that returned twice inside the worker itself
would make a second pytest worker. Everything forked here ends with os._exit."""
import os
import resource
import sys
import threading

import pytest

from autograder.sandbox import limits


def _in_child(body) -> int:
    """Run body() in an ordinary, single-threaded child; its exit status (0: body
    returned True). Any process body forks ends here too."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if body() else 1
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_fork_makes_a_child_that_runs_on_and_exits():
    def body():
        assert len(sys._current_frames()) == 1  # the raw fork's case
        read_fd, write_fd = os.pipe()
        pid = limits.fork()
        if pid == 0:
            os.write(write_fd, str(os.getpid()).encode())
            os._exit(7)
        os.close(write_fd)
        said = os.read(read_fd, 32)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 7 and int(said) == pid != os.getpid()
    assert _in_child(body) == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to take a uid of its own")
def test_a_fork_refused_by_rlimit_nproc_is_blocking_io_error_which_fork_retry_waits_out():
    def body():
        os.setresuid(2**30 - 7, 2**30 - 7, 2**30 - 7)
        resource.setrlimit(resource.RLIMIT_NPROC, (1, 1))  # this process is that uid's one
        try:
            limits.fork()
        except BlockingIOError:
            return True
        return False
    assert _in_child(body) == 0


def test_with_a_second_thread_the_ordinary_os_fork_is_used():
    class Refuse:
        def fork(self):
            raise AssertionError("the raw fork was used")

    def body():
        limits._pylibc = Refuse()
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        thread.start()
        try:
            pid = limits.fork()  # two threads: os.fork
            if pid == 0:
                os._exit(3)
            if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 3:
                return False
        finally:
            stop.set()
            thread.join()
        try:
            limits.fork()  # one thread: the raw fork
        except AssertionError:
            return True
        return False
    assert _in_child(body) == 0
