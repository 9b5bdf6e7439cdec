"""`python -m server` is `sentinelle`."""

from server.cli import main

main()
