"""Accounts and API tokens. Tokens are 256 random bits, so a SHA-256 digest is
what we store (a slow password hash would only slow every request down), and
comparison is constant time. An account is never deleted (its snapshots name
it); a disabled one keeps its rows and its token is refused."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from chartsnap import errors
from snapshot_svc.database import storable, the_row
from snapshot_svc.tables import EMAIL_LENGTH, FULL_NAME_LENGTH, accounts

EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    full_name: str

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


@dataclass(frozen=True)
class AccountEntry:
    """An account as `chartsnap user list` shows it."""

    id: int
    email: str
    full_name: str
    created_at: float          # epoch seconds
    disabled_at: float | None  # epoch seconds; None while the account is enabled


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, email: str, full_name: str = "") -> tuple[Account, str]:
        email = _normal_email(email)
        if not EMAIL.fullmatch(email) or len(email) > EMAIL_LENGTH or not storable(email):
            raise errors.InvalidParams.one("email", "is not a valid e-mail address")
        if len(full_name) > FULL_NAME_LENGTH or not storable(full_name):
            raise errors.InvalidParams.one("name", f"must be at most {FULL_NAME_LENGTH} characters, without U+0000")
        token = new_token()
        try:
            with self.engine.begin() as conn:
                account_id = conn.execute(
                    insert(accounts).values(
                        email=email, full_name=full_name, token_sha256=token_digest(token),
                        created_at=time.time(),
                    )
                ).inserted_primary_key[0]
        except IntegrityError:
            raise errors.AlreadyExists(f"an account for {email} already exists") from None
        return Account(account_id, email, full_name), token

    def authenticate(self, email: str, token: str) -> Account:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(accounts.c.id, accounts.c.email, accounts.c.full_name, accounts.c.token_sha256,
                       accounts.c.disabled_at)
                .where(accounts.c.email == _normal_email(email))
            ).first()
        # Compare even when the account is missing or disabled, so timing does
        # not reveal which e-mails exist; a disabled account is refused in the
        # same words as a wrong token.
        expected = row.token_sha256 if row else "0" * 64
        if not hmac.compare_digest(expected, token_digest(token)) or row is None or row.disabled_at is not None:
            raise errors.Unauthenticated("Authorization failed")
        return Account(row.id, row.email, row.full_name)

    def entries(self) -> list[AccountEntry]:
        """Every account, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(accounts).order_by(accounts.c.id)).all()
        return [AccountEntry(r.id, r.email, r.full_name, r.created_at, r.disabled_at) for r in rows]

    def rotate_token(self, email: str) -> tuple[Account, str]:
        """A new token for the account; the old one is refused from now on. A
        disabled account stays disabled."""
        token = new_token()
        with self.engine.begin() as conn:
            row = conn.execute(
                update(accounts).where(accounts.c.email == _normal_email(email))
                .values(token_sha256=token_digest(token))
                .returning(accounts.c.id, accounts.c.email, accounts.c.full_name)
            ).first()
        if row is None:
            raise errors.NotFound(f"no account for {email.strip()}")
        return Account(row.id, row.email, row.full_name), token

    def disable(self, email: str, now: float | None = None) -> AccountEntry:
        """Refuse the account's token from now on. Disabling twice keeps the
        first time."""
        with self.engine.begin() as conn:
            conn.execute(
                update(accounts)
                .where(accounts.c.email == _normal_email(email), accounts.c.disabled_at.is_(None))
                .values(disabled_at=time.time() if now is None else now)
            )
            row = conn.execute(select(accounts).where(accounts.c.email == _normal_email(email))).first()
        if row is None:
            raise errors.NotFound(f"no account for {email.strip()}")
        return AccountEntry(row.id, row.email, row.full_name, row.created_at, row.disabled_at)

    def get(self, account_id: int) -> Account:
        with self.engine.connect() as conn:
            row = the_row(conn, select(accounts).where(accounts.c.id == account_id), "account")
        return Account(row.id, row.email, row.full_name)


def new_token() -> str:
    """256 random bits, as 64 hex digits."""
    return secrets.token_hex(32)


def _normal_email(email: str) -> str:
    # E-mails are stored lower-cased: one account per address, whatever its spelling.
    return email.strip().lower()
