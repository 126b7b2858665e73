#!/usr/bin/env python3
"""one neuron y = f(w·x + b): forward, loss, backward, optimize.

    python demos/neuron.py [--epochs N] [--seed S] [--out DIR]

The same as `tinygrad-edu demo neuron`: the code is in tinygrad_edu/demos/neuron.py.
"""

import sys

from tinygrad_edu.demos import neuron

if __name__ == "__main__":
    sys.exit(neuron.main())
