"""Where the CLI sends its requests and as whom: flags first, then
CHARTSNAP_URL, CHARTSNAP_EMAIL and CHARTSNAP_TOKEN (read once, failing fast
with the name of what is wrong)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

from chartsnap.settings import EnvReader, SettingsError

DEFAULT_URL = "http://127.0.0.1:8080"  # the gateway of `make run`


@dataclass(frozen=True)
class ClientSettings:
    url: str                          # the gateway's base URL, no trailing slash
    email: str
    token: str = field(repr=False)    # kept out of reprs and logs


def client_settings(url: str | None = None, email: str | None = None, token: str | None = None,
                    environ: dict[str, str] | None = None) -> ClientSettings:
    """The flags given, else the environment; SettingsError naming every problem."""
    env = EnvReader(environ)
    if url:
        url = url.strip().rstrip("/")
        where = "--url"
    else:
        url = env.url("URL", DEFAULT_URL)
        where = f"{EnvReader.PREFIX}URL"
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        env.problems.append(f"{where}={url!r} is not an http:// or https:// URL")
    email = (email or env.str("EMAIL", "")).strip()
    token = (token or env.str("TOKEN", "")).strip()
    if not email:
        env.problems.append(f"no e-mail: pass --email or set {EnvReader.PREFIX}EMAIL")
    if not token:
        env.problems.append(f"no API token: pass --token or set {EnvReader.PREFIX}TOKEN "
                            "(`chartsnap user add EMAIL` prints one)")
    env.finish()
    return ClientSettings(url, email, token)


__all__ = ["ClientSettings", "SettingsError", "client_settings", "DEFAULT_URL"]
