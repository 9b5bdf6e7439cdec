"""`python -m sentinelle.server` is `sentinelle`."""

from sentinelle.server.cli.main import main

if __name__ == "__main__":
    main()
