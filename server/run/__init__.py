"""Running Sentinelle: the composition root (`root`) and the fronts' adapters (`runner` for the
mitmproxy front, `icap_runner` for the ICAP one, `mitmdump_addon` inside someone else's mitmdump)."""


class RunError(Exception):
    """Sentinelle cannot start (a port in use, a bad option); the message says what to do."""
