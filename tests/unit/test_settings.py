"""chartsnap.settings.EnvReader: typed CHARTSNAP_* settings, every problem reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from chartsnap.settings import EnvReader, SettingsError


def _reader(**env: str) -> EnvReader:
    return EnvReader({f"CHARTSNAP_{k}": v for k, v in env.items()})


def test_explicit_environ_is_used_not_os_environ(monkeypatch):
    monkeypatch.setenv("CHARTSNAP_PORT", "1234")
    assert EnvReader({}).int("PORT", 80) == 80
    assert EnvReader().int("PORT", 80) == 1234


def test_defaults_when_unset_or_blank():
    env = _reader(BLANK="   ")
    assert env.str("NAME", "dflt") == "dflt"
    assert env.str("BLANK", "dflt") == "dflt"
    assert env.int("BLANK", 7) == 7
    assert env.float("BLANK", 1.5) == 1.5
    assert env.bool("BLANK", True) is True
    assert env.address("BLANK", "127.0.0.1:50051") == "127.0.0.1:50051"
    assert env.url("BLANK", "http://localhost:8080/") == "http://localhost:8080"
    env.finish()
    assert env.problems == []


def test_values_are_stripped_and_parsed():
    env = _reader(NAME=" chart ", N=" 42 ", F="2.5", B=" Yes ", ADDR="0.0.0.0:8080", URL="https://x.example.com/a/")
    assert env.str("NAME", "") == "chart"
    assert env.int("N", 0) == 42
    assert env.float("F", 0.0) == 2.5
    assert env.bool("B", False) is True
    assert env.address("ADDR", "") == "0.0.0.0:8080"
    assert env.url("URL", "") == "https://x.example.com/a"
    env.finish()


@pytest.mark.parametrize("raw, expected", [
    ("1", True), ("true", True), ("TRUE", True), ("on", True), ("yes", True),
    ("0", False), ("false", False), ("Off", False), ("no", False),
])
def test_bool_values(raw, expected):
    assert _reader(B=raw).bool("B", not expected) is expected


@pytest.mark.parametrize("url", ["http://h:1", "https://h", "nats://127.0.0.1:4222", "tls://nats.example.com:4222"])
def test_url_schemes_accepted(url):
    env = _reader(U=url)
    assert env.url("U", "") == url
    env.finish()


@pytest.mark.parametrize("addr", ["localhost:0", "[::1]:50051", "h:65535"])
def test_addresses_accepted(addr):
    env = _reader(A=addr)
    env.address("A", "")
    env.finish()


@pytest.mark.parametrize("method, raw, default, fragment", [
    ("int", "ten", 10, "CHARTSNAP_X='ten' is not an integer"),
    ("int", "1.5", 10, "is not an integer"),
    ("float", "fast", 1.0, "CHARTSNAP_X='fast' is not a number"),
    ("bool", "maybe", False, "CHARTSNAP_X='maybe' is not a boolean"),
    ("address", "localhost", "", "CHARTSNAP_X='localhost' is not host:port"),
    ("address", ":8080", "", "is not host:port"),
    ("address", "host:http", "", "is not host:port"),
    ("address", "host:65536", "", "is not host:port"),
    ("address", "host:", "", "is not host:port"),
    ("url", "localhost:8080", "", "CHARTSNAP_X='localhost:8080' is not an absolute URL"),
    ("url", "ftp://files.example.com", "", "is not an absolute URL"),
    ("url", "http://", "", "is not an absolute URL"),
    ("url", "not a url", "", "is not an absolute URL"),
])
def test_bad_values_are_reported(method, raw, default, fragment):
    env = _reader(X=raw)
    getattr(env, method)("X", default)
    with pytest.raises(SettingsError) as info:
        env.finish()
    assert fragment in str(info.value)


def test_bad_int_or_bool_falls_back_to_default_but_is_still_a_problem():
    env = _reader(N="ten", B="maybe")
    assert env.int("N", 10) == 10
    assert env.bool("B", True) is True
    assert len(env.problems) == 2


def test_int_bounds():
    env = _reader(LOW="0", HIGH="101", OK="50")
    assert env.int("OK", 1, lo=1, hi=100) == 50
    env.int("LOW", 1, lo=1, hi=100)
    env.int("HIGH", 1, lo=1, hi=100)
    assert env.problems == ["CHARTSNAP_LOW=0 must be within [1, 100]", "CHARTSNAP_HIGH=101 must be within [1, 100]"]


def test_int_bounds_are_inclusive():
    env = _reader(A="1", B="100")
    env.int("A", 5, lo=1, hi=100)
    env.int("B", 5, lo=1, hi=100)
    env.finish()


def test_float_lower_bound():
    env = _reader(F="-0.5")
    env.float("F", 1.0, lo=0.0)
    assert len(env.problems) == 1 and "CHARTSNAP_F=-0.5" in env.problems[0]


def test_finish_lists_every_problem():
    env = _reader(PORT="eighty", DEBUG="perhaps", GRPC="nowhere", PUBLIC_URL="example.com", WORKERS="0")
    env.int("PORT", 80)
    env.bool("DEBUG", False)
    env.address("GRPC", "127.0.0.1:50051")
    env.url("PUBLIC_URL", "http://localhost")
    env.int("WORKERS", 1, lo=1)
    with pytest.raises(SettingsError) as info:
        env.finish()
    text = str(info.value)
    assert text.startswith("invalid configuration:")
    for name in ("CHARTSNAP_PORT", "CHARTSNAP_DEBUG", "CHARTSNAP_GRPC", "CHARTSNAP_PUBLIC_URL", "CHARTSNAP_WORKERS"):
        assert name in text, name
    assert len(text.splitlines()) == 6


def test_a_bad_default_is_reported_too():
    env = EnvReader({})
    env.address("GRPC", "no-port")
    with pytest.raises(SettingsError):
        env.finish()


def test_paths_resolve(tmp_path):
    env = _reader(DATA_DIR=str(tmp_path / "sub" / ".." / "data"))
    assert env.data_dir() == (tmp_path / "data").resolve()
    assert EnvReader({}).data_dir() == Path("var").resolve()
    assert EnvReader({}).path("X", Path("rel")) == Path("rel").resolve()


def test_s3_settings_are_read_once_and_hide_the_secret_key():
    from chartsnap.settings import S3Settings
    from notifier_svc.settings import NotifierSettings
    from render_svc.settings import RenderSettings

    environ = {"CHARTSNAP_S3_ENDPOINT": "s3.example.com:443", "CHARTSNAP_S3_ACCESS_KEY": "AK",
               "CHARTSNAP_S3_SECRET_KEY": "very-secret-key", "CHARTSNAP_S3_BUCKET": "images",
               "CHARTSNAP_S3_SECURE": "true"}
    expected = S3Settings("s3.example.com:443", "AK", "very-secret-key", "images", True)
    assert EnvReader(environ).s3() == expected
    assert EnvReader({}).s3() == S3Settings()
    for settings in (RenderSettings.from_env(environ), NotifierSettings.from_env(environ)):
        assert settings.s3 == expected
        assert "very-secret-key" not in repr(settings)


def test_choice_takes_only_the_values_named():
    env = _reader(NODES="3", TWO="2", WORD="three")
    assert env.choice("NODES", 1, (1, 3)) == 3
    assert env.choice("UNSET", 1, (1, 3)) == 1
    env.choice("TWO", 1, (1, 3))
    env.choice("WORD", 1, (1, 3))
    assert env.problems == ["CHARTSNAP_TWO=2 must be one of 1, 3", "CHARTSNAP_WORD='three' is not an integer"]


def test_addresses_are_one_or_several_host_ports():
    env = _reader(ONE="127.0.0.1:1", SEVERAL=" 127.0.0.1:1, 127.0.0.1:2 ,", BAD="127.0.0.1:1,nowhere", NONE=" , ")
    assert env.addresses("ONE", "") == ("127.0.0.1:1",)
    assert env.addresses("SEVERAL", "") == ("127.0.0.1:1", "127.0.0.1:2")
    assert env.problems == []
    env.addresses("BAD", "")
    env.addresses("NONE", "")
    assert env.problems == ["CHARTSNAP_BAD: 'nowhere' is not host:port", "CHARTSNAP_NONE names no address"]


@pytest.mark.parametrize("raw, target", [
    ("127.0.0.1:50051", "127.0.0.1:50051"),
    ("snapshot-svc:50051", "snapshot-svc:50051"),          # one DNS name: gRPC balances over its addresses
    ("127.0.0.1:50051,127.0.0.1:50061", "ipv4:127.0.0.1:50051,127.0.0.1:50061"),
    ("[::1]:50051, [::1]:50061", "ipv6:[::1]:50051,[::1]:50061"),
    ("dns:///snapshot-svc-headless:50051", "dns:///snapshot-svc-headless:50051"),
    ("dns://10.0.0.10:53/snapshot-svc-headless.chartsnap.svc:50051",
     "dns://10.0.0.10:53/snapshot-svc-headless.chartsnap.svc:50051"),
])
def test_the_gateway_reaches_every_snapshot_replica_it_is_given(raw, target):
    from gateway.settings import GatewaySettings

    assert GatewaySettings.from_env({"CHARTSNAP_SNAPSHOT_ADDR": raw}).snapshot_addr == target


@pytest.mark.parametrize("raw, fragment", [
    ("snapshot-1:50051,snapshot-2:50051", "'snapshot-1:50051' in a list must be an IP address"),
    ("127.0.0.1:50051,[::1]:50051", "mixes IPv4 and IPv6"),
    ("127.0.0.1:50051,127.0.0.1", "'127.0.0.1' is not host:port"),
    ("dns:///snapshot-svc-headless", "'snapshot-svc-headless' is not host:port"),
    ("nowhere", "'nowhere' is not host:port"),
])
def test_bad_snapshot_addresses_fail_fast_naming_the_variable(raw, fragment):
    from gateway.settings import GatewaySettings

    with pytest.raises(SettingsError) as info:
        GatewaySettings.from_env({"CHARTSNAP_SNAPSHOT_ADDR": raw})
    assert "CHARTSNAP_SNAPSHOT_ADDR" in str(info.value) and fragment in str(info.value)


def test_the_gateway_channel_balances_round_robin():
    import json

    from gateway.server import CHANNEL_OPTIONS

    config = json.loads(dict(CHANNEL_OPTIONS)["grpc.service_config"])
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]


def test_the_snapshot_services_pool_defaults_to_its_db_threads_plus_an_overflow():
    from snapshot_svc.database import PoolSize
    from snapshot_svc.settings import SnapshotSettings

    assert SnapshotSettings.from_env({}).pool == PoolSize(size=16, overflow=4)
    assert SnapshotSettings.from_env({"CHARTSNAP_DB_THREADS": "8"}).pool == PoolSize(size=8, overflow=4)
    tuned = SnapshotSettings.from_env({"CHARTSNAP_DB_THREADS": "8", "CHARTSNAP_DB_POOL_SIZE": "5",
                                       "CHARTSNAP_DB_POOL_OVERFLOW": "0"})
    assert (tuned.db_threads, tuned.pool, tuned.pool.most) == (8, PoolSize(size=5, overflow=0), 5)


@pytest.mark.parametrize("name, raw", [("CHARTSNAP_DB_POOL_SIZE", "0"), ("CHARTSNAP_DB_POOL_SIZE", "many"),
                                       ("CHARTSNAP_DB_POOL_OVERFLOW", "-1")])
def test_a_bad_pool_setting_fails_fast_naming_the_variable(name, raw):
    from snapshot_svc.settings import SnapshotSettings

    with pytest.raises(SettingsError, match=name):
        SnapshotSettings.from_env({name: raw})


def test_the_snapshot_services_retention_defaults_and_the_days_follow_longer_hours():
    from snapshot_svc.rollup_rules import DAY, Retention
    from snapshot_svc.settings import SnapshotSettings

    assert SnapshotSettings.from_env({}).retention == Retention(7 * DAY, 90 * DAY, 1095 * DAY, 3650 * DAY)
    century = {f"CHARTSNAP_{name}_RETENTION_DAYS": "36500" for name in ("RAW", "MINUTE", "HOUR")}
    assert SnapshotSettings.from_env(century).retention.days == 36500 * DAY  # unset: as long as the hours
    set_ = SnapshotSettings.from_env({"CHARTSNAP_DAY_RETENTION_DAYS": "2000.5"}).retention
    assert set_ == Retention(7 * DAY, 90 * DAY, 1095 * DAY, 2000.5 * DAY)


@pytest.mark.parametrize("env", [{"CHARTSNAP_DAY_RETENTION_DAYS": "1000"},  # under the hours' 1095
                                 {"CHARTSNAP_RAW_RETENTION_DAYS": "100"},
                                 {"CHARTSNAP_HOUR_RETENTION_DAYS": "4000", "CHARTSNAP_DAY_RETENTION_DAYS": "3650"}])
def test_a_resolution_kept_shorter_than_a_finer_one_fails_fast_naming_the_rule(env):
    from snapshot_svc.settings import SnapshotSettings

    rule = ("CHARTSNAP_RAW_RETENTION_DAYS <= CHARTSNAP_MINUTE_RETENTION_DAYS <= CHARTSNAP_HOUR_RETENTION_DAYS "
            "<= CHARTSNAP_DAY_RETENTION_DAYS must hold")
    with pytest.raises(SettingsError, match=rule):
        SnapshotSettings.from_env(env)
