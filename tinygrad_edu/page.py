"""The step-through page: backprop step by step, as one self-contained HTML file.

``render(root, "backprop.html")`` (or ``viz.backprop_page``) draws the graph as SVG and hands it
here with the steps (``steps.backprop_steps``); this module puts both into the page template
``stepthrough.html`` beside it, whose CSS and JavaScript are inline: the file needs nothing but
a browser, opened from disk, with no network at all. The template's script only places the
texts written here (every number is formatted once, in Python, by the step model) and moves the
highlight; it never turns text into markup, so a label such as ``<script>`` shows as written.
A Content-Security-Policy allows exactly the template's script (by its hash) and no network
access of any kind.

:class:`BackpropPage` shows the page inline in Jupyter (an ``iframe`` whose ``srcdoc`` holds
the whole page, so a saved notebook keeps it and nothing has to be installed in Jupyter).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Union

from .steps import BackpropSteps, ForwardStep, box_number, number

TEMPLATE = "stepthrough.html"
_SLOT = re.compile(r"/\*\{(\w+)\}\*/")  # /*{NAME}*/ in the template
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
# what Graphviz writes that the page does without: comments and tooltips naming the DOT ids,
# and two attributes on every text that the page's CSS sets once (a big page loads faster)
_SVG_ID = re.compile(r' id="([^"]*)"')  # labels are escaped: no id=" in any text
_SVG_SPARE = re.compile(
    r'<!--.*?-->\n?|<title>[^<]*</title>\n?| xml:space="preserve"| font-family="[^"]*"'
)
# a line of a step's explanation: a text, or a local derivative's rule set apart,
# {"t": text, "c": "rule"} (see _rules)
Line = Union[str, dict[str, str]]


def page_html(
    steps: BackpropSteps,
    svg: str,
    drawn: Sequence[int],
    note: str = "",
    turned: tuple[str, str] | None = None,
) -> str:
    """The page for ``steps`` and the graph's ``svg`` (as ``viz`` draws it, with ids ``v{i}``,
    ``op{i}``, ``e{i}_{k}``, ``r{i}``), where ``drawn[j]`` is the record number of
    ``steps.values[j]`` in the picture (-1: left out, see ``note``). ``turned``: the same
    picture laid out the other way, ``(rankdir, svg)``, for the page's "turn" button."""
    template = resources.files(__package__).joinpath(TEMPLATE).read_text(encoding="utf-8")
    (script,) = _SCRIPT.findall(template)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    result = steps.names[steps.result]
    direction, other = turned or ("", "")
    data = _page_data(steps, drawn, note)
    data["layouts"] = [""]  # the pictures' directions: the turned one's and its opposite
    if other:
        data["layouts"] = ["LR" if direction in ("TB", "BT") else "TB", direction]
    slots = {
        "TITLE": html.escape(f"Backprop step by step: {result}"),
        "RESULT": html.escape(result),
        "CSP": f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'",
        "SVG": _picture(svg),
        # the second picture's ids after "t-": the page's script finds its records by them
        "TURNED": _SVG_ID.sub(r' id="t-\1"', _picture(other)) if other else "",
        "DATA": _json_in_html(data),
    }
    return _SLOT.sub(lambda m: slots[m.group(1)], template)


def _picture(svg: str) -> str:
    """An SVG from Graphviz as the page holds it: from its <svg> on, without what it spares."""
    return _SVG_SPARE.sub("", svg[svg.index("<svg") :])


def _json_in_html(data: object) -> str:
    """JSON that stays inert inside a <script> element: no "<", ">" or "&" as such."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page_data(steps: BackpropSteps, drawn: Sequence[int], note: str) -> dict:
    """What the page's script shows, every number already written as text. A text that the
    steps compute is kept with the step that computes it, ``[text, step]``, so that before
    that step the page shows ``?`` in its place (see :func:`_parts`)."""
    values = []
    for i, (value, name) in enumerate(zip(steps.values, steps.names)):
        forward = steps.forward[i]
        if forward.formula:
            # "computed at step 6: v1 = x1 * w1 = " and, from step 6, "2.0 * (-3.0) = -6.0"
            computed = f"{forward.numbers} = {number(forward.result)}"
            text = steps.forward_text(forward)
            at = steps.computed_at(i)
            kind = f"{'the result, ' if i == steps.result else ''}computed at step {at}: "
            parts = [(kind + text[: -len(computed)], 0), (computed, at)]
        else:
            kind = "the result, " if i == steps.result else ""
            parts = [(kind + "a leaf: a number given to the graph (an input or a parameter)", 0)]
        values.append(
            {
                "n": name,
                "s": drawn[i],  # its record in the picture, v{s}; -1 when left out
                "c": len(forward.children),
                "ch": sorted(set(forward.children)),
                "d": f"data {box_number(value.data)}",
                "g": f"grad {box_number(steps.grads[i])}",
                "x": repr(value.data),
                "gx": repr(steps.grads[i]),
                "k": _parts(parts),
                "r": [_parts(line) for line in steps.chain_rule_parts(i)],
            }
        )
    completed: list[list[int]] = [[] for _ in steps.backward]
    for i, after in enumerate(steps.complete_after):
        if after >= 0:
            completed[after].append(i)

    page_steps: list[dict] = [
        {
            "p": "start",
            "v": steps.result,
            "h": "Nothing is computed yet: every value shows ? for its data and its grad.",
            "l": [
                f"The result, {steps.names[steps.result]} (the box with the thick frame), is the "
                "value whose gradient backprop computes, with respect to every value before it.",
                "Press Next (or →) to run the forward pass: the leaves (the numbers given) "
                "first, then each value from its operands.",
            ],
        }
    ]
    for step in steps.forward:
        if step.formula:
            lines: list[Line] = ["Its local derivatives, kept for the backward pass:"]
            lines += _rules(steps, step, range(len(step.children)))
        else:
            lines = ["A leaf: a number given to the graph (an input or a parameter)."]
        text = steps.forward_text(step)
        page_steps.append({"p": "forward", "v": step.value, "h": text, "l": lines})
    page_steps.append(
        {
            "p": "seed",
            "v": steps.result,
            "h": steps.seed_text(),
            "l": [
                "The backward pass starts at the result and applies the chain rule node by "
                "node, in the order backward() uses. Each node, once its gradient is complete, "
                "passes it to its operands: child.grad += local derivative × gradient.",
            ],
        }
    )
    for b, back in enumerate(steps.backward):
        lines = [steps.update_text(u) for u in back.updates]
        if back.updates:  # the updates are made edge by edge, in the order of the children
            forward = steps.forward[back.value]
            lines.append(f"with the local derivatives of step {steps.computed_at(back.value)}:")
            lines += _rules(steps, forward, range(len(back.updates)))
        page_steps.append(
            {
                "p": "backward",
                "v": back.value,
                "h": steps.backward_text(back),
                "l": lines,
                "u": [[u.child, f"grad {box_number(u.after)} + ?"] for u in back.updates],
                "f": completed[b],
            }
        )
    page_steps[-1]["l"].append("Done: every gradient is known, the same as backward()'s.")
    return {
        "note": note,
        "values": values,
        "steps": page_steps,
    }


def _rules(steps: BackpropSteps, step: ForwardStep, edges: Iterable[int]) -> list[Line]:
    """The local derivatives of ``step``'s ``edges``, each once, as lines set apart."""
    texts = dict.fromkeys(steps.local_text(step, k) for k in edges)
    return [{"t": text, "c": "rule"} for text in texts]


def _parts(parts: Sequence[tuple[str, int]]) -> list:
    """A line of texts for the page: a text known from the start as such, a text known from
    step k on as ``[text, k]`` (the page shows ``?`` before), neighbours known alike joined."""
    line: list = []
    for text, step in parts:
        last = line[-1] if line else None
        if not step and isinstance(last, str):
            line[-1] = last + text
        elif step and isinstance(last, list) and last[1] == step:
            last[0] += text
        else:
            line.append([text, step] if step else text)
    return line


class BackpropPage:
    """The step-through page, shown inline by Jupyter (``_repr_html_``): an ``iframe`` whose
    ``srcdoc`` is the whole page, sandboxed to run its own script only. ``.html`` is the
    page itself."""

    def __init__(self, page: str, height: int = 640) -> None:
        self.html, self.height = page, height

    def __repr__(self) -> str:
        return (
            f"<BackpropPage, {len(self.html):,} characters: Jupyter shows it when it ends a cell; "
            "elsewhere write it with render(root, 'backprop.html') and open it in a browser>"
        )

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" sandbox="allow-scripts" '
            f'style="width: 100%; height: {self.height}px; border: 1px solid #d1d5db" '
            'title="backprop step by step"></iframe>'
        )
