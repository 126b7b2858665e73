"""`tinygrad-edu exercises init` and `check`, used as a learner uses them."""

import shutil
from pathlib import Path

import pytest

from tinygrad_edu.cli import main
from tinygrad_edu.exercises import EXERCISES

SOLUTIONS = Path(__file__).parent / "exercise_solutions"
FAST = ["--max-examples", "15"]


def init(directory, capsys, *flags):
    status = main(["exercises", "init", str(directory), *flags])
    return status, capsys.readouterr()


def check(directory, capsys, *args):
    status = main(["exercises", "check", str(directory), *map(str, args), *FAST])
    return status, capsys.readouterr()


def solve(directory, *numbers):
    for n in numbers:
        shutil.copy(SOLUTIONS / EXERCISES[n].filename, directory / EXERCISES[n].filename)


def test_init_hands_out_every_exercise_as_a_stub_with_its_docstring(tmp_path, capsys):
    status, out = init(tmp_path / "mine", capsys)
    assert status == 0
    files = sorted(p.name for p in (tmp_path / "mine").iterdir())
    assert files == sorted(e.filename for e in EXERCISES.values()) and len(files) >= 10
    for exercise in EXERCISES.values():
        text = (tmp_path / "mine" / exercise.filename).read_text()
        assert text.startswith(f'"""Exercise {exercise.number}: ')
        assert "Derive" in text and "Hint" in text and "raise NotImplementedError" in text
        assert exercise.filename in out.out


def test_init_never_overwrites_a_learners_work_without_force(tmp_path, capsys):
    init(tmp_path, capsys)
    work = tmp_path / EXERCISES[2].filename
    work.write_text("my answer")
    (tmp_path / EXERCISES[5].filename).unlink()
    status, out = init(tmp_path, capsys)
    assert status == 1 and "refusing to overwrite your work" in out.err and "--force" in out.err
    assert work.read_text() == "my answer"
    assert not (tmp_path / EXERCISES[5].filename).exists()  # nothing at all was written
    status, _ = init(tmp_path, capsys, "--force")
    assert status == 0 and "raise NotImplementedError" in work.read_text()
    assert (tmp_path / EXERCISES[5].filename).exists()


def test_init_refuses_a_file_for_a_folder(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("")
    status, out = init(tmp_path / "notes.txt", capsys)
    assert status == 1 and "is a file" in out.err


@pytest.mark.slow  # among the longest: CI runs the slow tests once, on 3.11
def test_the_stubs_as_shipped_are_not_attempted(tmp_path, capsys):
    init(tmp_path, capsys)
    status, out = check(tmp_path, capsys)
    assert status == 1
    rows = [line for line in out.out.splitlines() if line[:3].strip().isdigit()]
    assert len(rows) == len(EXERCISES) and all(row.endswith("not attempted") for row in rows)
    assert out.out.splitlines()[-1] == f"0 of {len(EXERCISES)} passed; 10 not attempted."


def test_solved_exercises_pass_with_exit_status_0(tmp_path, capsys):
    init(tmp_path, capsys)
    solve(tmp_path, 1, 8)
    status, out = check(tmp_path, capsys, 1, 8)
    assert status == 0, out.out
    assert out.out.splitlines()[-1] == "All 2 checked passed."


@pytest.mark.slow  # among the longest: CI runs the slow tests once, on 3.11
def test_a_wrong_a_looping_and_a_broken_answer_are_each_reported_and_stop_nothing(tmp_path, capsys):
    init(tmp_path, capsys)
    solve(tmp_path, 3, 6)
    sigmoid = tmp_path / EXERCISES[2].filename
    sigmoid.write_text(
        sigmoid.read_text().replace(
            'raise NotImplementedError("exercise 2: d sigmoid(x)/dx")',
            "return -sigmoid(x) * (1 - sigmoid(x))",
        )
    )
    (tmp_path / EXERCISES[6].filename).write_text("while True:\n    pass\n")
    (tmp_path / EXERCISES[9].filename).write_text("def swish(x) return x\n")
    status, out = check(tmp_path, capsys, 2, 6, 9, 3, "--timeout", "4")
    assert status == 1
    lines = [" ".join(line.split()) for line in out.out.splitlines()]  # spacing aside
    assert lines[1:7] == [
        "2 sigmoid FAIL",
        "sigmoid_derivative: d sigmoid(x)/dx is wrong",
        "input x = 0.0",
        "expected 0.25 (engine; finite differences give 0.25)",
        "got -0.25",
        "hint off by a factor of -1 everywhere: check the sign",
    ]
    assert lines[7:9] == [
        "6 mean squared error TIMEOUT",
        "no result within 4 s: an endless loop? (stopped)",
    ]
    assert lines[9] == "9 a custom op: swish ERROR"
    assert lines[10].startswith("ex09_custom_op.py does not load: SyntaxError")
    assert lines[11] == "3 tanh pass"  # checked after the loop was stopped
    assert lines[-1] == "1 of 4 passed; 1 failed, 1 with errors, 1 timed out."


@pytest.mark.parametrize(
    "args, words",
    [
        (["exercises", "check", "no-such-folder"], ["not a folder", "exercises init"]),
        (["exercises", "check", ".", "11"], ["no exercise 11", "1 to 10"]),
    ],
)
def test_check_explains_a_bad_folder_or_number(args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    for word in words:
        assert word in err


def test_a_missing_exercise_file_is_an_error_that_says_how_to_get_it_back(tmp_path, capsys):
    status, out = check(tmp_path, capsys, 4)
    assert status == 1
    assert "ex04_relu.py is missing" in out.out and "exercises init" in out.out
