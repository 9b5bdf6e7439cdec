"""Test only: the desktop's notification service (org.freedesktop.Notifications) on a private
D-Bus session bus, so that a test sees a notification as the parent's desktop shows it and
clicks it as the parent does.

Chromium on Linux hands its notifications (the extensions' too) to this service when the
session bus has one (chrome/browser/notifications/notification_platform_bridge_linux.cc): a
click is the service's `ActionInvoked(id, "default")` signal, which Chromium turns into
`chrome.notifications.onClicked`. Nothing of the browser is faked: only the desktop is.

The service itself runs under Debian's python3 (its python3-dbus and python3-gi), as a child
process: `python3 notification_daemon.py` prints one JSON line per notification shown, and
reads `click <id>` lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"


class Desktop:
    """The notifications the service was asked to show, and the parent's clicks."""

    def __init__(self, process: subprocess.Popen, bus_address: str) -> None:
        self._process = process
        self.bus_address = bus_address
        self._lines: queue.Queue[dict] = queue.Queue()
        self.shown: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self._process.stdout:
            self._lines.put(json.loads(line))

    def wait_for(self, summary: str, timeout: float = 20.0) -> dict:
        """The first notification shown with this title (waiting for it)."""
        while True:
            found = [n for n in self.shown if n["summary"] == summary]
            if found:
                return found[0]
            try:
                self.shown.append(self._lines.get(timeout=timeout))
            except queue.Empty:
                raise TimeoutError(f"no notification {summary!r}; shown: {self.shown}") from None

    def click(self, notification: dict) -> None:
        """The parent clicks the notification's body (its "default" action)."""
        assert "default" in notification["actions"][::2], notification
        self._process.stdin.write(f"click {notification['id']}\n")
        self._process.stdin.flush()


@contextlib.contextmanager
def desktop(folder: Path) -> Iterator[Desktop]:
    """A private session bus in `folder`, with the notification service on it."""
    folder.mkdir(parents=True, exist_ok=True)
    address = f"unix:path={folder / 'bus'}"
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", f"--address={address}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    service = None
    try:
        env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": address}
        for _ in range(100):
            if (folder / "bus").exists():
                break
            threading.Event().wait(0.05)
        service = subprocess.Popen([SYSTEM_PYTHON, __file__], env=env, text=True,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        ready = service.stdout.readline()
        assert json.loads(ready) == {"ready": True}, ready
        yield Desktop(service, address)
    finally:
        if service is not None:
            service.terminate()
            service.wait(10)
        bus.terminate()
        bus.wait(10)


def serve() -> None:  # runs under Debian's python3
    import dbus
    import dbus.mainloop.glib
    import dbus.service
    from gi.repository import GLib

    name = "org.freedesktop.Notifications"
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    session = dbus.SessionBus()

    class Notifications(dbus.service.Object):
        def __init__(self) -> None:
            super().__init__(dbus.service.BusName(name, session), "/org/freedesktop/Notifications")
            self.next_id = 0

        @dbus.service.method(name, out_signature="as")
        def GetCapabilities(self):
            return ["body", "actions"]

        @dbus.service.method(name, out_signature="ssss")
        def GetServerInformation(self):
            return ["sentinelle-test", "sentinelle", "1.0", "1.2"]

        @dbus.service.method(name, in_signature="susssasa{sv}i", out_signature="u")
        def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
            self.next_id += 1
            shown = replaces or self.next_id
            print(json.dumps({"id": int(shown), "app": str(app), "summary": str(summary),
                              "body": str(body), "actions": [str(a) for a in actions]}), flush=True)
            return shown

        @dbus.service.method(name, in_signature="u")
        def CloseNotification(self, shown):
            self.NotificationClosed(shown, 3)  # closed by a call

        @dbus.service.signal(name, signature="us")
        def ActionInvoked(self, shown, action):
            pass

        @dbus.service.signal(name, signature="uu")
        def NotificationClosed(self, shown, reason):
            pass

    service = Notifications()

    def command(source, _condition) -> bool:
        line = source.readline()
        if not line:
            loop.quit()
            return False
        verb, shown = line.split()
        if verb == "click":
            service.ActionInvoked(dbus.UInt32(int(shown)), "default")
        return True

    loop = GLib.MainLoop()
    GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, command)
    print(json.dumps({"ready": True}), flush=True)
    loop.run()


if __name__ == "__main__":
    serve()
