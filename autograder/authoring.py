"""Build the instructor's source notebooks from the reference: solution code exists once.

For each assignment, `source/<id>/<id>.ipynb` is generated from

* `reference/<id>/solution.py` -- every graded unit's code, extracted with `ast`: a
  function keeps its signature and docstring and has its body wrapped in nbgrader's
  `### BEGIN SOLUTION` / `### END SOLUTION`; a class (family D) goes whole into one cell,
  each graded method's body wrapped, `__init__` and other methods left visible;
* `reference/<id>/explanations.toml` -- the words: an introduction, and per unit a markdown
  explanation of what it computes, its math and its shapes (hand-written);
* the assignment's description (`reference/<id>/assignment.py`) -- the preamble cell,
  the units and their points.

Next to the notebook go the helper modules it imports (copied from `reference/<id>/`)
and the public self-check module `rnngrade_check.py` (autograder/selfcheck/), so that
the source folder runs as it is and `nbgrader generate_assignment` produces a usable
release. Output is deterministic: fixed cell ids, sorted JSON, no timestamps.

    python -m autograder.authoring [ASSIGNMENT ...]      (or: rnngrade source --all)
"""
from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.assignments import assignment_ids, get_assignment
from autograder.course import EXPLANATIONS, source_root as course_source_root
from autograder.reference import reference_dir, solution_source
from autograder.selfcheck import STANDALONE_NAME
from autograder.selfcheck.notebook import public_files

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}

SELFCHECK_CELL = f'''\
# Public self-checks: the published example values, shapes, and a numerical gradient
# check of your backward against your own forward. Passing them is a good sign, not a
# grade: the grader runs hidden cases.
try:
    from {STANDALONE_NAME} import check
except ImportError:
    def check(*units, **options):
        print("{STANDALONE_NAME}.py is not next to this notebook: self-checks skipped.")'''

HOW_TO = """\
**How to work.** Write your code in each graded cell in place of `# YOUR CODE HERE` and
`raise NotImplementedError()`; keep the function names, signatures and return orders.
After each graded cell, run the check cell below it: `check("unit name")` runs the
public checks of that unit and prints what to look at when one fails (a unit that is
not written yet is reported as TODO). The final grade comes from hidden cases."""


class AuthoringError(Exception):
    """The reference, the description and the explanations do not fit together."""


@dataclass
class Block:
    """One graded code cell: a top-level function, or a class with graded methods."""

    name: str                      # function or class name
    kind: str                      # "function" / "class"
    units: list[str]               # the graded units it contains, in notebook order
    source: str                    # the cell's source, solution regions delimited
    regions: dict[str, str] = field(default_factory=dict)  # unit -> its body, as in solution.py


# ------------------------------------------------------------ units and points
def graded_units(assignment_id: str, explanations: dict | None = None) -> list[tuple[str, float]]:
    """(unit, points) in notebook order: the description's units; while a description
    has none yet, the units of the explanations file (1 point each)."""
    assignment = get_assignment(assignment_id)
    if assignment.units:
        return [(u.name, float(u.points)) for u in assignment.units]
    explanations = explanations if explanations is not None else read_explanations(assignment_id)
    return [(name, 1.0) for name in explanations.get("units", {})]


def read_explanations(assignment_id: str) -> dict:
    path = reference_dir(assignment_id) / EXPLANATIONS
    if not path.exists():
        raise AuthoringError(f"{path} is missing: write the unit explanations first")
    return tomllib.loads(path.read_text())


# ------------------------------------------------------------ ast extraction
def _header_end(lines: list[str], node: ast.FunctionDef) -> int:
    """Index (0-based, exclusive) of the first line after the def's signature and docstring."""
    if ast.get_docstring(node, clean=False) is not None:
        return node.body[0].end_lineno
    # no docstring: the signature ends at the first NEWLINE token of the def
    start = node.lineno - 1
    text = "".join(line + "\n" for line in lines[start:node.end_lineno])
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NEWLINE:
            return start + tok.end[0]
    raise AuthoringError(f"cannot find the end of the signature of {node.name}")


def _first_line(node: ast.FunctionDef | ast.ClassDef) -> int:
    """Index (0-based) of a definition's first line, its decorators included."""
    return min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1


def _body_statements(node: ast.FunctionDef) -> list[ast.stmt]:
    return node.body[1:] if ast.get_docstring(node, clean=False) is not None else node.body


def _wrap(lines: list[str], node: ast.FunctionDef) -> tuple[list[str], str]:
    """The def's lines with its body between the solution delimiters, and the body text."""
    start = _first_line(node)
    header_end = _header_end(lines, node)
    statements = _body_statements(node)
    if not statements:
        raise AuthoringError(f"{node.name} has no body to hide")
    body = lines[header_end:node.end_lineno]
    while body and not body[0].strip():
        body = body[1:]
    while body and not body[-1].strip():
        body = body[:-1]
    indent = " " * statements[0].col_offset
    wrapped = lines[start:header_end] + [indent + BEGIN] + body + [indent + END]
    return wrapped, "\n".join(body)


def solution_blocks(assignment_id: str, units: list[str]) -> list[Block]:
    """The graded cells of an assignment, from its reference solution.py, in the order of
    `units` (a class is placed at its first graded method)."""
    text = solution_source(assignment_id)
    lines = text.splitlines()
    tree = ast.parse(text)
    wanted_functions = {u for u in units if "." not in u}
    wanted_methods: dict[str, list[str]] = {}
    for u in units:
        if "." in u:
            cls, method = u.split(".", 1)
            wanted_methods.setdefault(cls, []).append(method)
    preamble = ast.parse(get_assignment(assignment_id).preamble)
    preamble_dump = {ast.dump(stmt) for stmt in preamble.body}
    blocks: dict[str, Block] = {}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if ast.dump(node) not in preamble_dump:
                raise AuthoringError(f"solution.py of {assignment_id} imports `{ast.unparse(node)}`, "
                                     "which is not in the assignment's preamble")
            continue
        if isinstance(node, ast.FunctionDef) and node.name in wanted_functions:
            wrapped, body = _wrap(lines, node)
            blocks[node.name] = Block(node.name, "function", [node.name], "\n".join(wrapped), {node.name: body})
            continue
        if isinstance(node, ast.ClassDef) and node.name in wanted_methods:
            blocks[node.name] = _class_block(lines, node, wanted_methods[node.name])
            continue
        what = getattr(node, "name", type(node).__name__)
        raise AuthoringError(f"solution.py of {assignment_id} defines `{what}` (line {node.lineno}), which is "
                             "not a graded unit: helpers belong in the assignment's helper module")
    missing = [u for u in units if u.split(".")[0] not in blocks]
    if missing:
        raise AuthoringError(f"solution.py of {assignment_id} does not define {', '.join(missing)}")
    ordered, seen = [], set()
    for u in units:
        name = u.split(".")[0]
        if name not in seen:
            seen.add(name)
            ordered.append(blocks[name])
    return ordered


def _class_block(lines: list[str], node: ast.ClassDef, methods: list[str]) -> Block:
    defs = {m.name: m for m in node.body if isinstance(m, ast.FunctionDef)}
    missing = [m for m in methods if m not in defs]
    if missing:
        raise AuthoringError(f"class {node.name} has no method {', '.join(missing)}")
    start = _first_line(node)
    out = list(lines[start:node.end_lineno])
    regions = {}
    # replace bottom-up so that earlier line numbers stay valid
    for method in sorted((defs[m] for m in methods), key=lambda m: m.lineno, reverse=True):
        wrapped, body = _wrap(lines, method)
        first = _first_line(method)
        out[first - start:method.end_lineno - start] = wrapped
        regions[f"{node.name}.{method.name}"] = body
    units = [f"{node.name}.{m}" for m in methods]
    return Block(node.name, "class", units, "\n".join(out), {u: regions[u] for u in units})


def solution_regions(cell_source: str) -> list[str]:
    """The text between the solution delimiters of a cell, region by region."""
    regions, current = [], None
    for line in cell_source.split("\n"):
        if BEGIN in line:
            current = []
        elif END in line:
            regions.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return regions


def reference_bodies(assignment_id: str) -> dict[str, list[ast.stmt]]:
    """unit -> the statements of its body in solution.py (docstring excluded)."""
    tree = ast.parse(solution_source(assignment_id))
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = _body_statements(node)
        elif isinstance(node, ast.ClassDef):
            for m in node.body:
                if isinstance(m, ast.FunctionDef):
                    out[f"{node.name}.{m.name}"] = _body_statements(m)
    return out


# ------------------------------------------------------------ the notebook
def grade_id(name: str) -> str:
    """nbgrader grade ids allow letters, digits, - and _ only ("RNN.forward" -> "RNN_forward")."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _points(p: float) -> str:
    return f"{p:g} point" + ("" if p == 1 else "s")


def _nbgrader(grade_id_: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id_, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _markdown(cell_id: str, text: str, metadata: dict | None = None):
    cell = nbformat.v4.new_markdown_cell(text.strip("\n"), metadata=metadata or {})
    cell.id = cell_id
    return cell


def _code(cell_id: str, text: str, metadata: dict | None = None):
    cell = nbformat.v4.new_code_cell(text.strip("\n"), metadata=metadata or {})
    cell.id = cell_id
    return cell


def check_cell_source(unit: str) -> str:
    """A unit's check cell: a polite public check for the student and, hidden from the
    release, a strict one, so that nbgrader's own autograding of the cell fails when a
    public check fails (nbgrader gives a grade cell its points when it does not raise)."""
    return (f'check("{unit}")\n{BEGIN_HIDDEN}\n'
            f'check("{unit}", strict=True, quiet=True)\n{END_HIDDEN}')


def _unit_text(explanations: dict, unit: str) -> str:
    text = explanations.get("units", {}).get(unit, {}).get("text")
    if not text or not text.strip():
        raise AuthoringError(f"explanations.toml has no [units.\"{unit}\"] text")
    return text.strip()


def build_notebook(assignment_id: str):
    assignment = get_assignment(assignment_id)
    explanations = read_explanations(assignment_id)
    units = graded_units(assignment_id, explanations)
    points = dict(units)
    extra = sorted(set(explanations.get("units", {})) - set(points))
    if extra:
        raise AuthoringError(f"explanations.toml of {assignment_id} explains units that are not graded: "
                             + ", ".join(extra))
    blocks = solution_blocks(assignment_id, [u for u, _ in units])

    title = explanations.get("title") or assignment.title
    total = sum(points.values())
    cells = [
        _markdown("intro", f"# {title}\n\n{explanations.get('intro', '').strip()}\n\n{HOW_TO}\n\n"
                           f"{len(units)} graded units, {_points(total)} in all."),
        _code("preamble", assignment.preamble, _nbgrader("preamble", locked=True)),
        _code("selfcheck", SELFCHECK_CELL, _nbgrader("selfcheck", locked=True)),
    ]
    for block in blocks:
        gid = grade_id(block.name)
        if block.kind == "function":
            unit = block.units[0]
            text = f"## `{unit}` ({_points(points[unit])})\n\n{_unit_text(explanations, unit)}"
        else:
            head = explanations.get("classes", {}).get(block.name, {}).get("text", "").strip()
            parts = [f"## class `{block.name}`", head] if head else [f"## class `{block.name}`"]
            parts.append("Write the bodies of " + ", ".join(f"`{u.split('.', 1)[1]}`" for u in block.units)
                         + "; the constructor and the other methods are given.")
            for unit in block.units:
                parts.append(f"### `{unit}` ({_points(points[unit])})\n\n{_unit_text(explanations, unit)}")
            text = "\n\n".join(parts)
        cells.append(_markdown(f"explain_{gid}", text))
        cells.append(_code(gid, block.source, _nbgrader(gid, solution=True)))
        for unit in block.units:
            cid = f"check_{grade_id(unit)}"
            cells.append(_code(cid, check_cell_source(unit), _nbgrader(cid, grade=True, locked=True,
                                                                      points=points[unit])))
    cells.append(_markdown("all_checks", "## All public checks\n\nRun every unit's public checks at once."))
    cells.append(_code("check_all", "check()"))
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC),
                                                         "language_info": {"name": "python"}})
    nbformat.validate(nb)
    return nb


def notebook_text(nb) -> str:
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def build_source(assignment_id: str, out_root: Path | None = None) -> list[Path]:
    """Write <course>/source/<id>/ (or out_root/<id>/): the notebook, the helper
    modules, rnngrade_check.py."""
    folder = (out_root or course_source_root()) / assignment_id
    folder.mkdir(parents=True, exist_ok=True)
    files = {f"{assignment_id}.ipynb": notebook_text(build_notebook(assignment_id)),
             **public_files(assignment_id)}
    written = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ids = (argv if argv is not None else sys.argv[1:]) or assignment_ids()
    for assignment_id in ids:
        for path in build_source(assignment_id):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

