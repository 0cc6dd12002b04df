"""Stage 1: a submission file -> the ordered cells of Python source it would run.

Cells are read the way IPython reads them (magics and shell escapes become calls on
`get_ipython()`, which the sandbox answers with no-ops; leading indentation is
stripped). A piece of source that does not parse is split at its column-0 `def`,
`class` and import boundaries so that a syntax error costs only the definition it is in.
"""
from __future__ import annotations

import ast
import functools
import io
import json
import marshal
import os
import re
import tokenize
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

# Bounds on what is read before any sandbox applies: parsing runs in the grading process.
MAX_FILE_BYTES = 32 * 1024 * 1024   # a notebook with its outputs (plots) and attachments
MAX_CODE_CHARS = 256 * 1024         # Python source over all cells: a full solution has 10-15 kB
MAX_CELLS = 10_000                  # cells, statements and fragments, after splitting
MAX_PIECES = 200                    # fragments one unparsable cell is cut into; the rest stays one piece

PY_CELL_MARKER = re.compile(r"^# ?(%%|In\[[ 0-9]*\]:)")
TOP_LEVEL_BOUNDARY = re.compile(r"^(def |class |async def |import |from \S+ import |@)")
# any line that may start a top-level statement: not indented, not a comment, not the
# continuation of a compound statement or of a bracket
STATEMENT_START = re.compile(r"^(?!(?:else|elif|except|finally|case)\b)[^\s#)\]}]")


class SubmissionError(Exception):
    """The file cannot be read as a submission at all (a verdict, not a crash)."""


@dataclass(frozen=True)
class Cell:
    label: str          # where it came from, as a student finds it: "cell defining rnn_forward",
                        # "cell starting `x = 1`", "cell defining f, lines 10-24", "lines 3-9" (.py)
    source: str         # Python source, IPython-transformed
    syntax_error: str = ""  # non-empty: the piece does not parse; it is reported, not run


def warm_transformer() -> None:
    """Load IPython's transformer now (~0.013 s of CPU: see _transformer_manager), e.g. before
    worker processes are forked (grader.preload), rather than in each worker."""
    _ipython_transform("%matplotlib inline\n")


@functools.lru_cache(maxsize=None)
def _transformer_manager():
    """IPython's TransformerManager class. Its module needs nothing of IPython, but
    importing it the usual way runs IPython's __init__ first, which imports the terminal,
    the debugger and prompt_toolkit: 0.24 s of CPU in the command's start-up (and in every
    process that reads a notebook). So the module's file is loaded on its own, under a
    name of ours; if that fails (another IPython layout), the usual import."""
    import importlib.util

    try:
        package = importlib.util.find_spec("IPython")  # finds the folder; runs nothing of it
        if package is not None and package.submodule_search_locations:
            path = os.path.join(list(package.submodule_search_locations)[0], "core", "inputtransformer2.py")
            spec = importlib.util.spec_from_file_location("_rnngrade_ipython_inputtransformer2", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.TransformerManager
    except Exception:
        pass
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager


def _ipython_transform(source: str) -> str:
    """IPython's rewriting of magics, shell escapes and stray indentation."""
    TransformerManager = _transformer_manager()

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # the transformer itself choked: leave the text for the parser to judge
        return source


# Values computed from a cell's source (parse verdicts, compiled code, labels, syntax
# trees). Computing them is most of the reading time, and the cells a notebook is handed
# out with (imports, test cells) come back unchanged from every student of a class.
_PARSE_CACHE_CHARS = 16_384   # longer sources are never kept
_PARSE_CACHE_SIZE = 8192      # hashes of sources seen once, per cache (cleared when full)
_ENTRY_CHARS = 64             # what an entry costs beyond its source, in characters of the budget


class _SourceCache:
    """Values by source: the last `recent` are kept (one submission's stages use a cell's
    value more than once), and one whose source comes again after it left them (a cell
    other students hand in too: imports, test cells, the hand-out's code, common
    variants) is kept for good, least recently used first out within `chars` characters
    of source (each entry charged _ENTRY_CHARS more) and `entries` entries. A student's
    own cells seldom get there, so its memory is flat over a class and bounded."""

    def __init__(self, recent: int, chars: int, entries: int = 2048):
        self.recent: OrderedDict = OrderedDict()
        self.kept: OrderedDict = OrderedDict()   # key -> (value, characters charged)
        self.seen: set[int] = set()              # hashes of keys met once
        self.recent_size, self.chars, self.entries, self.kept_chars = recent, chars, entries, 0

    def get(self, key):
        entry = self.kept.get(key)
        if entry is not None:
            self.kept.move_to_end(key)
            return entry[0]
        return self.recent.get(key)

    def put(self, key, source: str, value) -> None:
        if len(source) > _PARSE_CACHE_CHARS:
            return
        self.recent[key] = value
        if len(self.recent) > self.recent_size:
            self.recent.popitem(last=False)
        mark = hash(key)
        if mark not in self.seen:
            if len(self.seen) >= _PARSE_CACHE_SIZE:
                self.seen.clear()
            self.seen.add(mark)
            return
        if key not in self.kept:
            charged = len(source) + _ENTRY_CHARS
            self.kept[key] = (value, charged)
            self.kept_chars += charged
            while self.kept_chars > self.chars or len(self.kept) > self.entries:
                _, (_, chars) = self.kept.popitem(last=False)
                self.kept_chars -= chars


_PARSE_CACHE = _SourceCache(recent=128, chars=200_000)   # source -> (verdict, code object or None)
_CODE_CACHE = _SourceCache(recent=128, chars=300_000)    # (source, label) -> marshalled code, as the sandbox runs it


def _compile(source: str) -> tuple:
    cached = _PARSE_CACHE.get(source)
    if cached is not None:
        return cached
    try:
        try:
            # the syntax tree the slice reads next: a cell's text is parsed once
            tree = parse_tree(source)
        except (RecursionError, MemoryError):
            tree = None  # nested deeper than the tree's objects allow: the text is compiled itself
        # compiled too, not only parsed: `return` outside a function is only caught here
        result = ("", compile(source if tree is None else tree, CELL_FILENAME, "exec", dont_inherit=True))
    except SyntaxError as exc:
        result = (f"{exc.msg} (line {exc.lineno})", None)
    except (ValueError, RecursionError, MemoryError) as exc:
        return (str(exc) or type(exc).__name__, None)  # may depend on the moment: not cached
    _PARSE_CACHE.put(source, source, result)
    return result


def _parses(source: str) -> str:
    """'' when the source compiles, else the reason it does not."""
    return _compile(source)[0]


CELL_FILENAME = "<cell>"


def _renamed(code, filename: str):
    """The code object with its file name (and its nested functions') set to `filename`."""
    consts = tuple(_renamed(c, filename) if hasattr(c, "co_filename") else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def cell_code(cell: "Cell") -> bytes | None:
    """The cell compiled as the sandbox would compile it (file name "<label>", no
    inherited __future__ flags), marshalled: the student process loads it instead of
    compiling again, and the compile is shared with the parse check above. The code
    travels only from the grader to the student side."""
    key = (cell.source, cell.label)
    code = _CODE_CACHE.get(key)
    if code is None:
        verdict, compiled = _compile(cell.source)
        if verdict or compiled is None:
            return None
        code = marshal.dumps(_renamed(compiled, f"<{cell.label}>"))
        _CODE_CACHE.put(key, cell.source, code)
    return code


def split_unparsable(source: str, label: str) -> list[Cell]:
    """Cut source that does not parse at column-0 definitions and imports."""
    error = _parses(source)
    if not error:
        return [Cell(label, source)]
    lines = source_lines(source)
    starts = [0] + [i for i, line in enumerate(lines) if i and TOP_LEVEL_BOUNDARY.match(line)]
    # keep decorators with the definition that follows them
    starts = [s for k, s in enumerate(starts) if not (k and lines[s - 1].startswith("@"))]
    starts = starts[:MAX_PIECES]  # thousands of broken definitions: the tail is one piece
    pieces = []
    for a, b in _complete_statements(lines, zip(starts, starts[1:] + [len(lines)])):
        if not "".join(lines[a:b]).strip():
            continue
        # blank lines in front: syntax errors and tracebacks give the line in the cell
        text = "\n" * a + "".join(lines[a:b])
        piece_label = label if (a, b) == (0, len(lines)) else f"{label}, lines {a + 1}-{b}"
        problem = _parses(text)
        pieces.append(Cell(piece_label, text, problem))
    return pieces or [Cell(label, source, error)]


def _complete_statements(lines: list[str], spans):
    """The spans, each one that does not parse cut further where a complete part of it
    ends: a test line that does not parse after a definition in the same piece
    (`print "done"`, `print(h.shape`) cost the definition before it. A part is closed at a
    line that may start a statement when what came before parses and would not with the
    next part, so a definition's column-0 docstring line or a bracket closed at column 0
    stays with it."""
    for a, b in spans:
        if not _parses("".join(lines[a:b])):
            yield a, b  # parses whole
            continue
        cuts = [i for i in range(a + 1, b) if STATEMENT_START.match(lines[i])][:MAX_PIECES] + [b]
        start = a
        for cut, following in zip(cuts, cuts[1:]):
            head = "".join(lines[start:cut])
            if head.strip() and not _parses(head) and _parses("".join(lines[start:following])):
                yield start, cut
                start = cut
        yield start, b


def _check_size(sources: list[tuple[str, str]]) -> None:
    chars = sum(len(source) for _, source in sources)
    if chars > MAX_CODE_CHARS:
        raise SubmissionError(f"the submission holds {chars / 2**20:.1f} MiB of code; "
                              f"at most {MAX_CODE_CHARS // 1024} KiB is graded")
    if len(sources) > MAX_CELLS:
        raise SubmissionError(f"the submission has {len(sources)} code cells or statements; at most {MAX_CELLS} are graded")


def cells_from_sources(sources: list[tuple[str, str]]) -> list[Cell]:
    from autograder.driver import unwrapped  # (the student checks read cell magics so too)

    _check_size(sources)
    cells: list[Cell] = []
    for label, source in sources:
        if not source.strip():
            continue
        source = unwrapped(source)
        # Source that already compiles has no magics, escapes or stray indentation for
        # IPython to rewrite (skipping its tokenizer saves most of the reading time), and
        # is one cell: it is compiled once here, not again in split_unparsable.
        if not _parses(source):
            cells.append(Cell(label, source))
        else:
            cells.extend(split_unparsable(_ipython_transform(source), label))
        if len(cells) > MAX_CELLS:
            raise SubmissionError(f"the submission splits into more than {MAX_CELLS} cells and fragments")
    return cells


def _notebook_cells(data) -> list:
    """The cells of a notebook document, upgrading pre-v4 notebooks with nbformat.
    v4 is read as plain JSON: importing nbformat's validator costs over a second."""
    if not isinstance(data, dict):
        raise SubmissionError("not a notebook: the JSON is not an object")
    if data.get("nbformat") == 4 and isinstance(data.get("cells"), list):
        return [c for c in data["cells"] if isinstance(c, dict)]
    import nbformat

    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:
        raise SubmissionError(f"not a readable notebook: {type(exc).__name__}: {str(exc)[:200]}") from None
    return list(nb.cells)


DEFINITION = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)", re.M)


_LABELS = _SourceCache(recent=128, chars=300_000)   # source -> label


def cell_label(source: str) -> str:
    """A cell named the way a student finds it in the notebook: by the functions or
    classes it defines, else by its first line (a number would count markdown cells,
    which the student does not think of as cells of code)."""
    label = _LABELS.get(source)
    if label is None:
        label = _label(source)
        _LABELS.put(source, source, label)
    return label


def _label(source: str) -> str:
    names = list(dict.fromkeys(DEFINITION.findall(source)))
    if names:
        shown = ", ".join(names[:2]) + (f" and {len(names) - 2} more" if len(names) > 2 else "")
        return f"cell defining {shown}"
    first = next((line.strip() for line in source.splitlines() if line.strip() and not PY_CELL_MARKER.match(line)), "")
    if len(first) > 40:
        first = first[:37] + "..."
    return f"cell starting `{first}`"


def read_notebook(data) -> list[Cell]:
    sources = []
    for cell in _notebook_cells(data):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            if isinstance(source, list):  # nbformat's multi-line string: a list of strings
                try:
                    source = "".join(source)
                except TypeError:   # not all strings: the strings
                    source = "".join(line for line in source if isinstance(line, str))
            source = source if isinstance(source, str) else ""
            sources.append((cell_label(source), source))
    return cells_from_sources(sources)


def _top_level_statements(source: str) -> list[tuple[str, str]]:
    tree = ast.parse(source)
    lines = source_lines(source)
    out = []
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        out.append((f"lines {start}-{node.end_lineno}", "".join(lines[start - 1 : node.end_lineno])))
    return out


def read_capped(fd: int, cap: int = MAX_FILE_BYTES) -> bytes:
    """At most `cap` + 1 bytes of an open file (more says "too large"). The first read asks
    for the size fstat gives (read(cap + 1) allocated 32 MiB for every file); a file
    whose size says 0 or that grows is read on to its end, within the cap."""
    chunks, left = [], cap + 1
    first = min(os.fstat(fd).st_size, cap) + 1
    while left > 0:
        chunk = os.read(fd, min(left, first if not chunks else 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def source_lines(text: str) -> list[str]:
    """The lines of Python source as the compiler numbers them, each with its end: split
    at \\n, \\r\\n and \\r only. str.splitlines also splits at form feeds, vertical tabs
    and other separators that may stand in source (PEP 8 allows a form feed): the
    statements cut out by the syntax tree's line numbers came out one line off."""
    return io.StringIO(text, newline="").readlines()


def read_python(text: str) -> list[Cell]:
    _check_size([("file", text)])
    lines = source_lines(text)
    marks = [i for i, line in enumerate(lines) if PY_CELL_MARKER.match(line)]
    if marks:
        bounds = ([0] if marks[0] else []) + marks + [len(lines)]
        sources = [(f"{cell_label(''.join(lines[a:b]))} (lines {a + 1}-{b})", "".join(lines[a:b]))
                   for a, b in zip(bounds, bounds[1:])]
        return cells_from_sources(sources)
    if not _parses(text):
        return cells_from_sources(_top_level_statements(text))  # (bounded there)
    # does not parse: split at definitions, then each parsing piece into statements
    cells = []
    for piece in split_unparsable(text, "file"):
        if piece.syntax_error:
            cells.append(piece)
        else:
            cells.extend(cells_from_sources([(piece.label, piece.source)]))
    return cells


def load_submission(path: str | Path) -> list[Cell]:
    """Read a .ipynb or .py submission. Raises SubmissionError for unreadable files."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = read_capped(f.fileno())
    except OSError as exc:
        raise SubmissionError(f"cannot read the file: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        advice = (" (most likely its saved outputs, plots and logs: clear them, with Jupyter's \"Clear All Outputs\" "
                  "or `jupyter nbconvert --clear-output --inplace NOTEBOOK`, save, and hand it in again)"
                  if path.suffix == ".ipynb" else "")
        raise SubmissionError(f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB{advice}")
    if not raw.strip():
        raise SubmissionError("the submission is empty")
    encoding = "utf-8"
    if path.suffix == ".py":  # a coding line (PEP 263) says how Python itself reads the file
        try:
            encoding = tokenize.detect_encoding(io.BytesIO(raw).readline)[0]
        except SyntaxError:
            pass  # no usable coding line and not UTF-8 at the top: UTF-8 says more below
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        raise SubmissionError(f"the submission is not {'UTF-8' if encoding.startswith('utf') else encoding} text "
                              "(Python reads a file as UTF-8 unless a coding line names another encoding)") from None
    text = text.lstrip("\ufeff")
    looks_like_json = text.lstrip().startswith("{")
    if path.suffix == ".ipynb" or (path.suffix != ".py" and looks_like_json):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SubmissionError(f"not a notebook: invalid JSON ({str(exc)[:200]})") from None
        except RecursionError:  # the parser's own bound (about 1000 levels): a notebook has 5
            raise SubmissionError("not a notebook: the JSON is nested too deeply") from None
        return read_notebook(data)
    return read_python(text)


# Syntax trees, shared by the stages that read a cell's statements (the slice, the cell
# budgets). A tree takes about 45 bytes per character of its source.
_TREES = _SourceCache(recent=64, chars=250_000)


def parse_tree(source: str) -> ast.Module:
    """ast.parse(source), shared; raises what ast.parse raises. The tree is read-only for
    its users (the slice keeps per-statement facts on it, which depend only on it)."""
    tree = _TREES.get(source)
    if tree is None:
        tree = ast.parse(source)
        _TREES.put(source, source, tree)
    return tree


_DEFINING = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def leading_definitions(cell: Cell) -> str | None:
    """The cell's source up to its first statement that does more than define (a def,
    class or import; a docstring or an assignment of a literal), or None when that is
    nothing or the whole cell. In Jupyter a cell stopped in its training loop has defined
    what came before it: a cell stopped at its time limit (or crashed) runs again as this."""
    if cell.syntax_error:
        return None
    try:
        tree = parse_tree(cell.source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if "_leading" not in tree.__dict__:  # (kept on the shared tree: the same for every submission)
        tree._leading = _leading_definitions(cell.source, tree.body)
    return tree._leading


def _leading_definitions(source: str, body: list) -> str | None:
    count = 0
    for node in body:
        literal = isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr)) and node.value is not None \
            and _is_literal(node.value)
        if not (isinstance(node, _DEFINING) or literal or _quiet_magic(node)):
            break
        count += 1
    if not any(isinstance(n, _DEFINING) and not isinstance(n, (ast.Import, ast.ImportFrom)) for n in body[:count]) \
            or count == len(body):
        return None
    lines = source_lines(source)
    after = body[count]  # the first other statement
    if after.lineno > body[count - 1].end_lineno:
        return "".join(lines[:body[count - 1].end_lineno])
    # it shares a line with the definitions (`EPS = 1e-8; train()`): that line up to it
    shared = lines[after.lineno - 1].encode()[:after.col_offset].decode(errors="ignore").rstrip().rstrip(";")
    prefix = "".join(lines[:after.lineno - 1]) + shared + "\n"
    try:
        ast.parse(prefix)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return prefix


# line magics that only set the notebook up (IPython's transform makes them
# `get_ipython().run_line_magic(name, ...)`): no code of the student's runs
_QUIET_MAGICS = frozenset({"matplotlib", "config", "load_ext", "reload_ext", "autoreload", "pylab", "precision"})


def _quiet_magic(node: ast.AST) -> bool:
    call = node.value if isinstance(node, ast.Expr) else None
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "run_line_magic"
            and isinstance(call.func.value, ast.Call) and isinstance(call.func.value.func, ast.Name)
            and call.func.value.func.id == "get_ipython" and bool(call.args)
            and isinstance(call.args[0], ast.Constant) and call.args[0].value in _QUIET_MAGICS)


def _is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


_HELPER_CODE: dict[tuple, bytes] = {}


def helper_code(helpers: dict) -> dict:
    """The helper modules an assignment ships (name -> source), compiled and marshalled
    once per grading process, as the sandbox would compile them."""
    out = {}
    for name, source in helpers.items():
        key = (name, source)
        if key not in _HELPER_CODE:
            _HELPER_CODE[key] = marshal.dumps(compile(source, f"<{name}.py>", "exec", dont_inherit=True))
        out[name] = _HELPER_CODE[key]
    return out
