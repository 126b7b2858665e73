#!/usr/bin/env python3
"""handwritten digits 8×8, 64 → 32 ReLU → 10, mini-batches, Adam.

    python demos/digits.py [--epochs N] [--seed S] [--out DIR]

The same as `tinygrad-edu demo digits`: the code is in tinygrad_edu/demos/digits.py.
"""

import sys

from tinygrad_edu.demos import digits

if __name__ == "__main__":
    sys.exit(digits.main())
