import tempfile
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = FIXTURES / "seeds"


@pytest.fixture(scope="session")
def graders():
    """One Grader (and one sandbox zygote) per assignment for the whole session."""
    from autograder.grader import Grader

    made = {}

    def get(assignment_id, **config):
        key = (assignment_id, tuple(sorted(config.items())))
        if key not in made:
            made[key] = Grader(assignment_id, config or None)
        return made[key]

    yield get
    for grader in made.values():
        grader.close()


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
