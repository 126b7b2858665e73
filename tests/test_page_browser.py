"""The step-through page in a real browser: Debian's Chromium, headless, driven by Playwright.

Each page is opened from disk (file://) with every other request refused and counted: the
count must stay 0. One browser serves the whole session. On a machine without Chromium or
Playwright these tests skip, saying what to install; under CI (CI=true) they fail instead,
since CI must run them (.ci/run installs Chromium, tasks.py the browser extra).
"""

import os
import re
import runpy
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings

from tinygrad_edu import Value, backprop_steps, render
from tinygrad_edu.steps import box_number
from tinygrad_edu.testing import expressions

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = runpy.run_path(str(ROOT / "docs" / "make_examples.py"))  # the browser's launch
HOSTILE = ["<img src=x onerror=window.pwned=1>", "<script>window.pwned=1</script>", "\"q\" & 'a'"]

pytestmark = pytest.mark.usefixtures("no_system_graphviz")


def missing() -> str:
    """What this machine lacks for the browser tests, or ""."""
    if not EXAMPLES["CHROMIUM"].exists():
        return f"Chromium at {EXAMPLES['CHROMIUM']}: apt-get install -y chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright: pip install -e '.[browser]' (python3 tasks.py test installs it)"
    return ""


def need(what: str) -> None:
    """Skip for want of ``what``, or fail under CI, which must run every browser test."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests, and this machine lacks {what}")
    pytest.skip(f"the step-through page's browser tests need {what}")


@pytest.fixture(scope="session")
def browser():
    if missing():
        need(missing())
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = EXAMPLES["launch_chromium"](playwright)
        yield chromium
        chromium.close()


class Page:
    """A page opened from disk, every request but the page itself refused and counted."""

    def __init__(self, browser, path: Path, width: int = 1280, height: int = 720, ready=True):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.url = path.resolve().as_uri()
        self.requests: list[str] = []  # refused
        self.errors: list[str] = []  # uncaught script errors
        self.page.route("**/*", self._route)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(self.url)
        if ready:  # the step-through page's script has run
            self.page.wait_for_selector("body[data-ready=yes]")

    def _route(self, route) -> None:
        if route.request.url == self.url:
            route.continue_()
        else:
            self.requests.append(route.request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def click(self, button: str) -> None:
        self.page.click(f"#{button}")

    @property
    def step(self) -> int:
        return int(self.page.get_attribute("body", "data-step"))

    def records(self) -> dict[str, tuple[str, str, str]]:
        """name -> (data text, grad text, the grad text's class), for each value drawn."""
        rows = self.page.evaluate(
            """() => [...document.querySelectorAll('g.node[id^="v"]')].map(g => {
                const t = g.querySelectorAll("text");
                return [t[0].textContent, t[1].textContent, t[2].textContent,
                        t[2].getAttribute("class") || ""];
            })"""
        )
        return {name: (data, grad, cls) for name, data, grad, cls in rows}

    def panel(self) -> tuple[str, list[str]]:
        head = self.page.text_content("#head")
        lines = self.page.eval_on_selector_all("#lines li", "lis => lis.map(l => l.textContent)")
        return head, lines

    def explain(self, name: str) -> str:
        """Click the value's record; the details panel's text."""
        self.page.evaluate(
            """name => [...document.querySelectorAll('g.node[id^="v"]')]
                .find(g => g.querySelector("text").textContent === name)
                .dispatchEvent(new MouseEvent("click", {bubbles: true}))""",
            name,
        )
        return self.page.inner_text("#details")


@pytest.fixture
def open_page(browser):
    pages = []

    def open_(path: Path, **viewport) -> Page:
        pages.append(Page(browser, path, **viewport))
        return pages[-1]

    yield open_
    for page in pages:
        page.close()
        assert page.requests == [], "the page asked the network for something"
        assert page.errors == [], "the page's script failed"


def engine_grads(root, steps):
    """backward()'s grads, as the boxes show them, by name."""
    root.backward()
    return {name: f"grad {box_number(v.grad)}" for name, v in zip(steps.names, steps.values)}


# --- stepping: keyboard, buttons, slider -------------------------------------------------------


def test_the_neuron_step_by_step_with_the_keyboard_then_the_buttons(neuron, open_page, tmp_path):
    o = neuron
    steps = backprop_steps(o)
    page = open_page(render(o, tmp_path / "neuron.html"))
    last = steps.step_count - 1
    assert last == 16 and page.step == 0
    assert page.page.text_content("#counter") == "Step 0 of 16"
    assert set(page.records().values()) == {("data ?", "grad ?", "unknown")}

    forward_end = len(steps.forward)
    for k in range(1, last + 1):
        page.press("ArrowRight")
        assert page.step == k
        records, (head, lines) = page.records(), page.panel()
        if k <= forward_end:  # the forward pass: values appear in order, grads all ?
            step = steps.forward[k - 1]
            assert head == steps.forward_text(step)
            computed = {steps.names[s.value] for s in steps.forward[:k]}
            for name, (data, grad, _) in records.items():
                assert (data == "data ?") == (name not in computed)
                assert grad == "grad ?"
        elif k == forward_end + 1:  # the start of backward: the result's grad is 1
            assert head == "do/do = 1.0: the result changes one for one with itself"
            assert records["o"][1:] == ("grad 1.0000", "known")
            assert {records[n][1] for n in records if n != "o"} == {"grad ?"}
        else:
            step = steps.backward[k - forward_end - 2]
            assert head == steps.backward_text(step)
            assert lines[: len(step.updates)] == [steps.update_text(u) for u in step.updates]
    # the README's chain-rule line, and every grad as backward() computes it
    assert page.panel()[1][0] == "do/dx2 += 1.0 × 0.5 = 0.5"
    assert "Done: every gradient is known" in page.panel()[1][-1]
    shown = {name: grad for name, (_, grad, _) in page.records().items()}
    assert shown == engine_grads(o, steps)
    assert shown["x1"] == "grad -1.5000" and shown["w1"] == "grad 1.0000"
    page.press("ArrowRight")  # past the end: nothing happens
    assert page.step == last

    page.click("back")
    assert page.step == last - 1
    while page.step > 0:
        page.click("back")
    assert page.page.is_disabled("#back") and page.page.is_disabled("#reset")
    assert set(page.records().values()) == {("data ?", "grad ?", "unknown")}
    for k in range(1, 4):
        page.click("next")
        assert page.step == k
    page.press("End")
    assert page.step == last and page.page.is_disabled("#next")
    page.press("Home")
    assert page.step == 0
    page.page.fill("#slider", "12")
    assert page.step == 12 and page.page.text_content("#counter") == "Step 12 of 16"
    page.press("ArrowLeft")
    assert page.step == 11
    page.click("reset")
    assert page.step == 0
    # Space plays, a step every 0.9 s, and pauses; so does the Play button
    page.press(" ")
    assert page.page.get_attribute("body", "data-playing") == "yes"
    page.page.wait_for_selector("body[data-step='1']", timeout=9000)  # 10 x 0.9 s: hung?
    page.press(" ")
    assert page.page.get_attribute("body", "data-playing") == "no"
    page.click("play")
    assert page.page.text_content("#play") == "❚❚ Pause"
    page.click("play")
    assert page.page.text_content("#play") == "▶ Play"
    # the neuron fits a 1280-pixel window: scaled to fit, which a checkbox turns off
    assert page.page.is_checked("#fit")
    assert page.page.evaluate("document.querySelector('#graph svg').classList.contains('fit')")
    page.page.uncheck("#fit")
    assert not page.page.evaluate("document.querySelector('#graph svg').classList.contains('fit')")


def test_a_reused_value_shows_each_contribution_then_the_sum(open_page, tmp_path):
    x = Value(3.0, label="x")
    a, b = x * 2, x * x
    y = a + b  # dy/dx = 2 + 2x = 8: one use through a, two through b
    y.label = "y"
    steps = backprop_steps(y)
    page = open_page(render(y, tmp_path / "reuse.html"))
    page.press("End")
    seen = []
    for k in range(len(steps.forward) + 2, steps.step_count):
        page.page.fill("#slider", str(k))
        updates = steps.backward[k - len(steps.forward) - 2].updates
        if any(steps.names[u.child] == "x" for u in updates):
            seen.append((page.records()["x"][1:], page.panel()[1]))
    (first, first_lines), (then, then_lines) = seen  # x's first use, then its last two
    assert first == ("grad 2.0000 + ?", "fresh")  # a running total, more to come
    assert first_lines == ["dy/dx += 2.0 × 1.0 = 2.0   (use 1 of 3)"]
    assert then == ("grad 8.0000", "fresh")
    assert then_lines[:2] == [
        "dy/dx += 3.0 × 1.0 = 3.0   (use 2 of 3; total so far 2.0 + 3.0 = 5.0)",
        "dy/dx += 3.0 × 1.0 = 3.0   (use 3 of 3; total so far 5.0 + 3.0 = 8.0)",
    ]
    page.press("End")
    assert page.records()["x"][1] == "grad 8.0000"
    details = page.explain("x")
    assert "dy/dx = dy/dv1 × dv1/dx + dy/dv2 × dv2/dx + dy/dv2 × dv2/dx" in details
    assert "= 2.0 + 3.0 + 3.0" in details and "grad 8.0" in details


COPIES = """() => [...document.querySelectorAll('g.node[id^="c"]:not([id^="cut"])')].map(
    g => [g.querySelector("text").textContent, g.getAttribute("class")])"""


def test_an_unrolled_rnn_lights_the_copies_of_its_shared_weights(
    open_page, tmp_path, reused_graphs
):
    """Backprop through time: w, u and b are drawn once, and again beside each step that uses
    them; a copy follows its value (pending until computed) and lights up where it is used."""
    loss = reused_graphs["50-step RNN"]
    steps = backprop_steps(loss)
    page = open_page(render(loss, tmp_path / "rnn.html"))
    copies = page.page.evaluate(COPIES)
    assert len(copies) >= 95 and all("pending" in cls for _, cls in copies)
    page.page.fill("#slider", str(len(steps.forward)))  # the forward pass done: none pending
    assert not any("pending" in cls for _, cls in page.page.evaluate(COPIES))
    w = steps.names.index("w")
    # the first backward step to pass a gradient to w: the last RNN step's w * h
    b = next(b for b, step in enumerate(steps.backward) if w in steps.forward[step.value].children)
    page.page.fill("#slider", str(len(steps.forward) + 2 + b))
    lit = [text for text, cls in page.page.evaluate(COPIES) if "operand" in cls]
    assert lit == ["w (again)"]  # its use here is drawn from a copy: the last step's
    page.press("End")
    shown = {name: grad for name, (_, grad, _) in page.records().items()}
    assert shown == {
        name: f"grad {box_number(v.grad)}" for name, v in zip(steps.names, steps.values)
    }
    page.page.evaluate(
        """() => [...document.querySelectorAll('g.node[id^="c"]')]
            .find(g => g.querySelector("text").textContent === "w (again)")
            .dispatchEvent(new MouseEvent("click", {bubbles: true}))"""
    )
    details = page.page.inner_text("#details")
    assert "dloss/dw = dloss/d" in details and f"grad {steps.grads[w]!r}" in details


@settings(max_examples=4, deadline=None)
@given(expressions())
def test_a_random_graphs_page_shows_backwards_grads_exactly(browser, expr):
    out = expr([Value(x) for x in expr.inputs])
    steps = backprop_steps(out)
    with tempfile.TemporaryDirectory() as folder:
        page = Page(browser, render(out, Path(folder) / "random.html"))
        try:
            page.page.fill("#slider", str(len(steps.forward) + 1))  # backward has just begun
            before = page.records()
            assert {before[n][1] for n in steps.names[:-1]} <= {"grad ?"}
            page.press("End")
            shown = {name: grad for name, (_, grad, _) in page.records().items()}
            assert shown == engine_grads(out, steps)
            for name, value in zip(steps.names, steps.values):  # the exact floats, on click
                assert f"grad {value.grad!r}" in page.explain(name)
            assert page.requests == [] and page.errors == []
        finally:
            page.close()


# --- big graphs, pictures, hostile labels, notebooks -------------------------------------------


def test_a_2000_value_chain_drawn_whole_loads_and_reaches_its_last_step(
    open_page, tmp_path
):
    y = Value(0.5, label="x")
    for _ in range(1_999):
        y = y * 1.0
    path = render(y, tmp_path / "chain.html", max_nodes=None)
    last = backprop_steps(y).step_count - 1

    def timed_visit() -> tuple[float, str]:
        """Load the page in a new tab, go to its last step, then ten steps back."""
        start = time.perf_counter()
        page = open_page(path)  # the tab opened, the page loaded and its script run
        opened = time.perf_counter()
        # the page's own clock: from the start of its navigation to its script having run
        load = page.page.evaluate(
            "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd / 1000"
        )
        before_end = time.perf_counter()
        page.press("End")
        page.page.wait_for_selector(f"body[data-step='{last}']")
        to_the_end = time.perf_counter() - before_end
        records = page.records()
        assert len(records) == 2_000 and records["x"][1] == "grad 1.0000"
        stepping_from = time.perf_counter()
        for k in range(1, 11):  # ten steps back, one key each
            page.press("ArrowLeft")
            page.page.wait_for_selector(f"body[data-step='{last - k}']")
        stepping = (time.perf_counter() - stepping_from) / 10
        return load + to_the_end, (
            f"loaded in {load:.2f} s ({opened - start:.2f} s with opening the tab), last step "
            f"({last}) {to_the_end:.2f} s later, a step back {stepping * 1000:.0f} ms"
        )

    # it takes under 3 s on a quiet machine: the time is printed, and only a hang (ten times
    # that) fails, so that a machine busy with other work does not fail the suite
    total, text = timed_visit()
    report = f"2,000-value chain, {path.stat().st_size:,} bytes: {text}"
    print("\n" + report)
    assert total < 30.0, report


def test_a_cut_page_says_what_was_left_out_and_still_steps_through(open_page, tmp_path):
    y = Value(0.5, label="x")
    for _ in range(99):
        y = (y * 1.0).tanh()
    with pytest.warns(UserWarning, match="showing the 30 of 199 values"):
        path = render(y, tmp_path / "cut.html", max_nodes=30)
    page = open_page(path)
    assert "showing the 30 of 199 values" in page.page.text_content("#note")
    assert page.page.is_visible("#note")
    page.press("End")
    assert page.step == backprop_steps(y).step_count - 1 and len(page.records()) == 30


def test_a_mid_backward_screenshot_is_a_real_picture(browser, tmp_path):
    from PIL import Image, ImageStat

    path = EXAMPLES["backprop_screenshot"](browser, tmp_path)  # as docs/backprop_page.png
    with Image.open(path) as picture:
        assert picture.size == (1280, 640)
        grey = picture.convert("L")
        assert ImageStat.Stat(grey).stddev[0] > 20, "the screenshot is blank"
        # the picture's lower half holds the graph: not blank either
        lower = grey.crop((0, 320, 1280, 640))
        assert ImageStat.Stat(lower).stddev[0] > 20


def test_hostile_labels_show_as_text_and_run_nothing(open_page, tmp_path):
    x = Value(1.0, label=HOSTILE[0])
    w = Value(2.0, label=HOSTILE[1])
    z = (x * w).tanh()
    z.label = HOSTILE[2]
    page = open_page(render(z, tmp_path / "hostile.html"))
    page.press("End")
    assert set(HOSTILE) <= set(page.records())  # the records' names, written as they are
    details = page.explain(HOSTILE[0])
    assert details.startswith(HOSTILE[0]) and HOSTILE[2] in details
    lines = page.panel()[1]  # the last step: x * w passing its gradient to x and w
    assert lines[0].startswith(f"d({HOSTILE[2]})/d({HOSTILE[0]}) += ")
    # and nothing became markup: no image, no script but the page's own, nothing ran
    assert page.page.evaluate("document.images.length") == 0
    assert page.page.evaluate("document.scripts.length") == 2  # the data and the page's own
    assert page.page.evaluate("window.pwned") is None


def test_an_executed_notebook_carries_the_page(open_page, tmp_path):
    try:
        import nbclient
        import nbformat
    except ImportError:
        need("nbclient and ipykernel: pip install -e '.[lessons]'")
    code = """
from tinygrad_edu import Value, show_backprop
x, w = Value(2.0, label="x"), Value(-3.0, label="w")
y = (x * w).tanh()
y.label = "y"
show_backprop(y)
"""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    (output,) = notebook.cells[0].outputs
    markup = output["data"]["text/html"]
    assert markup.startswith("<iframe srcdoc=")
    saved = tmp_path / "notebook_output.html"  # the output as a notebook viewer shows it
    saved.write_text(f"<!DOCTYPE html><html><body>{markup}</body></html>", encoding="utf-8")
    page = open_page(saved, ready=False)
    frame = page.page.frame_locator("iframe")
    frame.locator("body[data-ready=yes]").wait_for()
    frame.locator("#next").click()
    frame.locator("body").press("End")
    assert re.fullmatch(r"Step (\d+) of \1", frame.locator("#counter").text_content())
    x, w = Value(2.0), Value(-3.0)
    (x * w).tanh().backward()
    grads = frame.locator('g.node[id^="v"] text:nth-of-type(3)').all_text_contents()
    assert f"grad {box_number(x.grad)}" in grads and f"grad {box_number(w.grad)}" in grads
