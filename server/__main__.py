"""`python -m server` is `sentinelle`."""

from server.cli import main

if __name__ == "__main__":
    main()
