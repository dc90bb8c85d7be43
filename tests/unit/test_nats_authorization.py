"""The NATS permission table: complete for every user, consistent with the
names the services use, and the deployed copy of it current."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chartsnap import nats_authorization as auth
from chartsnap import queue
from chartsnap.settings import EnvReader, NatsLogin, SettingsError
from notifier_svc.delivery_ledger import BUCKET

REPO = Path(__file__).resolve().parents[2]


def test_the_ledger_bucket_is_the_notifiers() -> None:
    assert auth.DELIVERY_LEDGER_BUCKET == BUCKET


def test_each_service_publishes_only_its_own_messages() -> None:
    published = {user: set(auth.permissions_of(user).publish) for user in auth.SERVICE_USERS}
    assert queue.RENDER_REQUESTS in published[auth.SNAPSHOT_USER]
    assert queue.RENDER_RESULTS in published[auth.RENDER_USER]
    assert queue.DELIVERY_RESULTS in published[auth.NOTIFIER_USER]
    for user in (auth.RENDER_USER, auth.NOTIFIER_USER):
        assert ">" not in published[user] and "$JS.API.>" not in published[user]
        assert queue.DELIVERY_REQUESTS not in published[user] and queue.RENDER_REQUESTS not in published[user]
    # Creating/updating every stream and asking for its info (what a create
    # answers anyway) is allowed, as each service ensures them all; reading
    # another's messages is not: no consumer, message get or ack on it.
    upkeep = (".STREAM.CREATE.", ".STREAM.UPDATE.", ".STREAM.INFO.")

    def reads(user: str, stream: str) -> list[str]:
        return [s for s in published[user] if f".{stream}" in s and not any(verb in s for verb in upkeep)]
    assert reads(auth.RENDER_USER, queue.DELIVERY_STREAM) == []
    assert reads(auth.NOTIFIER_USER, queue.RENDER_STREAM) == []
    assert reads(auth.RENDER_USER, queue.RENDER_STREAM) != []


def test_each_user_reads_only_its_own_inbox() -> None:
    for user in auth.SERVICE_USERS:
        subscribed = auth.permissions_of(user).subscribe
        assert f"{auth.inbox_prefix(user)}.>" in subscribed
        assert not any(s.startswith("_INBOX.") or s == ">" for s in subscribed)
        others = [auth.inbox_prefix(o) for o in auth.SERVICE_USERS if o != user]
        assert not any(s.startswith(prefix) for s in subscribed for prefix in others)


def test_no_anonymous_user_and_every_password_asked_for() -> None:
    block = auth.authorization_block(auth.password_from_environment)
    assert "no_auth_user" not in block
    for user in auth.USERS:
        assert f'user: "{user}", password: ${auth.password_variable(user)},' in block
    with pytest.raises(KeyError):
        auth.permissions_of("nobody")


KUBERNETES = REPO / "deploy/kubernetes"
# The one copy every overlay's NATS includes (a Kustomize component).
DEPLOYED_AUTHORIZATION = KUBERNETES / "components/nats-authorization/authorization.conf"


def test_the_deployed_nats_authorization_is_current() -> None:
    assert DEPLOYED_AUTHORIZATION.read_text() == auth.authorization_block(auth.password_from_environment), (
        f"{DEPLOYED_AUTHORIZATION.relative_to(REPO)} is stale: regenerate it from chartsnap/nats_authorization.py "
        "(the command is in its kustomization.yaml)")


def test_every_overlay_includes_the_deployed_authorization() -> None:
    for overlay in ("dev", "prod"):
        kustomization = yaml.safe_load((KUBERNETES / "overlays" / overlay / "kustomization.yaml").read_text())
        assert "../../components/nats-authorization" in kustomization.get("components", []), overlay
        assert 'include "./authorization.conf"' in (KUBERNETES / "overlays" / overlay / "nats.conf").read_text()


def _generated_secrets(overlay: str) -> dict[str, dict[str, str]]:
    kustomization = yaml.safe_load((KUBERNETES / "overlays" / overlay / "kustomization.yaml").read_text())
    return {gen["name"]: dict(literal.split("=", 1) for literal in gen.get("literals", []))
            for gen in kustomization.get("secretGenerator", [])}


def test_only_the_dev_overlay_generates_nats_passwords_and_they_say_dev() -> None:
    dev = _generated_secrets("dev")["chartsnap-nats"]
    assert set(dev) == {auth.password_variable(u) for u in auth.USERS}
    assert all(value.startswith("dev-only-") for value in dev.values()), "no real password in the repository"
    assert len(set(dev.values())) == len(dev), "one password per user"
    assert _generated_secrets("prod") == {}, "production Secrets are created by the operator, never committed"


def test_nats_login_from_the_environment(tmp_path: Path) -> None:
    assert EnvReader({}).nats_login() == NatsLogin()
    login = EnvReader({"CHARTSNAP_NATS_USER": "render_svc", "CHARTSNAP_NATS_PASSWORD": "pw"}).nats_login()
    assert login == NatsLogin("render_svc", "pw") and "pw" not in repr(login)
    secret = tmp_path / "password"
    secret.write_text("from-a-file\n")
    env = EnvReader({"CHARTSNAP_NATS_USER": "u", "CHARTSNAP_NATS_PASSWORD_FILE": str(secret)})
    assert env.nats_login() == NatsLogin("u", "from-a-file")


@pytest.mark.parametrize(("environ", "words"), [
    ({"CHARTSNAP_NATS_USER": "u"}, "must be set together"),
    ({"CHARTSNAP_NATS_PASSWORD": "p"}, "must be set together"),
    ({"CHARTSNAP_NATS_USER": "u", "CHARTSNAP_NATS_PASSWORD": "p", "CHARTSNAP_NATS_PASSWORD_FILE": "/x"}, "both set"),
    ({"CHARTSNAP_NATS_USER": "u", "CHARTSNAP_NATS_PASSWORD_FILE": "/no/such/file"}, "cannot be read"),
])
def test_bad_nats_logins_fail_fast(environ: dict[str, str], words: str) -> None:
    env = EnvReader(environ)
    env.nats_login()
    with pytest.raises(SettingsError, match=words):
        env.finish()
