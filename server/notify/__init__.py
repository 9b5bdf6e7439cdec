"""Alerts reach the parent away from the PC: their phone or their mailbox, through Apprise.

What a message says, and how little (`news`); when a channel's notes are due (`timing`: at
once, the daily digest, quiet hours, retries); Apprise, the one door to the services, and what
is shown of a channel's URL (`channels`); and the notifier, which listens to the events,
keeps the outbox in the store and sends from a thread of its own (`sender`). The channels and
the outbox live in the store (server/store/outbox.py).
"""
