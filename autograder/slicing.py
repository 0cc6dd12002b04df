"""Statements that cannot change a grade are not run: a static slice of a submission.

Real notebooks are full of work no graded unit can see: test-call cells, prints, plots,
a training loop of thousands of iterations. The slice keeps, statement by statement
(top-level statements of each cell; line numbers are kept, so tracebacks read the same):

- every import, `def`, `class`, `global` and `nonlocal` statement;
- every statement that binds a name a graded unit reads, or what the units call read,
  transitively (a unit's function body, a kept definition's decorators, defaults and
  bases, a kept statement's own reads), wherever it stands;
- anything with effects a unit could see: a statement that uses the global random state
  (`np.random.seed`, `random.shuffle`, ...), assigns to an attribute or item of an
  imported module, of a notebook function or class (`RNN.backward = backward`) or of a
  name the units read (or another name for one: `cfg = CONFIG; cfg["act"] = ...`), calls
  a method of one (`params.update(...)`) or a module function that may change its module
  (`np.seterr(...)`, anything in `os`, `sys`, `warnings`, the assignment's helpers; not
  numpy's computing functions, not plotting), passes such a name to a call, calls a
  notebook function that changes the notebook's names (a `global` statement, or a write
  into or a method call on a name neither its own nor a module's: `REGISTRY[k] = f`;
  itself or through what it calls), or reaches the namespace dynamically (`exec`,
  `eval`, `globals`, `setattr`, `__import__`, ...);
- every statement, when a function the units call reads names by a string (`globals()`,
  `eval`, `exec` in its body);
- when in doubt (a statement it cannot classify), the statement.

Dropped: statements whose only effect is on names no unit reads: test calls
(`a, y, c = rnn_cell_forward(xt, a_prev, parameters)` with fresh inputs), prints, plots,
training (`model(data, ix_to_char, char_to_ix)`).

Residual (docs/DESIGN.md): a dropped call of a notebook function that draws from the
global random generator inside it (training) leaves the generator where the statements
that were kept leave it; a unit that draws from it without seeding it sees other draws.
"""
from __future__ import annotations

import ast
import builtins
import functools
from dataclasses import dataclass

from autograder.submission import Cell, parse_tree, source_lines

_DYNAMIC = {"exec", "eval", "globals", "locals", "vars", "setattr", "delattr", "__import__", "compile",
            "get_ipython"}
# Modules whose functions only compute (their state-changing ones start with these), and
# modules that only display; a call into any other imported module is kept.
_PURE_MODULES = {"numpy", "math", "cmath", "statistics", "pprint", "textwrap", "string", "copy", "json",
                 "itertools", "functools", "operator", "collections", "time", "IPython"}
_STATEFUL_PREFIXES = ("set", "seed", "random", "save", "tofile", "load_library", "sleep")
_DISPLAY_MODULES = {"matplotlib", "pylab", "seaborn", "tqdm"}
_RANDOM_NAMES = {"random", "seed", "randn", "rand", "randint", "choice", "shuffle", "permutation",
                 "default_rng", "RandomState", "normal", "uniform"}
_BUILTIN_NAMES = frozenset(dir(builtins))
# methods that change their object: a function calling one on a name not its own changes
# the notebook's names (`STATE.update(kw)`); a read (`VOCAB.index(c)`) does not, and
# counting it kept every training loop that calls such a function
_MUTATING = {"append", "extend", "insert", "update", "setdefault", "pop", "popitem", "clear", "add", "remove",
             "discard", "sort", "reverse", "fill", "put", "itemset", "resize", "setflags", "appendleft",
             "extendleft", "popleft", "rotate", "__setitem__", "__delitem__", "__setattr__", "__delattr__"}
# in a function a unit calls, these reach the notebook's names by a string: the slice cannot
# follow them, so every statement runs
_DYNAMIC_IN_BODY = {"globals", "eval", "exec"}


@dataclass
class SliceResult:
    cells: list          # the cells to run (sources with dropped statements blanked out)
    dropped: int = 0     # top-level statements not run
    cells_dropped: int = 0  # cells with nothing left to run


def _walk(node: ast.AST) -> list[ast.AST]:
    """The nodes ast.walk yields, in another order, at ~60% of its cost (it runs a
    generator per node and per field; the slice walks every statement of a notebook)."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        for field in n._fields:
            value = getattr(n, field, None)
            if value.__class__ is list:
                stack.extend([v for v in value if isinstance(v, ast.AST)])
            elif isinstance(value, ast.AST):
                stack.append(value)
    return out


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in _walk(node) if isinstance(n, ast.Name)}


def _bound(node: ast.stmt) -> set[str]:
    """Names a top-level statement binds in the notebook's namespace."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    out = set()
    for n in _walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            out.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in n.names)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            out.add(n.name)
        elif isinstance(n, ast.MatchAs) and n.name:
            out.add(n.name)
    return out


def _definition_time(node: ast.stmt) -> list[ast.AST]:
    """What runs when a def or class statement runs (not the function's body)."""
    parts: list[ast.AST] = list(node.decorator_list)
    if isinstance(node, ast.ClassDef):
        parts += node.bases + [k.value for k in node.keywords]
        for inner in node.body:  # a class body runs now; its methods' bodies later
            parts += _definition_time(inner) if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                   ast.ClassDef)) else [inner]
    else:
        parts += node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
        parts += _annotations(node)
    return parts


def _annotations(node) -> list[ast.AST]:
    """A def's annotations: evaluated when the def runs (`params: Params` needs Params)."""
    args = node.args
    every = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
    return [a.annotation for a in every if a.annotation is not None] + ([node.returns] if node.returns else [])


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


@dataclass
class _Facts:
    """What the slice needs to know of one top-level statement, found in one walk (and
    kept on the statement: parsed cells are shared between submissions, see
    submission.parse_tree)."""
    names: set
    bound: set
    random_attr: bool         # an attribute `.random` anywhere (np.random.seed, ...)
    scoped: bool              # a global or nonlocal statement inside
    store_roots: set          # roots of attribute/item assignments (None: not a plain name)
    calls: list               # (called name or None, root of an attribute call or None, attribute chain, arg names)
    outer_roots: set          # a def or class: names it writes into or calls a method of that are not its own
    changes_arguments: bool = False  # a def: writes into, or calls a changing method of, a parameter


def _facts(node: ast.stmt) -> _Facts:
    facts = node.__dict__.get("_slice_facts")
    if facts is not None:
        return facts
    names, random_attr, scoped, store_roots, calls, own = set(), False, False, set(), [], set()
    alias_of: dict[str, str] = {}  # in a def: `table = ACTIVATIONS`, a local name for another
    attr_roots = set()  # first arguments of setattr/delattr
    for n in _walk(node):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) \
                and isinstance(n.value, ast.Name):
            alias_of[n.targets[0].id] = n.value.id
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("setattr", "delattr") \
                and n.args and isinstance(n.args[0], ast.Name):
            attr_roots.add(n.args[0].id)
        if isinstance(n, ast.Name):
            names.add(n.id)
            if n.ctx.__class__ is not ast.Load:
                own.add(n.id)
        elif isinstance(n, ast.arg):
            own.add(n.arg)
        elif isinstance(n, ast.Attribute) and n.attr == "random":
            random_attr = True
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            scoped = True
        if isinstance(n, (ast.Attribute, ast.Subscript)) and isinstance(n.ctx, (ast.Store, ast.Del)):
            store_roots.add(_root(n))
        if isinstance(n, ast.Call):
            func, chain = n.func, []
            attr: ast.AST = func
            while isinstance(attr, ast.Attribute):
                chain.append(attr.attr)
                attr = attr.value
            arg_names = set()
            for a in list(n.args) + [k.value for k in n.keywords]:
                arg_names |= _names(a)
            calls.append((func.id if isinstance(func, ast.Name) else None,
                          _root(func) if isinstance(func, ast.Attribute) else None, tuple(chain), arg_names))
    outer, changes_arguments = set(), False
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        # what its code changes outside itself without a `global` statement (`REGISTRY[k] = f`,
        # `STATE.update(kw)`, through a local name for it: `table = REGISTRY; table[k] = f`):
        # every other name it binds or takes as an argument is its own
        changed = store_roots | attr_roots | {root for _, root, chain, _ in calls if chain and chain[0] in _MUTATING}
        changed |= {alias_of[r] for r in changed if r in alias_of}
        outer = changed - own - _BUILTIN_NAMES - {None}
        if not isinstance(node, ast.ClassDef):
            # `def attach(cls, name, f): setattr(cls, name, f)`: a call of it changes what it is given
            args = node.args
            params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
            changes_arguments = bool(changed & params)
    facts = _Facts(names, _bound(node), random_attr, scoped, store_roots, calls, outer, changes_arguments)
    node._slice_facts = facts
    return facts


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def _scope_reads(nodes: list, local: set, is_class: bool = False) -> set[str]:
    """The names code in one scope reads from outside it: every name it loads, less the
    scope's own (`local`: its parameters; names it binds, unless declared global or
    nonlocal), and what its nested scopes (functions, lambdas, classes, comprehensions)
    read from outside themselves, less the scope's own too unless it is a class (a
    method sees the module's names, never its class body's)."""
    reads, nested, local, declared = set(), set(), set(local), set()
    stack = list(nodes)
    while stack:
        n = stack.pop()
        kind = n.__class__
        if kind is ast.Name:
            (reads if n.ctx.__class__ is ast.Load else local).add(n.id)
            continue
        if isinstance(n, _SCOPES):
            if kind is not ast.Lambda:
                local.add(n.name)
            # decorators, defaults, annotations and bases are read here, at definition time
            if kind is ast.ClassDef:
                stack.extend(n.decorator_list + n.bases + [k.value for k in n.keywords])
            else:
                stack.extend(getattr(n, "decorator_list", []) + n.args.defaults
                             + [d for d in n.args.kw_defaults if d is not None]
                             + (_annotations(n) if kind is not ast.Lambda else []))
            nested |= _definition_reads(n)
            continue
        if kind in _COMPREHENSIONS:
            # a scope of its own: its targets are its names, not the enclosing scope's; the
            # first iterable is read in the enclosing scope
            first, *rest = n.generators
            stack.append(first.iter)
            inner = [first.target, *first.ifs] + [part for g in rest for part in (g.target, g.iter, *g.ifs)]
            inner += [n.key, n.value] if kind is ast.DictComp else [n.elt]
            nested |= _scope_reads(inner, set())
            continue
        if kind is ast.Global or kind is ast.Nonlocal:
            declared.update(n.names)
        elif kind is ast.Import or kind is ast.ImportFrom:
            local |= {(a.asname or a.name).split(".")[0] for a in n.names}
        elif kind is ast.ExceptHandler and n.name:
            local.add(n.name)
        for field in n._fields:  # (as _walk: ast.iter_child_nodes costs a generator per node)
            value = getattr(n, field, None)
            if value.__class__ is list:
                stack.extend([v for v in value if isinstance(v, ast.AST)])
            elif isinstance(value, ast.AST):
                stack.append(value)
    own = local - declared
    return (reads - own) | nested if is_class else (reads | nested) - own


def _definition_reads(node) -> set[str]:
    """What the body of a def, lambda or class reads from the notebook when it runs (a
    function's parameters and locals are its own: `def sample(parameters, char_to_ix)`
    reads no global `char_to_ix`, so the call `model(data, ix_to_char, char_to_ix)`
    changes nothing a unit reads)."""
    reads = node.__dict__.get("_slice_reads")
    if reads is None:
        if isinstance(node, ast.ClassDef):
            reads = _scope_reads(node.body, set(), is_class=True)
        else:
            args = node.args
            params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
            params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
            reads = _scope_reads(node.body if isinstance(node.body, list) else [node.body], params)
        node._slice_reads = reads
    return reads


class _Analysis:
    def __init__(self, statements: list[ast.stmt]):
        self.statements = statements
        self.modules: set[str] = set()       # names bound by imports
        self.random_names: set[str] = {"random"}
        self.functions: dict[str, list] = {}  # notebook function/class name -> its definitions
        self.module_of: dict[str, str] = {}   # import alias -> module (np -> numpy)
        self.aliases: list[tuple[set, str]] = []  # `cfg = CONFIG`: (names bound, the name they alias)
        for node in statements:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
                self.aliases.append((_bound(node), node.value.id))
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self.modules |= _bound(node)
                for alias in node.names:
                    full = alias.name if isinstance(node, ast.Import) else f"{node.module or ''}.{alias.name}"
                    self.module_of[(alias.asname or alias.name).split(".")[0]] = full
                if isinstance(node, ast.ImportFrom) and node.module and "random" in node.module.split("."):
                    self.random_names |= _bound(node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.functions.setdefault(node.name, []).append(node)
        self._writes_globals = self._global_writers()
        self._changes_arguments = {name for name, defs in self.functions.items()
                                   if any(_facts(d).changes_arguments for d in defs)}

    def _global_writers(self) -> set[str]:
        """Notebook functions that change the notebook's names, directly or through what they
        call: by a `global` statement, or by writing into (or calling a method of) a name
        that is neither their own nor a module's."""
        direct = {name for name, defs in self.functions.items()
                  if any(_facts(d).scoped or _facts(d).outer_roots - self.modules for d in defs)}
        calls = {name: {c for d in defs for c in _facts(d).names} & set(self.functions)
                 for name, defs in self.functions.items()}
        writers, changed = set(direct), True
        while changed:
            changed = False
            for name, called in calls.items():
                if name not in writers and called & writers:
                    writers.add(name)
                    changed = True
        return writers

    def _module_effect(self, root: str, chain: tuple) -> bool:
        module = self.module_of.get(root, root)
        if module.split(".")[0] in _DISPLAY_MODULES:
            return False
        if module.split(".")[0] not in _PURE_MODULES:
            return True  # os, sys, warnings, random, the assignment's helpers, ...: keep
        return any(name.startswith(_STATEFUL_PREFIXES) for name in chain)

    def has_effects(self, node: ast.stmt, data: set[str]) -> bool:
        """Whether running `node` could change what a unit sees, other than by binding
        names (that is the caller's part). `data`: names the units read that are not
        notebook functions, classes or modules."""
        f = _facts(node)
        if f.random_attr or f.names & self.random_names or f.scoped:
            return True
        if f.store_roots and (None in f.store_roots or not f.store_roots.isdisjoint(self.modules)
                              or not f.store_roots.isdisjoint(data) or not f.store_roots.isdisjoint(self.functions)):
            return True  # (also a method attached to a class later, `RNN.backward = backward`, a function's attribute)
        for called, root, chain, arg_names in f.calls:
            if called is not None and (called in _DYNAMIC or called in self._writes_globals):
                return True
            if chain:
                # a method of the units' data, or a module function that may change the
                # module's state (not numpy's pure functions, not plotting)
                if root is None or root in data or (root in self.modules and self._module_effect(root, chain)):
                    return True
            if arg_names & data:
                return True  # the call may change a unit's data in place
            if called in self._changes_arguments and arg_names & (data | set(self.functions)):
                return True  # `attach(RNN, "backward", rnn_backward)`: a notebook function changes what it is given
        return False


def slice_cells(cells: list[Cell], roots: set[str]) -> SliceResult:
    """Keep what the units (named by `roots`: their function and class names and the
    names their hidden calls mention) can see; see the module's docstring."""
    parsed = []  # (cell, tree or None)
    for cell in cells:
        tree = None
        if not cell.syntax_error:
            try:
                tree = parse_tree(cell.source)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                tree = None  # when in doubt, keep
        parsed.append((cell, tree))
    statements = [node for _, tree in parsed if tree is not None for node in tree.body]
    analysis = _Analysis(statements)
    binders: dict[str, list[ast.stmt]] = {}
    for node in statements:
        for name in _facts(node).bound:
            binders.setdefault(name, []).append(node)

    keep: set[int] = set()
    # visible: names a unit reads (or what it reads reads); support: names a statement kept
    # for its effects needs in order to run as it did (its RNG draws, its writes)
    visible: set[str] = set()
    support: set[str] = set()
    pending: list[tuple[str, bool]] = []

    def want(names, unit_visible: bool):
        for name in names:
            if name in visible or (not unit_visible and name in support):
                continue
            (visible if unit_visible else support).add(name)
            pending.append((name, unit_visible))

    def keep_node(node: ast.stmt, unit_visible: bool, whole: bool = True):
        first = id(node) not in keep
        keep.add(id(node))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if first:
                for part in _definition_time(node):
                    want(_names(part), False)
            if whole and reached.get(id(node)) not in (True, unit_visible):
                reached[id(node)] = unit_visible
                want(_definition_reads(node), unit_visible)  # what its body reads, when it is called
                if not isinstance(node, ast.ClassDef):  # and its defaults, which a call sees as they are then
                    want({n for d in node.args.defaults + [d for d in node.args.kw_defaults if d] for n in _names(d)},
                         unit_visible)
        else:
            want(_facts(node).names, unit_visible)

    reached: dict[int, bool] = {}
    want(roots, True)
    for node in statements:  # always: imports and definitions (their bodies only when reached)
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                             ast.Global, ast.Nonlocal)):
            keep_node(node, False, whole=False)
    while True:
        while pending:
            name, unit_visible = pending.pop()
            for node in binders.get(name, ()):
                keep_node(node, unit_visible)
        data = visible - set(analysis.functions) - analysis.modules
        grown = True
        while grown:  # `cfg = CONFIG; cfg["act"] = np.tanh` changes what the units read
            grown = False
            for names, source in analysis.aliases:
                if source in data and not names <= data:
                    data |= names
                    grown = True
        extra = [n for n in statements if id(n) not in keep and analysis.has_effects(n, data)]
        if not extra:
            break
        for node in extra:
            keep_node(node, False)

    if any(reached.get(id(n)) is not None and _facts(n).names & _DYNAMIC_IN_BODY for n in statements):
        return SliceResult([cell for cell, _ in parsed])  # when in doubt, keep
    result = SliceResult([])
    for cell, tree in parsed:
        if tree is None:
            result.cells.append(cell)
            continue
        kept_lines = _kept_lines(tree.body, keep)
        # a statement sharing a line with a kept one (`import os; print(os.sep)`) runs too
        dropped = [n for n in tree.body if id(n) not in keep
                   and n.lineno not in kept_lines and n.end_lineno not in kept_lines]
        if not dropped:
            result.cells.append(cell)
            continue
        result.dropped += len(dropped)
        if len(dropped) == len(tree.body):
            result.cells_dropped += 1
            continue
        result.cells.append(Cell(cell.label, _blank(cell.source, dropped, kept_lines), cell.syntax_error))
    return result


def _parsed(cells: list[Cell]):
    """(cell, its syntax tree) for each cell that parses, in order."""
    for cell in cells:
        if cell.syntax_error:
            continue
        try:
            yield cell, parse_tree(cell.source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue


def definitions(cells: list[Cell]) -> dict[str, list]:
    """The notebook's top-level defs and classes by name (every one, in cell order)."""
    defs: dict[str, list] = {}
    for _, tree in _parsed(cells):
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defs.setdefault(node.name, []).append(node)
    return defs


def graded_references(cells: list[Cell], graded: set[str], defs: dict | None = None) -> dict[str, set[str]]:
    """For each graded function or class the notebook defines, the other graded ones its
    code reads (calls, or hands to a call: `step = rnn_cell_forward`,
    `np.apply_along_axis(softmax, ...)`), directly or through the notebook's other
    functions: which need not be what the reference's version calls (a `sample` that runs
    the notebook's `rnn_cell_forward` instead of computing its step inline). `defs`:
    definitions(cells), when the caller has them."""
    defs = definitions(cells) if defs is None else defs
    found: dict[str, set[str]] = {}
    for name in graded & defs.keys():
        # through the notebook's own helpers, not into other graded units (the reference's
        # version of one is substituted whole)
        reached = _reached(defs, {name}, through=lambda n: n not in graded)
        found[name] = {read for n in reached for d in defs[n] for read in _definition_reads(d)} & graded - {name}
    return found


def _reached(defs: dict, start: set[str], through=lambda name: True) -> set[str]:
    """The notebook's definitions `start` reaches by the names their code reads (a helper
    it calls, or hands to a call), following only names `through` accepts past the start."""
    seen = set(start) & defs.keys()
    stack = list(seen)
    while stack:
        for node in defs[stack.pop()]:
            for used in _definition_reads(node) & defs.keys() - seen:
                if through(used):
                    seen.add(used)
                    stack.append(used)
    return seen


def rebound_after_definition(cells: list[Cell], names: set[str]) -> dict[str, tuple[str, str]]:
    """The graded names the notebook defines (def or class) and then binds again at top
    level with something else, last: {name: (label of that cell, its statement's first
    line)}. `softmax = softmax(x)` in a test cell leaves an array; `from numpy import *`
    after `def clip` leaves numpy's clip: as in Jupyter, that is what is graded."""
    last: dict[str, tuple | None] = {}
    for cell, tree in _parsed(cells):
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if node.name in names:
                    last[node.name] = None  # defined: fine unless bound again below
                continue
            if not last:
                continue
            bound = _binds(node) & last.keys()
            for name in bound:
                lines = source_lines(cell.source)
                last[name] = (cell.label, lines[node.lineno - 1].strip()[:80] if node.lineno <= len(lines) else "")
    return {name: where for name, where in last.items() if where is not None}


def own_helpers(cells: list[Cell], helper_functions: dict) -> list[str]:
    """The helper modules' functions ({name: module}) whose last top-level binding in the
    notebook is its own (a def, or `sigmoid = lambda x: ...`), not an import of the helper
    module, which gives the provided one back."""
    own: dict[str, bool] = {}
    modules = set(helper_functions.values())
    for _, tree in _parsed(cells):
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in helper_functions:
                own[node.name] = True
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in helper_functions:
                        own[target.id] = True
            elif isinstance(node, ast.ImportFrom) and node.module in modules:
                for alias in node.names:
                    for name in (helper_functions if alias.name == "*" else [alias.asname or alias.name]):
                        if name in helper_functions and helper_functions[name] == node.module:
                            own[name] = False
    return sorted(name for name, mine in own.items() if mine)


@functools.lru_cache(maxsize=1)
def _numpy_star() -> frozenset:
    import numpy

    return frozenset(getattr(numpy, "__all__", ())) | {n for n in dir(numpy) if not n.startswith("_")}


def _binds(node: ast.stmt) -> set[str]:
    """The names a top-level statement (not a def or class) binds, `from numpy import *`'s
    included (kept on the statement, as _facts are)."""
    bound = node.__dict__.get("_slice_binds")
    if bound is None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound = set()
            for alias in node.names:
                if alias.name == "*":
                    if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "numpy":
                        bound |= _numpy_star()
                else:
                    bound.add((alias.asname or alias.name).split(".")[0])
        else:
            bound = set(_facts(node).bound)
        node._slice_binds = bound
    return bound


MAX_WARM_IMPORTS = 32  # modules imported ahead (a few in real notebooks)


def imports_in_functions(cells: list[Cell], roots: set[str], defs: dict | None = None) -> list[str]:
    """The modules that the graded units (`roots`: their names), or the notebook's functions
    they call, import in their bodies (`from scipy.special import expit` inside
    `lstm_cell_forward`): a unit's first call would pay for the import (0.2-0.4 s for
    scipy or matplotlib), far over a CPU limit derived from the reference's cost, for
    code that computes the right values. Never more than MAX_WARM_IMPORTS, and none a
    function no unit calls imports (Jupyter would never run it). `defs`: as above."""
    defs = definitions(cells) if defs is None else defs
    found: dict[str, None] = {}
    for name in sorted(_reached(defs, set(roots))):
        for node in defs[name]:
            found.update(dict.fromkeys(m for m in _body_imports(node) if len(m) <= 100))
    return list(found)[:MAX_WARM_IMPORTS]


def _body_imports(node) -> tuple[str, ...]:
    """The modules a def or class imports inside it (kept on the statement)."""
    modules = node.__dict__.get("_slice_imports")
    if modules is None:
        modules = []
        for n in _walk(node):
            if isinstance(n, ast.Import):
                modules += [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom) and n.module and not n.level:
                modules.append(n.module)
        node._slice_imports = modules = tuple(modules)
    return modules


def warm_imports_cell(modules: list[str]) -> Cell:
    """A last cell importing `modules` without binding a name (failures ignored), so that
    the holder, and every unit child forked from it, has them loaded."""
    source = "".join(f"try:\n    __import__({m!r})\nexcept BaseException:\n    pass\n" for m in modules)
    return Cell("the imports inside the notebook's functions, run once before the units are timed", source)


def _kept_lines(body: list[ast.stmt], keep: set[int]) -> set[int]:
    """The first and last lines of the kept statements (with their decorators): two
    top-level statements can share only such a line, so for the others' lines this is
    as good as every kept line, and cheaper (a kept definition spans its whole body)."""
    lines = set()
    for n in body:
        if id(n) in keep:
            lines.add(min([n.lineno] + [d.lineno for d in getattr(n, "decorator_list", [])]))
            lines.add(n.end_lineno)
    return lines


def _blank(source: str, dropped: list[ast.stmt], kept_lines: set[int]) -> str:
    """The source with the dropped statements' lines emptied (line numbers unchanged)."""
    lines = source_lines(source)
    for node in dropped:
        for i in range(node.lineno, node.end_lineno + 1):
            if i not in kept_lines and i - 1 < len(lines):
                lines[i - 1] = "\n" if lines[i - 1].endswith("\n") else ""
    return "".join(lines)


def unit_roots(assignment, inputs: set[str] = frozenset()) -> set[str]:
    """The names graded units start from: each unit's function or class, and the names
    its hidden call, set-up and checks read from the notebook (helpers such as
    `sigmoid`): not the case's inputs (`inputs`), not what the snippet assigns itself."""
    roots: set[str] = set()
    for unit in assignment.units:
        roots.add(unit.name.partition(".")[0])
        texts = [unit.setup or "", unit.call or "", *dict(unit.extras).values(),
                 getattr(unit, "reference_setup", None) or ""]
        if unit.gradcheck is not None:
            texts.append(unit.gradcheck.forward or "")
        trees = []
        for text in texts:
            try:
                trees.append(ast.parse(str(text)))
            except SyntaxError:
                continue
        # a name the set-up assigns is the snippets' own, for the call and checks too
        stored = {n.id for t in trees for n in ast.walk(t) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        roots |= {name for t in trees for name in _names(t)} - stored - set(inputs)
    return roots


def slice_note(sliced: SliceResult) -> str:
    whole = f", {sliced.cells_dropped} of them whole cells" if sliced.cells_dropped else ""
    return (f"{sliced.dropped} top-level statement(s){whole} were not run: no graded function reads "
            "anything they define or change (test calls, prints, plots, training).")
