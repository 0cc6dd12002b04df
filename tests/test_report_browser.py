"""The class report and a student page of every assignment, loaded in headless Chromium
(Playwright driving the system's browser) at a laptop's and a phone's width: nothing may
overflow the viewport, every image must load, and the students table (14 units for
time_layers) must fit its box at 1280 px. Set RNNGRADE_SCREENSHOTS=docs/screenshots to
refresh the screenshots kept in the docs."""
import dataclasses
import os
from pathlib import Path

import pytest

from autograder.assignments import assignment_ids, get_assignment
from autograder.batch import result_dict
from autograder.gradebook import Gradebook
from autograder.reference import reference_dir

ROOT = Path(__file__).resolve().parent.parent
VIEWPORTS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
STUDENTS = ["ada", "bartholomew.featherstonehaugh-cholmondeley", "chen", "dmitri", "eve", "fatima",
            "gus", "hiroko", "ines", "jo"]


def release_notebook(assignment: str) -> Path:
    return next((ROOT / "release" / assignment).glob("*.ipynb"))


@pytest.fixture(scope="module")
def reports(tmp_path_factory, graders):
    """Per assignment, a class built from two real gradings (the released notebook, every
    unit a stub, and the reference, full marks): each student takes each unit's result
    from one or the other, so the report shows real explanations and knock-on failures."""
    from autograder.report import write_feedback   # (matplotlib: not at collection, in every worker)

    tmp = tmp_path_factory.mktemp("reports")
    out = {}
    for assignment in assignment_ids():
        grader = graders(assignment)
        stub = grader.grade_file(release_notebook(assignment))
        full = grader.grade_file(reference_dir(assignment) / "solution.py")
        url = f"sqlite:///{tmp / assignment}.db"
        with Gradebook(url) as book:
            for i, student in enumerate(STUDENTS):
                units = [full.units[k] if (i + k) % 3 and i % 4 else stub.units[k] for k in range(len(stub.units))]
                result = dataclasses.replace(full, units=units, notes=list(stub.notes) if i % 4 == 0 else [])
                book.record(assignment=assignment, student=student, source=f"{student}.ipynb",
                            content_hash=f"{i:064d}", fingerprint="test", run_id=None, result=result_dict(result))
            out[assignment] = write_feedback(book, assignment, tmp / f"{assignment}-feedback")
    return out


def test_the_reports_have_every_unit_and_root_causes(reports):
    for assignment, written in reports.items():
        index = written[0].read_text()
        assert index.count('<tr data-student="') == len(STUDENTS)
        for unit in get_assignment(assignment).units:
            assert f'title="{unit.name}"' in index
        assert 'id="reasons-chart"' in index


@pytest.fixture(scope="module")
def tabs(browser):
    """A page per device, shared by the assignments' tests (each new page is a new browser
    context and renderer): every load below replaces the whole document."""
    pages = {device: browser.new_page(viewport=viewport) for device, viewport in VIEWPORTS.items()}
    yield pages
    for page in pages.values():
        page.close()


@pytest.mark.parametrize("assignment", assignment_ids())
def test_pages_fit_the_viewport_and_images_load(reports, tabs, assignment):
    shots = os.environ.get("RNNGRADE_SCREENSHOTS")
    index, student = reports[assignment][0], reports[assignment][2]  # the long-named student
    for device, viewport in VIEWPORTS.items():
        page = tabs[device]
        for kind, path in (("class-report", index), ("student-page", student)):
            page.goto(path.resolve().as_uri())
            page.wait_for_load_state("load")
            overflowing = page.evaluate("""(limit) => [...document.body.querySelectorAll('*')]
                .filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > limit + 0.5)
                .map(e => e.tagName + ' ' + (e.id || e.className) + ' ' + e.textContent.slice(0, 40))""",
                                        viewport["width"])
            assert not overflowing, f"{path.name} at {device}: {overflowing[:5]}"
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{path.name} at {device}: page {width}px wide"
            images = page.evaluate("[...document.images].map(i => [i.id, i.complete && i.naturalWidth > 0])")
            assert all(ok for _, ok in images), images
            if kind == "class-report":
                assert len(images) == 2
                box = page.evaluate("""() => { const b = document.querySelector('.students-box');
                    const first = document.querySelector('#students tbody th.sticky');
                    b.scrollLeft = b.scrollWidth;
                    return [b.scrollWidth, b.clientWidth, b.getBoundingClientRect().right,
                            getComputedStyle(first).position,
                            first.getBoundingClientRect().left - b.getBoundingClientRect().left]; }""")
                scroll_width, client_width, right, position, first_left = box
                assert right <= viewport["width"] and position == "sticky"
                assert first_left < 2, "the student column scrolled away"  # still in view, scrolled right
                if device == "laptop":
                    assert scroll_width <= client_width, f"students table needs {scroll_width}px"
            if shots and assignment == "time_layers":
                Path(shots).mkdir(parents=True, exist_ok=True)
                page.evaluate("() => { for (const b of document.querySelectorAll('.scroll')) b.scrollLeft = 0; }")
                page.screenshot(path=str(Path(shots) / f"{kind}-{device}.png"), full_page=True)
