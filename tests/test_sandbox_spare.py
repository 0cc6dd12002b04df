"""Batch grading starts the next submission's sandbox while it records the last result
(Grader(prespawn=True), Zygote.prepare_spare). A spare must behave like a fresh one."""
import os
import select
import signal

from conftest import grade_text, reference_text, scores

A = "rnn_step_by_step"


def _alive(pid: int) -> bool:
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        return not select.select([fd], [], [], 0)[0]
    finally:
        os.close(fd)


def test_the_next_submission_takes_the_spare_and_a_dead_spare_is_replaced():
    from autograder.grader import Grader

    with Grader(A, prespawn=True) as grader:
        first = grade_text(grader, reference_text(A))
        assert all(u.score == u.max_score for u in first.units)
        spare = grader.zygote._spare
        assert spare is not None and _alive(spare[2][2])
        second = grade_text(grader, reference_text(A) + "\nprint('second')\n")
        assert scores(second) == scores(first)
        replacement = grader.zygote._spare
        assert replacement is not None and replacement[2][2] != spare[2][2]  # the spare was used
        fd = os.pidfd_open(replacement[2][2])
        os.kill(replacement[2][2], signal.SIGKILL)  # a spare that died meanwhile: a new one takes over
        select.select([fd], [], [], 5.0)
        os.close(fd)
        third = grade_text(grader, reference_text(A))
        assert scores(third) == scores(first) and not third.notes, third.notes
        last = grader.zygote._spare[2][2]
    assert not _alive(last)  # closing the grader ends its spare
