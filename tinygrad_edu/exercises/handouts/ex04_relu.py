"""Exercise 4: ReLU and leaky ReLU, and what happens at the kink.

The idea
    relu(x) = max(x, 0) passes positive numbers and blocks negative ones: a neuron "fires"
    or it does not. Its graph is two straight lines meeting at a kink at x = 0. On each side
    the derivative is the slope of the line; at the kink itself there is no derivative at all
    (the slope from the left is 0, from the right 1). Frameworks simply pick a value there:
    PyTorch, and this engine, take relu'(0) = 0.

    A ReLU whose input is negative for every sample passes no gradient back, so its weights
    never change again: a "dead" neuron. leaky_relu(x) = x for x > 0, slope * x otherwise,
    keeps a small slope on the left so that the gradient never vanishes entirely; at its kink
    this engine takes leaky_relu'(0) = slope.

Derive
    d relu(x)/dx and d leaky_relu(x)/dx, on each side of the kink, and at x = 0 the values
    the engine uses: 0 for relu, slope for leaky_relu.

Hint
    One comparison each. Mind which side x = 0 falls on: x > 0 is not x >= 0. Finite
    differences cannot tell you: at 0 the central difference of relu is
    (relu(h) - relu(-h)) / 2h = 1/2, the slope of neither line. So the checker judges x = 0
    by the engine alone.

Check:  tinygrad-edu exercises check <this folder> 4
"""


def relu(x: float) -> float:
    """max(x, 0), given (the forward pass)."""
    return x if x > 0 else 0.0


def leaky_relu(x: float, slope: float = 0.01) -> float:
    """x for x > 0, slope * x otherwise, given (the forward pass)."""
    return x if x > 0 else slope * x


def relu_derivative(x: float) -> float:
    """d relu(x)/dx at x, with relu'(0) = 0."""
    raise NotImplementedError("exercise 4: d relu(x)/dx")


def leaky_relu_derivative(x: float, slope: float = 0.01) -> float:
    """d leaky_relu(x)/dx at x, with leaky_relu'(0) = slope."""
    raise NotImplementedError("exercise 4: d leaky_relu(x)/dx")
