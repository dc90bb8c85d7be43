"""What each API command does: its requests, what it prints, its exit code.

Results go to stdout (the last line of a snapshot taken with --wait is its
link, so `| tail -n 1` gives it to a script); progress and errors go to
stderr. With --json a command prints the API's answer as it came."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TextIO

from chartsnap.job_states import FAILED
from chartsnap_cli import exit_codes
from chartsnap_cli.api_client import ApiClient
from chartsnap_cli.job_wait import default_timeout, wait_for_job
from chartsnap_cli.image_files import save_whole
from chartsnap_cli.output import as_json, fields, printable, table, utc
from chartsnap_cli.progress import JobProgress
from chartsnap_cli.share_links import share_link

TEST_DELIVERY_MESSAGE = "chartsnap test delivery"
PAGE_LENGTH = 100  # the API's largest page


class CliError(Exception):
    """An expected failure found by the CLI itself, with its exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Io:
    out: TextIO
    err: TextIO

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def note(self, text: str) -> None:
        print(text, file=self.err)

    def error(self, text: str) -> None:
        print(f"chartsnap: {text}", file=self.err)


# -- snapshots ------------------------------------------------------------------

def snapshot_create(args: argparse.Namespace, client: ApiClient, io: Io) -> int:
    output = Path(args.output).expanduser() if args.output else None
    if output and (output.is_dir() or not output.parent.is_dir()):
        raise CliError(exit_codes.USAGE, f"--output {args.output}: " + (
            "is a directory; name the file" if output.is_dir() else f"no such directory {str(output.parent)!r}"))
    waiting = args.wait or output is not None
    timeout = (args.timeout or default_timeout()) if waiting else None  # bad settings stop us before the POST
    chart_type = args.type or _chart_of(client, args.chart_id)["type"]
    chart: dict = {"id": int(args.chart_id), "type": chart_type}
    if args.source:
        chart["source"] = args.source
    body: dict = {"subject": {"chart": chart}}
    for name in ("duration", "end_time", "message", "width", "height"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    if args.service:
        body["services"] = args.service
    headers = {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else None
    snapshot = client.post("/v1/snapshots", body, headers)
    if not waiting:
        if args.json:
            io.print(as_json(snapshot))
        else:
            io.print(f"snapshot {snapshot['id']} accepted; `chartsnap job get {_job_id(snapshot)}` follows it "
                     "(or take it with --wait)")
        return exit_codes.OK
    job = wait_for_job(client, snapshot["job_href"], timeout, JobProgress(io.err))
    if job.get("state") == FAILED:
        if args.json:
            io.print(as_json(job))
        io.error(f"snapshot {snapshot['id']} failed: {printable('; '.join(_job_errors(job)) or 'no reason given')}")
        return exit_codes.FAILED
    snapshot = client.get(snapshot["href"])
    failed = [d for d in _deliveries(job) if d.get("state") != "delivered"]
    if not args.json:
        for delivery in _deliveries(job):
            io.print(_delivery_line(delivery))
    if output:
        image = snapshot.get("image_href") or job.get("output", {}).get("image_href")
        if not image:
            raise CliError(exit_codes.FAILED, f"snapshot {snapshot['id']} is complete but has no image link")
        content = client.download(image)
        try:
            save_whole(output, content)
        except OSError as exc:
            raise CliError(exit_codes.USAGE, f"cannot write {args.output}: {exc.strerror or exc}") from None
        if not args.json:
            io.print(f"saved {args.output} ({len(content)} bytes)")
    if args.json:
        io.print(as_json(snapshot))
    else:
        io.print(printable(share_link(snapshot)))
    if failed:
        io.error(f"{len(failed)} of {len(_deliveries(job))} deliveries failed")
        return exit_codes.FAILED
    return exit_codes.OK


def snapshot_get(args: argparse.Namespace, client: ApiClient, io: Io) -> int:
    snapshot = client.get(f"/v1/snapshots/{args.id}")
    if args.json:
        io.print(as_json(snapshot))
        return exit_codes.OK
    chart = snapshot.get("subject", {}).get("chart", {})
    io.print(fields([
        ("snapshot", snapshot.get("id")),
        ("chart", f"{chart.get('id')} ({chart.get('type')})"),
        ("window", f"{snapshot.get('duration')} s ending {snapshot.get('end_time')}"),
        ("created", snapshot.get("created_at")),
        ("job", snapshot.get("job_href")),
        ("image", snapshot.get("image_href") or "not stored yet"),
        ("link", share_link(snapshot) or "once the image is stored"),
    ]))
    return exit_codes.OK


def snapshot_list(args: argparse.Namespace, client: ApiClient, io: Io) -> int:
    page = client.get("/v1/snapshots", {"orderby": "id", "sort": args.sort, "length": args.length,
                                        "offset": args.offset})
    if args.json:
        io.print(as_json(page))
        return exit_codes.OK
    snapshots = page.get("snapshots", [])
    if not snapshots:
        io.print("no snapshots" + (" here" if args.offset else " yet: `chartsnap snapshot create CHART_ID`"))
        return exit_codes.OK
    io.print(table(("ID", "CREATED", "CHART", "TYPE", "DURATION", "LINK"), [
        (s.get("id"), s.get("created_at"), s.get("subject", {}).get("chart", {}).get("id"),
         s.get("subject", {}).get("chart", {}).get("type"), s.get("duration"), share_link(s) or "(rendering)")
        for s in snapshots]))
    _more_note(io, page.get("query", {}), args.offset, len(snapshots), "snapshots")
    return exit_codes.OK


# -- jobs -----------------------------------------------------------------------

def job_get(args: argparse.Namespace, client: ApiClient, io: Io) -> int:
    job = client.get(f"/v1/jobs/{args.id}")
    if args.json:
        io.print(as_json(job))
        return exit_codes.OK
    pairs = [("job", job.get("id")), ("state", job.get("state")), ("progress", f"{job.get('progress', 0):g}%")]
    if job.get("output", {}).get("image_href"):
        pairs.append(("image", job["output"]["image_href"]))
    for error in _job_errors(job):
        pairs.append(("error", error))
    io.print(fields(pairs))
    deliveries = _deliveries(job)
    if deliveries:
        io.print()
        io.print(table(("SERVICE", "TYPE", "STATE", "ATTEMPTS", "ERROR"), [
            (d.get("service_id"), d.get("type"), d.get("state"), d.get("attempts"), d.get("error"))
            for d in deliveries]))
    return exit_codes.OK


# -- spaces, charts, measurements -----------------------------------------------

def space_create(args: argparse.Namespace, client: ApiClient, io: Io) -> int:
    space = client.post("/v1/spaces", {"name": args.name})
    return _created(args, io, space, f"space {space.get('id')} ({printable(space.get('name'))})")


def chart_list(args: argparse.Namespace, client: ApiClient, io: Io) -> int:
    if args.space:
        spaces = [client.get(f"/v1/spaces/{args.space}")]
    else:
        spaces = list(_all_spaces(client))
    with_charts = [{"id": s["id"], "name": s["name"], "charts": client.get(f"/v1/spaces/{s['id']}/charts")}
                   for s in spaces]
    if args.json:
        # One space: the API's bare array of its charts. Every space: the spaces, each with that array.
        io.print(as_json(with_charts[0]["charts"] if args.space else with_charts))
        return exit_codes.OK
    if not with_charts:
        io.print("no spaces yet: `chartsnap space create NAME`, then `chartsnap chart create SPACE_ID …`")
        return exit_codes.OK
    for number, space in enumerate(with_charts):
        if number:
            io.print()
        io.print(f"space {space['id']}  {printable(space['name'])}")
        charts = space["charts"]
        if not charts:
            io.print("  (no charts)")
            continue
        rows = table(("CHART", "NAME", "TYPE", "METRICS"), [
            (c.get("id"), c.get("name"), c.get("type"),
             ", ".join(str(s.get("metric")) for s in c.get("streams", [])) or "-") for c in charts])
        io.print("\n".join("  " + line for line in rows.splitlines()))
    return exit_codes.OK


def chart_create(args: argparse.Namespace, client: ApiClient, io: Io) -> int:
    streams = [{"metric": metric, **({"source": args.source} if args.source else {})} for metric in args.metric]
    chart = client.post(f"/v1/spaces/{args.space_id}/charts", {"name": args.name, "type": args.type,
                                                               "streams": streams})
    return _created(args, io, chart, f"chart {chart.get('id')} ({printable(chart.get('name'))}, "
                                     f"{chart.get('type')}) in space {args.space_id}")


def measurement_add(args: argparse.Namespace, client: ApiClient, io: Io) -> int:
    sample: dict = {"name": args.name, "value": args.value}
    if args.time is not None:
        sample["time"] = args.time
    if args.tag:
        sample["tags"] = dict(args.tag)
    answer = client.post("/v1/measurements", {"measurements": [sample]})
    if args.json:
        io.print(as_json(answer))
    else:
        at = utc(args.time) if args.time is not None else "now"
        io.print(f"stored {printable(args.name)} = {args.value:g} at {at}")
    return exit_codes.OK


# -- services -------------------------------------------------------------------

def service_list(args: argparse.Namespace, client: ApiClient, io: Io) -> int:
    page = client.get("/v1/services", {"length": PAGE_LENGTH, "offset": args.offset})
    if args.json:
        io.print(as_json(page))
        return exit_codes.OK
    services = page.get("services", [])
    if not services:
        io.print("no services yet: `chartsnap service add --type slack --title T --setting url=…`")
        return exit_codes.OK
    # Not the settings: webhook URLs and tokens are secrets, and a terminal is often shared.
    io.print(table(("ID", "TYPE", "TITLE"), [(s.get("id"), s.get("type"), s.get("title")) for s in services]))
    _more_note(io, page.get("query", {}), args.offset, len(services), "services")
    return exit_codes.OK


def service_add(args: argparse.Namespace, client: ApiClient, io: Io) -> int:
    if args.settings is not None:
        try:
            settings = json.loads(args.settings)
        except ValueError as exc:
            raise CliError(exit_codes.USAGE, f"--settings is not JSON: {exc}") from None
        if not isinstance(settings, dict):
            raise CliError(exit_codes.USAGE, "--settings must be a JSON object, e.g. '{\"url\": \"https://…\"}'")
    else:
        settings = dict(args.setting)
    service = client.post("/v1/services", {"title": args.title, "type": args.type, "settings": settings})
    return _created(args, io, service, f"service {service.get('id')} ({service.get('type')}: "
                                       f"{printable(service.get('title'))})")


def service_test(args: argparse.Namespace, client: ApiClient, io: Io) -> int:
    """A real delivery: a snapshot of a chart naming this service alone; the
    exit code is the delivery's outcome."""
    timeout = args.timeout or default_timeout()
    service = client.get(f"/v1/services/{args.id}")
    chart = _chart_of(client, args.chart) if args.chart else _latest_chart(client)
    what = f"{service.get('type')} service {service.get('id')} ({printable(service.get('title'))})"
    io.note(f"test delivery to {what}: a snapshot of chart {chart['id']} ({printable(chart.get('name'))})")
    snapshot = client.post("/v1/snapshots", {"subject": {"chart": {"id": chart["id"], "type": chart["type"]}},
                                             "services": [str(service["id"])], "message": TEST_DELIVERY_MESSAGE})
    job = wait_for_job(client, snapshot["job_href"], timeout, JobProgress(io.err))
    if args.json:
        io.print(as_json(job))
    if job.get("state") == FAILED:
        io.error(f"the test snapshot failed before any delivery: "
                 f"{printable('; '.join(_job_errors(job)) or 'no reason given')}")
        return exit_codes.FAILED
    outcome = next((d for d in _deliveries(job) if str(d.get("service_id")) == str(service["id"])), None)
    if outcome is None:
        raise CliError(exit_codes.FAILED, f"job {job.get('id')} is over but reports no delivery to {what}")
    if not args.json:
        io.print(_delivery_line(outcome))
    if outcome.get("state") != "delivered":
        io.error(f"delivery to {what} failed")
        return exit_codes.FAILED
    if not args.json:
        io.print(printable(share_link(client.get(snapshot["href"]))))
    return exit_codes.OK


# -- shared ---------------------------------------------------------------------

def _created(args: argparse.Namespace, io: Io, created: dict, what: str) -> int:
    if args.json:
        io.print(as_json(created))
    elif args.quiet:
        io.print(printable(created.get("id")))
    else:
        io.print(f"created {what}")
    return exit_codes.OK


def _all_spaces(client: ApiClient) -> Iterator[dict]:
    offset = 0
    while True:
        page = client.get("/v1/spaces", {"offset": offset, "length": PAGE_LENGTH})
        spaces = page.get("spaces", [])
        yield from spaces
        offset += len(spaces)
        if not spaces or offset >= page.get("query", {}).get("found", 0):
            return


def _all_charts(client: ApiClient) -> Iterator[dict]:
    for space in _all_spaces(client):
        yield from client.get(f"/v1/spaces/{space['id']}/charts")


def _chart_of(client: ApiClient, chart_id: str) -> dict:
    """The chart (its type, its name), found among the account's spaces."""
    for chart in _all_charts(client):
        if str(chart.get("id")) == str(chart_id):
            return chart
    raise CliError(exit_codes.REFUSED, f"you have no chart {chart_id} (`chartsnap chart list` shows yours)")


def _latest_chart(client: ApiClient) -> dict:
    """The most recently created chart: ids only grow."""
    charts = list(_all_charts(client))
    if not charts:
        raise CliError(exit_codes.REFUSED, "you have no chart to take a test snapshot of: make one "
                       "(`chartsnap chart create SPACE_ID --name N --metric M`) or pass --chart")
    return max(charts, key=lambda c: int(c["id"]))


def _deliveries(job: dict) -> list[dict]:
    return (job.get("output") or {}).get("services") or []


def _job_errors(job: dict) -> list[str]:
    return [str(e) for e in (job.get("errors") or {}).get("system", [])]


def _job_id(snapshot: dict) -> str:
    return str(snapshot.get("job_href", "")).rstrip("/").rpartition("/")[2] or str(snapshot.get("id"))


def _delivery_line(delivery: dict) -> str:
    attempts = delivery.get("attempts") or 0
    where = f"{delivery.get('type')} service {delivery.get('service_id')}"
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    if delivery.get("state") == "delivered":
        return f"delivered to {where} ({tries})"
    if delivery.get("state") == "failed":
        return printable(f"failed: {where} after {tries}: {delivery.get('error') or 'no reason given'}")
    return f"{delivery.get('state')}: {where}"


def _more_note(io: Io, query: dict, offset: int, shown: int, what: str) -> None:
    found = query.get("found", 0)
    if found > offset + shown:
        io.print(f"({shown} of {found} {what}; --offset {offset + shown} for more)")
