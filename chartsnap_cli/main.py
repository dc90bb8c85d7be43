"""`chartsnap`: the arguments, the dispatch to a command, and every expected
failure turned into a message and an exit code (chartsnap_cli.exit_codes);
no traceback for any of them.

API commands read the gateway URL and the credentials from --url, --email and
--token, or from CHARTSNAP_URL, CHARTSNAP_EMAIL and CHARTSNAP_TOKEN (a token on
the command line is visible to other local users in `ps`: prefer the
variable). `chartsnap user …` and `chartsnap db …` are the snapshot service's
administration commands (snapshot_svc.admin_cli), on its database."""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import datetime, timezone
from importlib import metadata
from typing import Callable, TextIO

from chartsnap.charts import CHART_TYPES
from chartsnap.settings import SettingsError
from chartsnap_cli import commands, exit_codes
from chartsnap_cli.api_client import ApiClient, ApiError, BadAnswer, HttpError, Unreachable
from chartsnap_cli.commands import CliError, Io
from chartsnap_cli.job_wait import WAIT_MARGIN_S, WaitTimedOut
from chartsnap_cli.settings import DEFAULT_URL, client_settings

ADMIN_COMMANDS = ("user", "db")  # handed to snapshot_svc.admin_cli as they are
DISTRIBUTION = "chartsnap"

EPILOG = "exit codes:\n" + "\n".join(f"  {code}  {meaning}" for code, meaning in exit_codes.MEANINGS.items())


def positive_id(text: str) -> str:
    """An id as the API spells it in paths: decimal digits, not zero."""
    if not re.fullmatch(r"[0-9]{1,18}", text) or int(text) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an id (a positive whole number)")
    return str(int(text))


_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> int:
    """Seconds, or a number with s, m, h or d: 3600, 90m, 1h, 7d."""
    match = re.fullmatch(r"([0-9]{1,9})([smhd]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (seconds, or 90m, 1h, 7d)")
    return int(match[1]) * _UNITS[match[2]]


def moment(text: str) -> int:
    """Epoch seconds, or an ISO 8601 time (UTC unless it names an offset)."""
    text = text.strip()
    if re.fullmatch(r"[0-9]{1,12}", text):
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time (epoch seconds, or ISO 8601 such as 2026-12-02T07:00:00Z)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp())


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key.strip(), value


def number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def seconds(text: str) -> float:
    value = number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0 seconds")
    return value


def _common() -> argparse.ArgumentParser:
    """Options every API command takes, before or after its name. SUPPRESS:
    a subcommand must not overwrite what was given before it."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection")
    group.add_argument("--url", default=argparse.SUPPRESS,
                       help=f"the gateway (default: CHARTSNAP_URL, else {DEFAULT_URL})")
    group.add_argument("--email", default=argparse.SUPPRESS, help="your account (default: CHARTSNAP_EMAIL)")
    group.add_argument("--token", default=argparse.SUPPRESS,
                       help="your API token (default: CHARTSNAP_TOKEN, which `ps` does not show)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print the API's JSON as it is, for scripts")
    return common


def _quiet(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--quiet", "-q", action="store_true", help=f"print only the new {what}'s id")


# The numbers of the default --timeout with the default settings, for the help
# (job_wait.default_timeout computes it; tests/unit/test_cli.py holds these equal to it).
DEFAULT_JOB_DEADLINE_S, DEFAULT_SWEEP_INTERVAL_S = 920, 5
TIMEOUT_HELP = (f"give up waiting after S seconds (default {DEFAULT_JOB_DEADLINE_S + DEFAULT_SWEEP_INTERVAL_S + WAIT_MARGIN_S:g}"
                f": the snapshot service's bound on a job, CHARTSNAP_JOB_DEADLINE ({DEFAULT_JOB_DEADLINE_S} s by "
                f"default), plus one sweep interval ({DEFAULT_SWEEP_INTERVAL_S} s), read from the same variables, "
                f"plus {WAIT_MARGIN_S:g} s)")


def _wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=seconds, metavar="S", help=TIMEOUT_HELP)


def parser() -> argparse.ArgumentParser:
    common = _common()
    top = argparse.ArgumentParser(
        prog="chartsnap", parents=[common], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Snapshots of charts, delivered: the chartsnap REST API from the terminal.")
    top.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def group(name: str, help_text: str) -> argparse._SubParsersAction:
        return sub.add_parser(name, help=help_text).add_subparsers(dest="action", required=True, metavar="ACTION")

    def command(actions: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
        return actions.add_parser(name, help=help_text, parents=[common], epilog=EPILOG,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)

    snapshot = group("snapshot", "take snapshots and look them up")
    create = command(snapshot, "create", "take a snapshot of a chart")
    create.add_argument("chart_id", type=positive_id, metavar="CHART_ID")
    create.add_argument("--type", choices=CHART_TYPES, help="how to draw it (default: the chart's own type)")
    create.add_argument("--duration", type=duration, metavar="S", help="the window: seconds, or 90m, 1h, 7d "
                        "(default: the API's, 3600)")
    create.add_argument("--end-time", type=moment, metavar="T", help="the window's end: epoch seconds or ISO 8601 "
                        "(default: now)")
    create.add_argument("--service", action="append", type=positive_id, default=[], metavar="ID",
                        help="deliver to this service (again for more)")
    create.add_argument("--message", "-m", help="shown with the delivered image")
    create.add_argument("--source", help="narrow every stream to this source")
    create.add_argument("--width", type=int, help="pixels (default 600)")
    create.add_argument("--height", type=int, help="pixels (default 416)")
    create.add_argument("--idempotency-key", metavar="KEY",
                        help="the same key and request within 24 h answer the same snapshot (safe retries)")
    create.add_argument("--wait", "-w", action="store_true",
                        help="wait until the job is over, with its progress on stderr, then print the link")
    create.add_argument("--output", "-o", metavar="FILE.png", help="save the PNG here (implies --wait)")
    _wait_options(create)
    command(snapshot, "get", "one snapshot").add_argument("id", type=positive_id, metavar="ID")
    listing = command(snapshot, "list", "your snapshots, newest first")
    listing.add_argument("--length", type=int, default=20, help="how many (1 to 100, default 20)")
    listing.add_argument("--offset", type=int, default=0)
    listing.add_argument("--sort", choices=("asc", "desc"), default="desc", help="by id (default desc)")

    job = group("job", "where a snapshot's work stands")
    command(job, "get", "one job: state, progress, each delivery").add_argument("id", type=positive_id, metavar="ID")

    space = group("space", "spaces (folders of charts)")
    space_create = command(space, "create", "make a space")
    space_create.add_argument("name")
    _quiet(space_create, "space")

    chart = group("chart", "charts")
    chart_list = command(chart, "list", "your spaces, each with its charts")
    chart_list.add_argument("--space", type=positive_id, metavar="ID", help="only this space")
    chart_create = command(chart, "create", "make a chart of one or more metrics")
    chart_create.add_argument("space_id", type=positive_id, metavar="SPACE_ID")
    chart_create.add_argument("--name", required=True)
    chart_create.add_argument("--metric", action="append", required=True, metavar="M",
                              help="a stream of this metric (again for more)")
    chart_create.add_argument("--type", choices=CHART_TYPES, default="line")
    chart_create.add_argument("--source", help="each stream's source (default: every source, *)")
    _quiet(chart_create, "chart")

    measurement = group("measurement", "measurements (the samples charts draw)")
    measure = command(measurement, "add", "submit one sample")
    measure.add_argument("name")
    measure.add_argument("value", type=number)
    measure.add_argument("--tag", action="append", type=key_value, default=[], metavar="KEY=VALUE")
    measure.add_argument("--time", type=moment, metavar="T", help="epoch seconds or ISO 8601 (default: now)")

    service = group("service", "services: where snapshots are delivered (mail, chat)")
    service_list = command(service, "list", "your services (settings only with --json: they hold secrets)")
    service_list.add_argument("--offset", type=int, default=0)
    service_add = command(service, "add", "add a service")
    service_add.add_argument("--type", required=True, help="mail, slack, hipchat, flowdock or campfire")
    service_add.add_argument("--title", required=True)
    settings = service_add.add_mutually_exclusive_group(required=True)
    settings.add_argument("--setting", action="append", type=key_value, metavar="KEY=VALUE",
                          help="one setting, e.g. url=https://hooks.slack.com/… (again for more)")
    settings.add_argument("--settings", metavar="JSON", help='all settings as a JSON object, e.g. {"url": "…"}')
    _quiet(service_add, "service")
    service_test = command(service, "test", "a real sample delivery: snapshot a chart to this service alone")
    service_test.add_argument("id", type=positive_id, metavar="ID")
    service_test.add_argument("--chart", type=positive_id, metavar="CHART_ID",
                              help="the chart to take (default: your most recently created chart)")
    _wait_options(service_test)

    # Listed here for --help; their own parser (snapshot_svc.admin_cli) reads their arguments.
    for name, help_text in (("user", "accounts: add, list, rotate-token, disable (admin, on the database)"),
                            ("db", "the database schema: upgrade, current (admin)")):
        sub.add_parser(name, help=help_text, add_help=False).add_argument("rest", nargs=argparse.REMAINDER)
    return top


COMMANDS: dict[tuple[str, str], Callable[[argparse.Namespace, ApiClient, Io], int]] = {
    ("snapshot", "create"): commands.snapshot_create,
    ("snapshot", "get"): commands.snapshot_get,
    ("snapshot", "list"): commands.snapshot_list,
    ("job", "get"): commands.job_get,
    ("space", "create"): commands.space_create,
    ("chart", "list"): commands.chart_list,
    ("chart", "create"): commands.chart_create,
    ("measurement", "add"): commands.measurement_add,
    ("service", "list"): commands.service_list,
    ("service", "add"): commands.service_add,
    ("service", "test"): commands.service_test,
}


def version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    io = Io(stdout or sys.stdout, stderr or sys.stderr)
    if argv and argv[0] in ADMIN_COMMANDS:
        return _admin(argv)
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse has printed
        return exit_codes.OK if exc.code in (0, None) else exit_codes.USAGE
    if args.command in ADMIN_COMMANDS:  # after options that only the API commands read (--json excepted)
        return _admin([args.command, *args.rest, *(["--json"] if getattr(args, "json", False) else [])])
    try:
        settings = client_settings(getattr(args, "url", None), getattr(args, "email", None),
                                   getattr(args, "token", None))
        args.json = getattr(args, "json", False)
        return COMMANDS[(args.command, args.action)](args, ApiClient(settings), io)
    except BrokenPipeError:
        # `chartsnap snapshot list | head -1`: the reader has all it wanted. Quietly,
        # and without Python's own complaint when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exit_codes.OK
    except SettingsError as exc:
        io.error(str(exc))
        return exit_codes.USAGE
    except HttpError as exc:
        io.error(f"the API {'failed' if exc.status >= 500 else 'refused the request'} ({exc.status}): {exc.message}")
        return exit_codes.SERVER_ERROR if exc.status >= 500 else exit_codes.REFUSED
    except Unreachable as exc:
        io.error(exc.message)
        return exit_codes.UNREACHABLE
    except BadAnswer as exc:
        io.error(exc.message)
        return exit_codes.SERVER_ERROR
    except WaitTimedOut as exc:
        io.error(str(exc))
        return exit_codes.TIMED_OUT
    except CliError as exc:
        io.error(exc.message)
        return exc.code
    except KeyboardInterrupt:
        io.error("interrupted")
        return 130
    except ApiError as exc:  # a kind not told apart above
        io.error(exc.message)
        return exit_codes.SERVER_ERROR
    except (KeyError, TypeError, AttributeError) as exc:
        # JSON that is not the API's shape: --url names something that is not a chartsnap gateway.
        io.error(f"the gateway answered JSON that is not chartsnap's ({type(exc).__name__}: {exc}); "
                 "is --url / CHARTSNAP_URL a chartsnap gateway?")
        return exit_codes.SERVER_ERROR


def _admin(argv: list[str]) -> int:
    # Imported only here: the admin commands load the snapshot service's database layer.
    from snapshot_svc import admin_cli

    try:
        return admin_cli.main(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has printed
        return exit_codes.OK if exc.code in (0, None) else exit_codes.USAGE
