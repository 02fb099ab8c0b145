"""Only what differs from the recommended configuration is written."""

from custom_components.csms.central.commissioning import (
    CONFIGURED_KEYS,
    configuration_changes,
    recommended_configuration,
)


def test_a_charger_that_kept_its_configuration_gets_nothing_written() -> None:
    wanted = recommended_configuration(60, ["Energy.Active.Import.Register", "Current.Import"])
    # Chargers answer in their own spelling.
    current = {
        **wanted,
        "MeterValuesSampledData": "Current.Import, Energy.Active.Import.Register",
        "LocalAuthorizeOffline": "True",
    }
    assert configuration_changes(wanted, current) == {}


def test_changed_and_missing_values_are_written() -> None:
    wanted = recommended_configuration(60, ["Energy.Active.Import.Register"])
    current = {**wanted, "MeterValueSampleInterval": "300"}
    del current["WebSocketPingInterval"]
    assert configuration_changes(wanted, current) == {
        "MeterValueSampleInterval": "60",
        "WebSocketPingInterval": wanted["WebSocketPingInterval"],
    }


def test_every_recommended_key_is_read_first() -> None:
    assert set(recommended_configuration(60, ["Power.Active.Import"])) <= set(CONFIGURED_KEYS)
