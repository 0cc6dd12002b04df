"""The suite's longest tests start first, spread over the parallel workers.

pytest-xdist's `worksteal` hands each worker a contiguous share of the tests in file order,
and an idle worker later steals from the end of another's queue, never a test that is
running. The sandbox setups' child pytests (30-60 s each, mostly waiting on limits) sat in
one worker's share and ran there one after another, so that worker alone ended the run
minutes after the others. Here each worker's share starts with its part of the long tests
(the longest first, each to the least-loaded worker); the other tests follow in file order
and are balanced by stealing as before.
"""
from __future__ import annotations

# node id prefix -> rough wall seconds on an idle machine. The tests a prefix matches run on
# one worker, one after another (a module fixture they share is then made once).
# tests/test_long_first.py checks that every prefix still matches a test.
LONG = {
    "tests/test_sandbox_setups.py::test_every_hostile_test_passes_in_each_setup[adversarial-ordinary-user]": 18,
    "tests/test_sandbox_setups.py::test_every_hostile_test_passes_in_each_setup[adversarial-container-root]": 18,
    "tests/test_sandbox_setups.py::test_every_hostile_test_passes_in_each_setup[adversarial-under-tmp]": 18,
    "tests/test_sandbox_setups.py::test_every_hostile_test_passes_in_each_setup[adversarial-user-no-userns]": 18,
    "tests/test_sandbox_setups.py::test_every_hostile_test_passes_in_each_setup[harden-ordinary-user]": 11,
    "tests/test_sandbox_setups.py::test_every_hostile_test_passes_in_each_setup[harden-container-root]": 11,
    "tests/test_sandbox_setups.py::test_every_hostile_test_passes_in_each_setup[harden-under-tmp]": 11,
    "tests/test_sandbox_setups.py::test_every_hostile_test_passes_in_each_setup[harden-user-no-userns]": 11,
    "tests/test_batch.py::test_resume_after_sigkill_then_idempotent_force_and_changed_file": 20,
    "tests/test_source_release.py::test_nbgrader_generate_assignment_accepts_the_source": 6,
    # whole files whose module fixtures cost seconds (a class graded, a gradebook server, a
    # browser, the reports): split between workers, each worker made them again
    "tests/test_course.py::": 20,
    "tests/test_gradebook_db.py::": 20,
    "tests/test_report_browser.py::": 12,
    "tests/test_exports_feedback.py::": 6,
    "tests/test_reference_mutations.py::": 10,
}


def long_groups(collection) -> list[tuple[float, list[int]]]:
    """(seconds, indices into `collection`) for each prefix of LONG that matches, longest first."""
    groups = []
    for prefix, seconds in LONG.items():
        indices = [i for i, nodeid in enumerate(collection) if nodeid.startswith(prefix)]
        if indices:
            groups.append((seconds, indices))
    return sorted(groups, key=lambda group: -group[0])


def ordered(collection, workers: int) -> list[int]:
    """The test indices in the order worksteal's first hand-out splits into `workers`
    contiguous shares (share k: len(rest) // (workers - k) of what is left), each share
    starting with the long tests given to it."""
    groups = long_groups(collection)
    load, firsts = [0.0] * workers, [[] for _ in range(workers)]
    for seconds, indices in groups:
        k = min(range(workers), key=load.__getitem__)
        firsts[k] += indices
        load[k] += seconds
    taken = {i for _, indices in groups for i in indices}
    rest = [i for i in range(len(collection)) if i not in taken]
    order, left = [], len(collection)
    for k in range(workers):
        share = left // (workers - k)
        others = max(0, share - len(firsts[k]))
        order += firsts[k] + rest[:others]
        rest = rest[others:]
        left -= len(firsts[k]) + others
    return order + rest


def make_scheduler(config, log):
    from xdist.scheduler import WorkStealingScheduling

    class LongFirstScheduling(WorkStealingScheduling):
        def schedule(self) -> None:
            # WorkStealingScheduling.schedule with the first hand-out's order changed
            assert self.collection_is_completed
            if self.collection is not None:
                self.check_schedule()
                return
            if not self._check_nodes_have_same_collection():
                self.log("**Different tests collected, aborting run**")
                return
            self.collection = next(iter(self.node2collection.values()))
            self.pending[:] = ordered(self.collection, len(self.nodes))
            if self.collection:
                self.check_schedule()

    return LongFirstScheduling(config, log)
