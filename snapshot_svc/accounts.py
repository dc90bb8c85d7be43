"""Accounts and API tokens. Tokens are 256 random bits, so a SHA-256 digest is
what we store (a slow password hash would only slow every request down), and
comparison is constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select
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


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, email: str, full_name: str = "") -> tuple[Account, str]:
        email = email.strip().lower()
        if not EMAIL.fullmatch(email) or len(email) > EMAIL_LENGTH or not storable(email):
            raise errors.InvalidParams.one("email", "is not a valid e-mail address")
        if len(full_name) > FULL_NAME_LENGTH or not storable(full_name):
            raise errors.InvalidParams.one("name", f"must be at most {FULL_NAME_LENGTH} characters, without U+0000")
        token = secrets.token_hex(32)
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
                select(accounts.c.id, accounts.c.email, accounts.c.full_name, accounts.c.token_sha256)
                .where(accounts.c.email == email.strip().lower())
            ).first()
        # Compare even when the account is missing, so timing does not reveal which e-mails exist.
        expected = row.token_sha256 if row else "0" * 64
        if not hmac.compare_digest(expected, token_digest(token)) or row is None:
            raise errors.Unauthenticated("Authorization failed")
        return Account(row.id, row.email, row.full_name)

    def get(self, account_id: int) -> Account:
        with self.engine.connect() as conn:
            row = the_row(conn, select(accounts).where(accounts.c.id == account_id), "account")
        return Account(row.id, row.email, row.full_name)
