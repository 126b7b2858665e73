#!/usr/bin/env python3
"""house prices, 3 linear layers that collapse to one linear map.

    python demos/houses.py [--epochs N] [--seed S] [--out DIR]

The same as `tinygrad-edu demo houses`: the code is in tinygrad_edu/demos/houses.py.
"""

import sys

from tinygrad_edu.demos import houses

if __name__ == "__main__":
    sys.exit(houses.main())
