"""`sentinelle patrol`: what the extension's patrol looked at on each network, and `sentinelle
patrol now`, which asks the paired extension to look for her at once.

The summary is read from the store (server/store/patrol.py); `now` asks the running
Sentinelle's API (server/api/patrol.py) with the token, over loopback: only the server knows
whether an extension is listening on its event stream. Registered on the `sentinelle` group by
server/cli/main.py.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import click

from sentinelle.server.cli.options import setting_option
from sentinelle.server.config import load_or_create_token

# What stopped a network, for the parent (the extension says it in its own words, _locales).
STOPPED = {
    "login": "stopped at a login page: log in to it in this browser yourself (Sentinelle never logs in)",
    "challenge": "stopped at a check that it is a person (a challenge): Sentinelle never answers one",
    "unreachable": "the page did not load (is Sentinelle running, is the PC online?)",
    "timeout": "the page took too long to load",
    "interrupted": "the patrol window was closed before the end",
}


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per network and line.")
@click.pass_context
def patrol(ctx: click.Context, as_json: bool) -> None:
    """When each network was last looked at by the extension, what was looked at, what was
    found, and what stopped it.

    The extension's "Look for me" opens each network's own search for her names in a
    background window of your browser once a day; `sentinelle patrol now` asks it to look
    at once.

    \b
    Example:
      sentinelle patrol
      sentinelle patrol now
    """
    if ctx.invoked_subcommand is not None:
        return
    networks = ctx.obj.store.patrol()
    if not networks and not as_json:
        click.echo("Sentinelle has not looked for her yet: switch \"Look for me\" on in the extension's "
                   "options, or run `sentinelle patrol now`.")
    for network in networks:
        if as_json:
            click.echo(json.dumps(network, ensure_ascii=False))
        else:
            click.echo(describe(network))


def describe(network: dict) -> str:
    """A network's last patrol in a few lines, for the parent."""
    looked = ", ".join(f'"{look["term"]}"' if look["what"] == "search" else f"@{look['term']}"
                       for look in network["looks"])
    found = network["found"]
    found_words = [f"alert #{a['id']}" + (f" (@{a['account']} pretends to be her)" if a["kind"] == "impersonation"
                                          else "") for a in found["alerts"]]
    found_words += [f"@{handle} on the watch list" for handle in found["watch"]]
    lines = [f"{network['platform']:<10} last looked at {network['looked_at'][:19].replace('T', ' ')} UTC: {looked}",
             "           found: " + ("; ".join(found_words) or "nothing")]
    if network["stopped"]:
        lines.append("           " + STOPPED[network["stopped"]])
    return "\n".join(lines)


@patrol.command()
@setting_option("api_port")
@click.pass_obj
def now(obj, api_port: int) -> None:
    """Ask the paired extension to look for her now, whatever its mode.

    It looks only while the switch "Send only social networks through Sentinelle" is on.
    Fails when no extension is connected to Sentinelle.

    \b
    Example:
      sentinelle patrol now
    """
    request = urllib.request.Request(
        f"http://127.0.0.1:{api_port}/api/patrol/now", method="POST", data=b"",
        headers={"Authorization": f"Bearer {load_or_create_token(obj.data_dir)}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as e:
        raise click.ClickException(_error_of(e)) from None
    except OSError as e:
        raise click.ClickException(f"Sentinelle is not running on 127.0.0.1:{api_port} ({e}): "
                                   "start it with `sentinelle run`") from None
    click.echo(f"Asked the extension to look for her ({answer['listening']} connected). "
               "`sentinelle patrol` shows what it looked at, in a few minutes.")


def _error_of(e: urllib.error.HTTPError) -> str:
    try:
        return json.load(e)["error"]
    except (ValueError, KeyError, TypeError):
        return f"{e.code} {e.reason}"
