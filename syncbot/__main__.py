"""`python -m syncbot` is the same as the `syncbot` console script."""

from syncbot.cli import main

if __name__ == "__main__":
    main()
