#!/usr/bin/env python3
"""two moons, 2 → 10 ReLU → 1 sigmoid, and the numpy reference alongside.

    python demos/moons.py [--epochs N] [--seed S] [--out DIR]

The same as `tinygrad-edu demo moons`: the code is in tinygrad_edu/demos/moons.py.
"""

import sys

from tinygrad_edu.demos import moons

if __name__ == "__main__":
    sys.exit(moons.main())
