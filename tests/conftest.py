import os
import sys
import tempfile
from pathlib import Path

import pytest

# jsonschema imports rfc3987_syntax when it is installed (jupyter_events, under nbgrader,
# brings it) to check the "iri" formats, and that module builds a grammar on import: about
# 1.2 s of CPU in each test process, since importing nbformat imports jsonschema's format
# checkers. nbformat's schemas use no "iri" format, so no validation here changes; jsonschema
# skips the checker when the import fails, which this `None` makes it do.
sys.modules.setdefault("rfc3987_syntax", None)

# The course the tests grade: this repository (whatever the working directory).
os.environ.setdefault("RNNGRADE_COURSE", str(Path(__file__).resolve().parent.parent))

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = FIXTURES / "seeds"


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, which a child pytest may not load
def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject's addopts): two workers per core. Much of this suite waits on
    time limits and on other processes (the hostile files in each sandbox setup, nbgrader,
    a browser) rather than computing; with one worker per core a core idled whenever its
    worker waited."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return 2 * cores


def pytest_configure(config):
    """A parallel worker (pytest-xdist's gwN) and everything it starts run on one CPU,
    worker N on the N-th CPU this run may use (round robin), as `rnngrade autograde` pins
    its workers (autograder.batch._pin): a test's grader and student processes hand the
    work to each other constantly, and on one CPU the one woken runs where its waker was.
    The whole suite on 2 cores, in place and back to back: 189 against 202 s of CPU, 104
    against 107 s of wall."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and worker[2:].isdigit() and hasattr(os, "sched_setaffinity"):
        from autograder.batch import pin_to_cpu, usable_cpus

        pin_to_cpu(int(worker[2:]), usable_cpus())


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's, on the controlling process
def pytest_xdist_make_scheduler(config, log):
    """`--dist worksteal` (pyproject's addopts), with the longest tests first on each worker
    (tests/long_first.py)."""
    if config.getvalue("dist") == "worksteal":
        from long_first import make_scheduler

        return make_scheduler(config, log)
    return None


@pytest.fixture(scope="session")
def graders():
    """One Grader per assignment and configuration for the whole session, all on one
    sandbox zygote: a zygote serves any configuration (each student process is spawned
    with its grader's), and each one started cost ~0.15 s of CPU, in every sandbox setup."""
    from autograder.grader import Grader
    from autograder.sandbox.client import Zygote

    made, zygote = {}, []

    def get(assignment_id, check_all_gradients=False, **config):
        key = (assignment_id, check_all_gradients, tuple(sorted(config.items())))
        if key not in made:
            if not zygote:
                zygote.append(Zygote())
            made[key] = Grader(assignment_id, config or None, zygote=zygote[0],
                               check_all_gradients=check_all_gradients)
        return made[key]

    yield get
    for grader in made.values():
        grader.close()
    for shared in zygote:
        shared.close()


@pytest.fixture(scope="module")
def browser():
    """One headless chromium for a module's pages (Playwright driving the system's browser:
    a launch costs about a second of CPU); skipped, saying so, where there is none."""
    import shutil

    path = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
                 if shutil.which(n)), None)
    if path is None:
        pytest.skip("chromium not found (apt-get install -y chromium): the browser tests are skipped")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def grade_text(grader, text: str, suffix: str = ".py"):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"submission{suffix}"
        path.write_text(text)
        return grader.grade_file(path)


def scores(result) -> dict:
    return {u.name: u.score for u in result.units}


def seed_path(prefix: str) -> Path:
    return next(SEEDS.glob(f"{prefix}_*.ipynb"))


def reference_text(assignment_id: str) -> str:
    from autograder.reference import solution_source

    return solution_source(assignment_id)


def mutate(text: str, old: str, new: str) -> str:
    """Replace exactly one occurrence, so a mutant that no longer applies fails loudly."""
    assert text.count(old) == 1, f"mutation target {old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def assert_mutant_caught(grader, assignment_id: str, unit: str, old: str, new: str, words: str):
    """Grade the reference with one edit: `unit` must lose points, say `words` in its
    explanation, and every other unit must keep full marks (fair credit)."""
    result = grade_text(grader, mutate(reference_text(assignment_id), old, new))
    by_name = {u.name: u for u in result.units}
    assert by_name[unit].score < by_name[unit].max_score, f"mutant of {unit} not caught"
    assert words in by_name[unit].explanation, by_name[unit].explanation
    others = [(u.name, u.score, u.explanation) for u in result.units if u.name != unit and u.score < u.max_score]
    assert not others, others
    return result
