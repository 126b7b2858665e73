"""Reference solution to exercise 4."""


def relu_derivative(x: float) -> float:
    return 1.0 if x > 0 else 0.0


def leaky_relu_derivative(x: float, slope: float = 0.01) -> float:
    return 1.0 if x > 0 else slope
