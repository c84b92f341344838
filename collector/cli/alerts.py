"""`collector alerts list|test`: what the config's [alerts.NAME] fired, and a sample sent to a webhook."""

from __future__ import annotations

from collections.abc import Sequence

import click

from collector.alerts.messages import render_payload, sample_firing
from collector.alerts.webhook import WebhookSender, missing_reason, webhook_url
from collector.app import App
from collector.cli.common import echo_err, pass_app, run
from collector.domain import utc_now
from collector.store.alerts import FiringRecord, load_firings

HEADERS = ("fired at (UTC)", "alert", "rule", "repo", "value", "delivered")


@click.group("alerts")
def alerts() -> None:
    """Alerts of the config's [alerts.NAME] tables: what fired, and a test message."""


def _row(record: FiringRecord) -> tuple[str, ...]:
    f = record.firing
    if f.rule == "rank_change":
        value = f"#{f.value}" + (f" (was #{f.previous})" if f.previous is not None else "")
    else:
        value = f"{f.value:,}" + (f" (was {f.previous:,})" if f.previous is not None else "")
    if record.delivered_at is not None:
        delivered = "yes, " + record.delivered_at.strftime("%Y-%m-%d %H:%M")
    else:
        tries = f"{record.attempts} {'try' if record.attempts == 1 else 'tries'}"
        delivered = f"no ({tries}: {record.last_error})" if record.last_error else f"no ({tries})"
    when = f.fired_at.strftime("%Y-%m-%d %H:%M")
    return (when, f.alert, f"{f.rule} {f.occurrence}", f.repo, value, delivered)


def render_firings(records: Sequence[FiringRecord]) -> str:
    """The firings as aligned columns under a header line."""
    rows = [HEADERS, *(_row(r) for r in records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


@alerts.command("list")
@click.option("--alert", "name", metavar="NAME", help="Only this alert's firings.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="At most this many.")
@pass_app
def list_firings(app: App, name: str | None, limit: int) -> None:
    """Print what the alerts fired, newest first: when, alert, rule, repository, value, delivered or not."""
    with app.sessions() as s:
        records = load_firings(s, name, limit)
    if not records:
        click.echo("no alert has fired" + (f" for {name}" if name else ""))
        return
    click.echo(render_firings(records))


@alerts.command("test")
@click.argument("name")
@pass_app
def test(app: App, name: str) -> None:
    """Send a sample message to alert NAME's webhook and say whether it was delivered (exit 1 if not)."""
    spec = app.config.alerts.get(name)
    if spec is None:
        known = ", ".join(sorted(app.config.alerts)) or "none"
        echo_err(f"error: no alert named {name!r} in the config (configured: {known})")
        raise SystemExit(2)
    url = webhook_url(spec)
    if url is None:
        echo_err(f"error: alert {name}: {missing_reason(spec)}; nothing sent")
        raise SystemExit(1)
    payload = render_payload(sample_firing(spec, utc_now()), spec.format)
    result = run(WebhookSender().send(url, payload, spec.format))
    tries = f"{result.tries} {'try' if result.tries == 1 else 'tries'}"
    if not result.delivered:
        echo_err(f"error: alert {name}: the test message was not delivered ({result.reason}; {tries})")
        raise SystemExit(1)
    click.echo(f"alert {name}: test message delivered ({spec.format} format, {tries})")
