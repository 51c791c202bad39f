"""`python -m postpilot`: the same entry point as the `postpilot` console script."""

from __future__ import annotations

from postpilot.cli import main

if __name__ == "__main__":
    main()
