#!/usr/bin/env python3
"""a GPT of scalar Values learns first names and makes up new ones.

    python demos/names.py [--steps N] [--batch B] [--data FILE] [--seed S] [--out DIR]

The same as `tinygrad-edu demo names`: the code is in tinygrad_edu/demos/names.py.
"""

import sys

from tinygrad_edu.demos import names

if __name__ == "__main__":
    sys.exit(names.main())
