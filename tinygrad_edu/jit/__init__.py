"""jit: capture a function's computation graph once, then replay it, vectorized, many times.

Why frameworks compile
----------------------
A training step builds the same graph every time it runs: the same ops on the same shapes,
only the numbers change. The eager engine pays for that graph on every call, in Python: one
object per op, one call of the op's rules per node, one trip around backward()'s loop per
edge. About a microsecond each, whatever the numbers are.

``jit`` does the work of building the graph once::

    step = jit(lambda points: losses.hinge([model(x)[0] for x in points], labels))
    loss = step(points)     # the first call runs the function and CAPTURES the graph it builds
    loss.backward()         # the replay's backward: grads land in model.parameters()
    loss = step(points)     # a later call with inputs of the same structure REPLAYS the graph

Compiling the captured graph means scheduling it for numpy:

1. Levels. A node's level is one more than its deepest child's (inputs and parameters are
   level 0), so the nodes of one level depend only on nodes of lower levels. In an MLP on a
   batch of 100, level 1 holds the first layer's 1,600 dot products, one per neuron and
   sample.
2. Groups. Within a level, the nodes of one op (same row of the op table, same settings) form
   a group. Each number of the graph has a slot in one array, and each group keeps the slots
   of its operands: replaying a group is one gather, the op's own rules from ``ops.py``
   applied to whole arrays (``x * (x > 0)`` works on an array as on a float), and one write
   of the results into the group's slots. A few numpy calls for 1,600 nodes instead of 1,600
   trips through Python.
3. Backward is the chain rule ``child.grad += local_grad * parent.grad`` (engine.py) for all
   the edges into one level at once, from the top level down:
   ``np.add.at(grad, child, local * grad[parent])``. When a level's turn comes, every parent
   of its nodes is above it, so their grads are complete. np.add.at adds in the order of its
   arrays, which is the order eager backward() adds in: every gradient is backward()'s sum.

``step.explain()`` shows the levels and groups a capture became.

Eager mode's numbers, or an error
---------------------------------
A replay gives what eager mode would give, values and gradients, or it raises an error that
says why; it never gives a third answer. So, before a replay:

- each call checks that fn still reaches the same Values from outside (``guard.py``):
  after ``model = MLP(...)``, a replaced parameter or an appended layer, jit captures again;
- a capture refuses a function with side effects that a replay would not repeat
  (``backward()`` or an optimizer's ``step()`` inside fn), and a Value that fn reaches by a way
  jit cannot check again (``UnsafeCaptureError``);
- a Value computed before the call, read from outside (``baseline = model(x0)[0]``), is no
  work of fn's: the replay reads its number, as eager mode does, and backward continues
  through its graph.

What a capture freezes
----------------------
As with ``torch.jit.trace``, the capture records the ops fn performed, not fn's Python code.
Python that looks at numbers (``if x.data > 0:``, ``max(z.data for z in zs)``, a number read
with ``.data`` and used as a constant) ran once, at capture, and its outcome is part of the
program: a replay does not run it again. ``jit(fn, check=True)`` also runs fn on every call,
and raises ``CaptureMismatchError`` when the ops fn performs, its outputs or their gradients
differ from the replay's. Ints, bools and None among the inputs are part of the structure:
another value captures again; so are the arguments named by ``static_argnums``.

Inputs and gradients
--------------------
Numbers, Values, ints and (nested) lists or tuples of them. Each number or Value among the
inputs becomes an input of the graph: fn runs on a stand-in Value for each, and a Value
passed in receives its gradient on ``backward()`` as any leaf does (so a caller may pass the
embedding rows its tokens select). The parameters fn reaches are read anew on each call, so
an optimizer's updates are seen, and they accumulate their gradients on ``backward()``, as in
eager mode. Every result fn returned, and every node of its graph that was looked at, gets
its gradient on ``backward()`` as in eager mode.

Exactness
---------
The replay computes what the eager engine computes, with the same rules, and adds up each
node's gradient contributions in backward()'s own order (even where they cancel, the digits
are backward()'s), but rounds differently in two places: ``Value.sum`` and ``Value.dot`` add
up with numpy (the eager engine uses math.fsum, exactly rounded), except a sum whose terms
cancel, which the replay adds with math.fsum too, so that every replayed sum is eager mode's to
1e-13 of max(|x|, 1); and numpy's exp, log, tanh and pow may differ from libm's in the last bit.
Replayed values and gradients agree with eager ones to 1e-12 of max(|x|, 1) (tests/test_jit.py)
unless fn magnifies such last-bit differences: it subtracts nearly equal numbers after them, a
known gap that ``jit(fn, check=True)`` shows. An op whose result fn drops is replayed too, and
fails where eager mode fails (``capture.NodeRecorder``).

The files, in the order a call meets them
-----------------------------------------
- ``api.py``: ``jit(fn)``, and its captures, one per input structure;
- ``inputs.py``: a call's arguments, the graph's inputs and the structure;
- ``capture.py``: the first call, fn run on stand-ins, and what is refused; the search for what
  fn reaches (``reach.py``, through ``names.py`` and ``containers.py``) and the graph's Values
  sorted by where they come from (``split.py``);
- ``program.py``: the compiler (slots, levels, groups, edges), the replay and its backward; the
  groups' numpy in ``groups.py``, a user's ``@op`` rows in ``user_ops.py``;
- ``guard.py``: what each later call checks first;
- ``call.py``: the Values a call returns, and backward() through a replay;
- ``check.py``: ``jit(fn, check=True)``, a replay compared with a run of fn.
"""

from .api import CaptureEvictedWarning, RecaptureWarning, jit
from .capture import UnsafeCaptureError
from .check import CaptureMismatchError

__all__ = [
    "CaptureEvictedWarning",
    "CaptureMismatchError",
    "RecaptureWarning",
    "UnsafeCaptureError",
    "jit",
]
