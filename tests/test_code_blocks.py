"""Every Python block of README.md and docs/*.md runs on its own, and prints what it says.

The blocks are collected afresh on every run, so a new block is tested without anyone
remembering to. The conventions, for whoever writes one:

- A block is a fence opened with ```python (indented fences, inside a list item, count too).
  Other fences (```sh, ```text, ```json) are not run.
- Each block runs alone, in a fresh interpreter, in an empty temporary folder: it must import
  everything it uses and may not rely on an earlier block. Files it writes stay there.
- A block that needs an optional extra names it in an HTML comment on the line just above
  the fence: ``<!-- requires: torch -->``. The block is skipped where that module cannot be
  imported (several: ``<!-- requires: torch, sklearn -->``).
- Every ``print(...)`` line states its output in a comment at the end of that line, and the
  test checks it: ``print(x.grad)  # 6.0``. The comment is the whole printed text, exactly;
  when it ends with ``...``, the printed text must start with what comes before the dots
  (``print(error)  # gradients do not match at [2.0]...``). Each such line must print exactly
  once (not in a loop), and a print from a line without such a comment fails the test.
"""

import json
import re
import subprocess
import sys
import tokenize
from dataclasses import dataclass
from importlib.util import find_spec
from io import StringIO
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^( *)```python\s*$")
REQUIRES = re.compile(r"^\s*<!--\s*requires:\s*([\w, ]+?)\s*-->\s*$")

# run in the block's interpreter: records (line, text) of every print the block makes
RECORDER = """
import builtins, json, sys
block, record = sys.argv[1], sys.argv[2]
printed, real_print = [], builtins.print
def recording_print(*args, sep=" ", end="\\n", file=None, flush=False):
    frame = sys._getframe(1)
    if file is None and frame.f_code.co_filename == block:
        printed.append([frame.f_lineno, (" " if sep is None else sep).join(map(str, args))])
    real_print(*args, sep=sep, end=end, file=file, flush=flush)
builtins.print = recording_print
try:  # as the suite's profiles: a machine busy with other work must not fail a block
    from hypothesis import HealthCheck, settings
    settings.register_profile(
        "blocks", deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.load_profile("blocks")
except ImportError:
    pass
try:
    with open(block, encoding="utf-8") as source:
        exec(compile(source.read(), block, "exec"), {"__name__": "__main__"})
finally:
    with open(record, "w", encoding="utf-8") as out:
        json.dump(printed, out)
"""


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    code: str
    requires: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks_of(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, start = len(fence.group(1)), i
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][indent:])
            i += 1
        marker = REQUIRES.match(lines[start - 1]) if start else None
        requires = tuple(m.strip() for m in marker.group(1).split(",")) if marker else ()
        found.append(Block(page, start + 1, "\n".join(body) + "\n", requires))
        i += 1
    return found


BLOCKS = [block for page in PAGES for block in blocks_of(page)]


def stated_outputs(code: str) -> dict[int, str]:
    """Line number -> the output its print states, for every print(...) line with a comment."""
    lines = code.splitlines()
    stated = {}
    for token in tokenize.generate_tokens(StringIO(code).readline):
        if token.type == tokenize.COMMENT:
            row = token.start[0]
            if lines[row - 1].lstrip().startswith("print("):
                stated[row] = token.string[1:].strip()
    return stated


def matches(printed: str, stated: str) -> bool:
    if stated.endswith("..."):
        return printed.startswith(stated[:-3])
    return printed == stated


def test_the_pages_hold_blocks_to_test():
    assert len(BLOCKS) >= 15
    assert {b.page.name for b in BLOCKS} >= {"README.md", "backward.md", "custom-ops.md"}


def test_the_readmes_ten_line_neuron_names_its_output():
    """Its step-through page (render(o, "backprop.html")) is titled by o's name: "o", not an
    automatic "v5"."""
    from tinygrad_edu import backprop_steps

    (block,) = [b for b in BLOCKS if b.page.name == "README.md" and "a neuron: tanh" in b.code]
    namespace: dict = {}
    exec(block.code, namespace)
    o = namespace["o"]
    assert backprop_steps(o).names[-1] == "o"  # the result comes last


def test_the_conventions_are_checked():
    code = 'x = 1\nprint(x)  # 1\nprint("a # b")  # a # b\ny = 2  # not a print\n'
    assert stated_outputs(code) == {2: "1", 3: "a # b"}
    assert matches("0.7071067811865476", "0.7071...") and not matches("0.70", "0.7071...")
    assert not matches("-1.4999999999999993", "-1.5")


def run_alone(code: str, folder: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """Run a block's code in a fresh interpreter in ``folder``: the process, and what each line
    printed (line -> texts)."""
    source, record = folder / "block.py", folder / "printed.json"
    source.write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", RECORDER, str(source), str(record)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    printed: dict[int, list[str]] = {}
    recorded = json.loads(record.read_text(encoding="utf-8")) if record.exists() else []
    for line, text in recorded:  # none if the interpreter died before writing them
        printed.setdefault(line, []).append(text)
    return result, printed


def test_hypothesis_in_a_block_keeps_no_clock(tmp_path):
    """hypothesis fails an example that takes over 200 ms by default: a wall-clock budget,
    which docs/testing.md's block went past once with the machine busy (its first example,
    which pays for the imports, took 444 ms). Blocks run without it, as the suite does."""
    result, printed = run_alone(
        "from hypothesis import settings\nprint(settings().deadline)\n", tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert printed == {2: ["None"]}


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_a_block_runs_alone_and_prints_what_it_says(block, tmp_path):
    missing = [name for name in block.requires if find_spec(name) is None]
    if missing:
        pytest.skip(f"{block} requires {', '.join(missing)}, not installed")
    result, printed = run_alone(block.code, tmp_path)
    assert result.returncode == 0, f"{block} fails when run on its own:\n{result.stderr}"
    stated = stated_outputs(block.code)
    for line, texts in printed.items():
        where = f"{block.page.relative_to(ROOT)}:{block.line + line}"
        assert line in stated, f"{where} prints {texts[0]!r} but states no output in a comment"
        assert len(texts) == 1, f"{where} prints {len(texts)} times; a stated output must be one"
        assert matches(texts[0], stated[line]), (
            f"{where} prints {texts[0]!r}, but its comment says {stated[line]!r}"
        )
    for line in stated.keys() - printed.keys():
        where = f"{block.page.relative_to(ROOT)}:{block.line + line}"
        pytest.fail(f"{where} states an output, {stated[line]!r}, but never printed")
