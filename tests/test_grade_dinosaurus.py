"""End-to-end grading of dinosaurus: the reference, the course's two `model` signatures
(the older reads dinos.txt, which the grader provides), the older in-place `clip`, and
mutants of the reference, each caught by the unit it breaks and only by it."""
import pytest

from conftest import assert_mutant_caught, grade_text, mutate, reference_text, scores

A = "dinosaurus"
FULL = {"clip": 1.0, "sample": 1.0, "optimize": 1.0, "model": 1.0}

# The older course version of model: reads the names from dinos.txt itself, lower-cases
# them, returns the parameters only (docs/ASSIGNMENTS.md 2b).
OLDER_MODEL = '''
def model(data, ix_to_char, char_to_ix, num_iterations=35000, n_a=50, dino_names=7, vocab_size=27):
    n_x, n_y = vocab_size, vocab_size
    parameters = initialize_parameters(n_a, n_x, n_y)
    loss = get_initial_loss(vocab_size, dino_names)
    with open("dinos.txt") as f:
        examples = f.readlines()
    examples = [x.lower().strip() for x in examples]
    np.random.seed(0)
    np.random.shuffle(examples)
    a_prev = np.zeros((n_a, 1))
    for j in range(num_iterations):
        index = j % len(examples)
        X = [None] + [char_to_ix[ch] for ch in examples[index]]
        Y = X[1:] + [char_to_ix["\\n"]]
        curr_loss, gradients, a_prev = optimize(X, Y, a_prev, parameters, learning_rate=0.01)
        loss = smooth(loss, curr_loss)
        if j % 2000 == 0:
            seed = 0
            for name in range(dino_names):
                print_sample(sample(parameters, char_to_ix, seed), ix_to_char)
                seed += 1
    return parameters
'''
OLDER_CLIP = '''
def clip(gradients, maxValue):
    dWaa, dWax, dWya, db, dby = gradients["dWaa"], gradients["dWax"], gradients["dWya"], gradients["db"], gradients["dby"]
    for gradient in [dWax, dWaa, dWya, db, dby]:
        np.clip(gradient, -maxValue, maxValue, out=gradient)
    return {"dWaa": dWaa, "dWax": dWax, "dWya": dWya, "db": db, "dby": dby}
'''


@pytest.fixture(scope="module")
def grader(graders):
    return graders(A)


def explanations(result) -> dict:
    return {u.name: u.explanation for u in result.units}


def test_reference_scores_full_marks(grader):
    result = grade_text(grader, reference_text(A))
    assert scores(result) == FULL, [(u.name, u.explanation) for u in result.units]
    assert "No numerical gradient check" in explanations(result)["optimize"]


def test_the_gradient_check_of_optimize_passes_the_reference(graders):
    text = explanations(grade_text(graders(A, check_all_gradients=True), reference_text(A)))["optimize"]
    assert "Numerical gradient check" in text and "too large" not in text, text


def test_the_older_model_reads_the_names_file_the_grader_provides(grader):
    source = reference_text(A)
    older = source[:source.index("def model(")] + OLDER_MODEL
    result = grade_text(grader, older)
    assert scores(result) == FULL, explanations(result)["model"]


def test_without_the_names_file_the_older_model_would_fail(graders):
    """The data file is what makes the older signature pass: graded with no data file,
    its model raises FileNotFoundError (so the test above can fail)."""
    from autograder.grader import Grader

    source = reference_text(A)
    grader = graders(A)
    bare = Grader.__new__(Grader)
    bare.__dict__.update(grader.__dict__, files={})
    result = grade_text(bare, source[:source.index("def model(")] + OLDER_MODEL)
    by_name = {u.name: u for u in result.units}
    assert by_name["model"].score == 0 and "FileNotFoundError" in by_name["model"].explanation


def test_the_older_clip_in_place_is_accepted_with_a_note(grader):
    source = reference_text(A)
    start, end = source.index("def clip("), source.index("def sample(")
    result = grade_text(grader, source[:start] + OLDER_CLIP.lstrip() + "\n\n" + source[end:])
    assert scores(result) == FULL, explanations(result)["clip"]
    assert "in place" in explanations(result)["clip"]


@pytest.mark.parametrize("unit,old,new,words", [
    ("clip", 'for name in ("dWaa", "dWax", "dWya", "db", "dby")}',
     'for name in ("dWaa", "dWax", "dWya", "db", "dby", "da_next") if name in gradients}',
     "unexpected key(s) 'da_next'"),
    ("clip", "np.clip(gradients[name], -maxValue, maxValue)", "np.clip(gradients[name], 0, maxValue)", "differs"),
    ("sample", "np.random.seed(counter + seed)", "np.random.seed(seed)", "indices"),
    ("sample", "    if counter == 50:\n        indices.append(newline)\n", "", "50-character cap"),
    ("optimize", "gradients = clip(gradients, 5)", "gradients = clip(gradients, 50)", "clipping active"),
    ("optimize", "parameters = update_parameters(parameters, gradients, learning_rate)",
     "parameters = update_parameters(dict(parameters), gradients, 2 * learning_rate)", "parameters"),
    ("model", "    np.random.shuffle(examples)\n", "", "differs"),
    ("model", "curr_loss, gradients, a_prev = optimize(X, Y, a_prev, parameters, learning_rate=0.01)",
     "curr_loss, gradients, _ = optimize(X, Y, a_prev, parameters, learning_rate=0.01)", "wraps around"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 12 else None)
def test_a_mutant_loses_only_its_unit(grader, unit, old, new, words):
    assert_mutant_caught(grader, A, unit, old, new, words)


def test_a_stub_notebook_scores_zero(grader):
    source = reference_text(A)
    stub = mutate(source, source[source.index("def sample("):source.index("def optimize(")],
                  "def sample(parameters, char_to_ix, seed):\n    raise NotImplementedError()\n\n\n")
    result = grade_text(grader, stub)
    assert scores(result) == dict(FULL, sample=0.0)


def test_the_public_check_of_the_older_model_reads_the_released_names_file(tmp_path):
    """`rnngrade check` runs beside the release's files: the older model finds dinos.txt."""
    import nbformat
    from click.testing import CliRunner

    from autograder.cli import main

    source = reference_text(A)
    path = tmp_path / "older.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source[:source.index("def model(")]
                                                                             + OLDER_MODEL)]), path)
    run = CliRunner().invoke(main, ["check", A, str(path), "--trusted"], catch_exceptions=False)
    assert run.exit_code == 0 and run.output.count(" ok ") == 4, run.output


def test_the_released_names_hold_every_letter_the_course_code_indexes():
    """The course's data cell builds char_to_ix from sorted(set(data)) and model uses a
    vocabulary of 27: a names file without j, q or w (the 63 names first shipped) made the
    standard training cell fail with KeyError 26 on the student's side (spec: 27 symbols,
    newline and a-z)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for folder in ("reference", "source", "release"):
        data = (root / folder / "dinosaurus" / "dinos.txt").read_text().lower()
        assert sorted(set(data)) == ["\n"] + [chr(c) for c in range(ord("a"), ord("z") + 1)], folder
