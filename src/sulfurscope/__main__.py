"""``python -m sulfurscope``: the command line (same as the ``sulfurscope`` script)."""

from sulfurscope.cli import main

if __name__ == "__main__":
    main()
