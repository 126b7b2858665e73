#!/usr/bin/env python3
"""3 → 4 ReLU → 2 softmax: dL/dz2 = ŷ − y, autograd = hand backprop.

    python demos/feedforward.py [--epochs N] [--seed S] [--out DIR]

The same as `tinygrad-edu demo feedforward`: the code is in tinygrad_edu/demos/feedforward.py.
"""

import sys

from tinygrad_edu.demos import feedforward

if __name__ == "__main__":
    sys.exit(feedforward.main())
