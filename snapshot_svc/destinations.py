"""Notification targets ("services" in the REST API): validation of each
type's settings and storage. Settings may hold secrets; they go back only to
their owner and travel to the notifier inside delivery requests."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import Engine, delete, func, insert, select, update

from chartsnap import errors
from chartsnap.errors import ParamErrors
from snapshot_svc.accounts import EMAIL
from snapshot_svc.database import NOT_STORABLE, storable, the_row
from snapshot_svc.pagination import Page
from snapshot_svc.tables import destinations

TYPES = ("mail", "slack", "hipchat", "flowdock", "campfire")
HIPCHAT_FROM = re.compile(r"^[A-Za-z0-9 ._\-]{1,15}$")
MAX_ADDRESSES = 50
MAX_SETTING = 2000

# type → (required settings, optional settings)
SETTINGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "mail": (("addresses",), ()),
    "slack": (("url",), ("server_url",)),
    "hipchat": (("auth_token", "room_id"), ("from", "notify", "server_url")),
    "flowdock": (("api_token",), ("user_name", "server_url")),
    "campfire": (("subdomain", "token", "room"), ("server_url",)),
}


def _is_http_url(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def validate(kind: str, settings: dict[str, str], problems: ParamErrors) -> dict[str, str]:
    if kind not in TYPES:
        problems.add("type", f"must be one of {', '.join(TYPES)}")
        return {}
    required, optional = SETTINGS[kind]
    out: dict[str, str] = {}
    for key, value in settings.items():
        if key not in required + optional:
            problems.add(f"settings.{key}", f"is not a setting of {kind} services")
        elif len(value) > MAX_SETTING:
            problems.add(f"settings.{key}", f"must be at most {MAX_SETTING} characters")
        else:
            out[key] = value.strip()
    for key in required:
        if not out.get(key):
            problems.add(f"settings.{key}", "is required")
    if kind == "mail" and out.get("addresses"):
        addresses = [a.strip() for a in out["addresses"].split(",") if a.strip()]
        bad = [a for a in addresses if not EMAIL.fullmatch(a)]
        if bad or not addresses:
            problems.add("settings.addresses", f"must be comma-separated e-mail addresses (bad: {', '.join(bad)[:200]})")
        elif len(addresses) > MAX_ADDRESSES:
            problems.add("settings.addresses", f"at most {MAX_ADDRESSES} addresses")
        out["addresses"] = ",".join(addresses)
    if kind == "slack" and out.get("url") and not _is_http_url(out["url"]):
        problems.add("settings.url", "must be an http(s) URL (the incoming-webhook URL)")
    if kind == "hipchat":
        if "from" in out and not HIPCHAT_FROM.match(out["from"]):
            problems.add("settings.from", "must be 1-15 characters: letters, digits, space and .-_")
        if "notify" in out and out["notify"] not in ("0", "1"):
            problems.add("settings.notify", 'must be "0" or "1"')
    if kind == "flowdock" and "user_name" in out:
        name = out["user_name"]
        if not name or len(name) >= 16 or re.search(r"\s", name):
            problems.add("settings.user_name", "must be 1-15 characters without spaces")
    if out.get("server_url") is not None and not _is_http_url(out["server_url"]):
        problems.add("settings.server_url", "must be an http(s) URL")
    return out


def _out(row: Any) -> dict:
    return {"id": str(row.id), "title": row.title, "type": row.type, "settings": dict(row.settings)}


def parse_id(service_id: str) -> int | None:
    return int(service_id) if re.fullmatch(r"[0-9]{1,18}", service_id) else None


class DestinationStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, account_id: int, title: str, kind: str, settings: dict[str, str]) -> dict:
        problems = ParamErrors()
        title = (title or "").strip()
        if not title or len(title) > 255:
            problems.add("title", "is required (1 to 255 characters)")
        elif not storable(title):
            problems.add("title", NOT_STORABLE)
        clean = validate(kind, settings, problems)
        problems.raise_if_any()
        with self.engine.begin() as conn:
            new_id = conn.execute(insert(destinations).values(
                account_id=account_id, title=title, type=kind, settings=clean, created_at=time.time(),
            )).inserted_primary_key[0]
        return {"id": str(new_id), "title": title, "type": kind, "settings": clean}

    def get(self, account_id: int, service_id: str) -> dict:
        row_id = parse_id(service_id)
        if row_id is None:  # not an id we could have made: no such service
            raise errors.NotFound("service not found")
        with self.engine.connect() as conn:
            return _out(the_row(conn, select(destinations).where(
                destinations.c.id == row_id, destinations.c.account_id == account_id), "service"))

    def update(self, account_id: int, service_id: str, title: str | None, kind: str | None,
               settings: dict[str, str] | None) -> dict:
        current = self.get(account_id, service_id)
        problems = ParamErrors()
        new_title = current["title"] if title is None else title.strip()
        if not new_title or len(new_title) > 255:
            problems.add("title", "is required (1 to 255 characters)")
        elif not storable(new_title):
            problems.add("title", NOT_STORABLE)
        new_kind = kind or current["type"]
        clean = validate(new_kind, current["settings"] if settings is None else settings, problems)
        problems.raise_if_any()
        with self.engine.begin() as conn:
            conn.execute(update(destinations).where(destinations.c.id == int(current["id"]))
                         .values(title=new_title, type=new_kind, settings=clean))
        return {"id": current["id"], "title": new_title, "type": new_kind, "settings": clean}

    def delete(self, account_id: int, service_id: str) -> None:
        current = self.get(account_id, service_id)
        with self.engine.begin() as conn:
            conn.execute(delete(destinations).where(destinations.c.id == int(current["id"])))

    def list(self, account_id: int, page: Page) -> tuple[int, list[dict]]:
        order = getattr(destinations.c, page.orderby)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(destinations)
                                 .where(destinations.c.account_id == account_id)).scalar_one()
            rows = conn.execute(
                select(destinations).where(destinations.c.account_id == account_id)
                .order_by(order.desc() if page.descending else order.asc()).offset(page.offset).limit(page.length)
            ).all()
        return total, [_out(r) for r in rows]

    def owned(self, account_id: int, service_ids: tuple[str, ...]) -> dict[str, dict]:
        """The account's services among `service_ids`; missing and foreign ids are absent."""
        ids = [i for i in (parse_id(s) for s in service_ids) if i is not None]
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(destinations).where(
                destinations.c.id.in_(ids), destinations.c.account_id == account_id)).all()
        return {str(r.id): _out(r) for r in rows}
