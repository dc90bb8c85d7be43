"""Each service's drain timeout (CHARTSNAP_<SERVICE>_DRAIN_TIMEOUT): the most
it takes from SIGTERM to its exit (chartsnap.service_main enforces it), by
default the longest its work in flight may still take plus STOP_ALLOWANCE_S
for closing, derived from the same variables that bound that work."""

from __future__ import annotations

import pytest

from chartsnap.settings import STOP_ALLOWANCE_S, SettingsError, work_grace
from gateway.settings import GatewaySettings
from notifier_svc.settings import NotifierSettings
from render_svc.settings import RenderSettings
from snapshot_svc.settings import SnapshotSettings

# (settings class, its variable, the variable bounding its work, work(value) in seconds)
SERVICES = [
    (GatewaySettings, "CHARTSNAP_GATEWAY_DRAIN_TIMEOUT", "CHARTSNAP_RPC_TIMEOUT", lambda rpc: rpc),
    (SnapshotSettings, "CHARTSNAP_SNAPSHOT_DRAIN_TIMEOUT", None, None),
    (RenderSettings, "CHARTSNAP_RENDER_DRAIN_TIMEOUT", "CHARTSNAP_RENDER_TIMEOUT", lambda render: 2 * render),
    (NotifierSettings, "CHARTSNAP_NOTIFIER_DRAIN_TIMEOUT", "CHARTSNAP_NOTIFY_ATTEMPT_TIMEOUT",
     lambda attempt: attempt),
]
DEFAULTS = {GatewaySettings: 15.0, SnapshotSettings: 15.0, RenderSettings: 25.0, NotifierSettings: 25.0}


@pytest.mark.parametrize(("settings_class", "variable", "work_variable", "work"), SERVICES)
def test_the_default_drain_timeout_lets_the_work_in_flight_finish_then_close(settings_class, variable,
                                                                            work_variable, work):
    settings = settings_class.from_env({})
    assert settings.drain_timeout == DEFAULTS[settings_class]
    # A settings object built in code (the tests') drains alike.
    assert settings_class.__dataclass_fields__["drain_timeout"].default == settings.drain_timeout
    if work_variable is not None:
        longer = settings_class.from_env({work_variable: "40"})
        assert longer.drain_timeout == work(40.0) + STOP_ALLOWANCE_S
        assert work_grace(longer.drain_timeout) == work(40.0)


@pytest.mark.parametrize(("settings_class", "variable", "work_variable", "work"), SERVICES)
def test_the_drain_timeout_is_set_outright_or_refused_naming_the_variable(settings_class, variable,
                                                                         work_variable, work):
    assert settings_class.from_env({variable: "90"}).drain_timeout == 90.0
    with pytest.raises(SettingsError, match=f"{variable}='soon' is not a number"):
        settings_class.from_env({variable: "soon"})
    with pytest.raises(SettingsError, match=f"{variable}=0.5 must be ≥ 1.0"):
        settings_class.from_env({variable: "0.5"})


def test_a_drain_timeout_shorter_than_the_allowance_gives_the_work_no_grace():
    assert work_grace(STOP_ALLOWANCE_S + 3) == 3.0
    assert work_grace(STOP_ALLOWANCE_S - 1) == 0.0
