"""snapshot_svc.accounts: accounts, hashed API tokens, authentication."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from chartsnap import errors
from snapshot_svc.accounts import Account, AccountStore, token_digest
from snapshot_svc.tables import accounts


@pytest.fixture
def store(db_engine) -> AccountStore:
    return AccountStore(db_engine)


def test_create_returns_account_and_a_long_random_token(store):
    account, token = store.create("Alice@Example.com ", "Alice A")
    assert account == Account(account.id, "alice@example.com", "Alice A")
    assert re.fullmatch(r"[0-9a-f]{64}", token)


def test_tokens_differ_between_accounts(store):
    _, t1 = store.create("a@example.com")
    _, t2 = store.create("b@example.com")
    assert t1 != t2


def test_stored_digest_is_sha256_hex_not_the_token(store, db_engine):
    account, token = store.create("alice@example.com")
    with db_engine.connect() as conn:
        row = conn.execute(select(accounts).where(accounts.c.id == account.id)).one()
    assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest() == token_digest(token)
    assert token not in tuple(str(v) for v in row)


@pytest.mark.parametrize("email", ["", "alice", "alice@", "@example.com", "alice@example", "a b@example.com",
                                   "a@b@example.com", "a@example.com, b@example.com", "<a@example.com>"])
def test_invalid_email_is_refused(store, email):
    with pytest.raises(errors.InvalidParams) as info:
        store.create(email)
    assert info.value.fields == {"email": ["is not a valid e-mail address"]}


def test_duplicate_email_already_exists_case_insensitively(store):
    store.create("alice@example.com")
    with pytest.raises(errors.AlreadyExists):
        store.create("alice@example.com")
    with pytest.raises(errors.AlreadyExists):
        store.create("  ALICE@example.COM")


def test_authenticate_good_token(store):
    account, token = store.create("alice@example.com", "Alice")
    assert store.authenticate("alice@example.com", token) == account
    assert store.authenticate(" Alice@Example.com ", token) == account  # e-mail is case insensitive


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),
    lambda t: t.upper(),
    lambda t: "",
    lambda t: t + " ",
    lambda t: hashlib.sha256(t.encode()).hexdigest(),  # the stored digest is not a credential
])
def test_authenticate_bad_token(store, mangle):
    _, token = store.create("alice@example.com")
    with pytest.raises(errors.Unauthenticated) as info:
        store.authenticate("alice@example.com", mangle(token))
    assert info.value.message == "Authorization failed"


def test_authenticate_unknown_email(store):
    _, token = store.create("alice@example.com")
    with pytest.raises(errors.Unauthenticated) as info:
        store.authenticate("bob@example.com", token)
    assert info.value.message == "Authorization failed"  # same answer as a bad token


def test_token_of_another_account_does_not_work(store):
    store.create("alice@example.com")
    _, bob_token = store.create("bob@example.com")
    with pytest.raises(errors.Unauthenticated):
        store.authenticate("alice@example.com", bob_token)


def test_get(store):
    account, _ = store.create("alice@example.com", "")
    assert store.get(account.id) == account
    assert account.display_name == "alice@example.com"
    assert Account(1, "a@example.com", "Alice").display_name == "Alice"
    with pytest.raises(errors.NotFound):
        store.get(account.id + 100)
