"""The store: Sentinelle's SQLite database and evidence folder, behind its door.

The only package that speaks SQL (tests/test_layout.py checks it): the tables (`schema`) and
their migrations (`migrations`), the records and the questions asked of them (`records.Store`, which
inherits them: the protected photos in `photos`, alerts and their evidence in `sightings`, the
children in `children`, the watch list's in `watchlist`, the parent's channels and their outbox
in `outbox`, and how a child's name is matched in `child_names`), and the door
(`door.StoreDoor`) through which a running Sentinelle reaches them: writes in one thread,
reads in another, never on the event loop.
"""
