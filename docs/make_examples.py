"""Regenerate the example pictures of docs/rendering.md and docs/demos.md.

    .venv/bin/python docs/make_examples.py     # docs/neuron.svg, docs/mlp_loss.svg,
                                               # docs/rnn.svg, docs/rnn_without_copies.svg
                                               # (instant), docs/backprop_page.png (headless
                                               # Chromium), docs/moons_loss.png (the moons
                                               # demo, ~1 min), docs/names_loss.png and
                                               # docs/names_attention.png (the names demo, ~15 s)

All are drawn by tinygrad_edu itself, so they show exactly what users get. The screenshot of
the step-through page is taken by Debian's Chromium (``apt-get install chromium``) driven by
Playwright (the ``browser`` extra); the browser tests take it the same way, with the same
function.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tinygrad_edu import MLP, Value, backprop_steps, losses, render, viz

if TYPE_CHECKING:  # the browser extra's Playwright, imported only where a browser is used
    from playwright.sync_api import Browser, Page, Playwright

DOCS = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")  # Debian's: apt-get install chromium
# headless, and nothing reaching out: without the networking flags Chromium calls home
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def neuron() -> Value:
    """micrograd's neuron, o = tanh(x1 w1 + x2 w2 + b), after backward()."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def mlp_loss() -> tuple[Value, MLP]:
    """L = mse(MLP(x), y) for a 2-3-1 tanh network on one sample, after backward()."""
    model = MLP(2, [3, 1], activation="tanh", seed=1)
    x = [Value(1.0, label="x1"), Value(-0.5, label="x2")]
    loss = losses.mse(model(x), [1.0])
    loss.label = "L"
    loss.backward()
    return loss, model


def rnn() -> Value:
    """docs/rendering.md's scalar RNN unrolled over three inputs, h_t = tanh(w h_{t-1} + u x_t
    + b), and its loss (h_3 - 0.5)^2, after backward(): w, u and b are used at every step."""
    w, u, b = Value(0.8, label="w"), Value(0.5, label="u"), Value(0.1, label="b")
    h = Value(0.0, label="h0")
    for t, x_t in enumerate([1.0, -0.5, 0.5], start=1):
        h = (w * h + u * Value(x_t, label=f"x{t}") + b).tanh()
        h.label = f"h{t}"
    loss = (h - 0.5) ** 2
    loss.label = "loss"
    loss.backward()
    return loss


def reuse_graphs(out: Path = DOCS) -> list[Path]:
    """The RNN of docs/rendering.md as drawn today, each far use of w, u and b from a copy of
    it, and as it was drawn before copies: an arrow from the one box to every use."""
    loss = rnn()
    with_copies = render(loss, out / "rnn.svg")
    far = viz.FAR
    viz.FAR = math.inf  # no use is far: every arrow comes from the value's one box
    try:
        without = render(loss, out / "rnn_without_copies.svg")
    finally:
        viz.FAR = far
    return [with_copies, without]


def moons_loss(out: Path) -> Path:
    """The moons demo's loss curves (engine and numpy reference), from its default run."""
    from tinygrad_edu.demos import moons

    with tempfile.TemporaryDirectory() as folder:
        result = moons.run(out=Path(folder))
        (curve,) = [path for path in result.files if path.name == "moons_loss.png"]
        return Path(shutil.copy(curve, out / curve.name))


def names_pictures(out: Path) -> list[Path]:
    """The names demo's loss curve and attention picture, from its default run."""
    from tinygrad_edu.demos import names

    with tempfile.TemporaryDirectory() as folder:
        result = names.run(out=Path(folder))
        return [Path(shutil.copy(path, out / path.name)) for path in result.files]


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, through Playwright (whose own browser download is not
    needed)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def backprop_screenshot(browser: Browser, out: Path = DOCS) -> Path:
    """``backprop_page.png``: the neuron's step-through page in the middle of the backward
    pass, v1 = x1 * w1 passing its gradient to x1 and w1, with x1's chain rule open."""
    o = neuron()
    steps = backprop_steps(o)
    (v1,) = [b for b, s in enumerate(steps.backward) if steps.names[s.value] == "v1"]
    step = 1 + len(steps.forward) + 1 + v1  # the page's numbering: see BackpropSteps.table
    with tempfile.TemporaryDirectory() as folder:
        page_path = render(o, Path(folder) / "neuron_backprop.html")
        page = browser.new_page(viewport={"width": 1280, "height": 640})
        try:
            page.goto(page_path.as_uri())
            page.wait_for_selector("body[data-ready=yes]")
            for _ in range(step):
                page.keyboard.press("ArrowRight")
            page.click("#v" + _record_number(page, "x1"))
            path = out / "backprop_page.png"
            page.screenshot(path=path)
        finally:
            page.close()
    return path


def _record_number(page: Page, name: str) -> str:
    """The number of the record that shows ``name`` in the page's picture."""
    return page.evaluate(
        """name => [...document.querySelectorAll("g.node[id^=v]")]
            .find(g => g.querySelector("text").textContent === name).id.slice(1)""",
        name,
    )


def graphs(out: Path = DOCS) -> list[Path]:
    """The two graph pictures of docs/rendering.md."""
    loss, model = mlp_loss()
    return [
        render(neuron(), out / "neuron.svg"),
        render(loss, out / "mlp_loss.svg", params=model, rankdir="TB"),
    ]


def screenshots(out: Path = DOCS) -> list[Path]:
    """The step-through page's screenshot, taken in headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            return [backprop_screenshot(browser, out)]
        finally:
            browser.close()


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS
    for path in [
        *graphs(out),
        *reuse_graphs(out),
        *screenshots(out),
        moons_loss(out),
        *names_pictures(out),
    ]:
        print(f"wrote {path}")
