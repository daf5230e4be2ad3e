"""Ingest settings from the environment, and the MQTT protocol choice (pure logic)."""

from __future__ import annotations

import pytest
from tonypi_events.items import DEFAULT_CATALOGUE_PATH as DEFAULT_CATALOGUE
from tonypi_ingest.config import load_config
from tonypi_ingest.mqtt_session import V5, V311, ProtocolChoice, subscriptions
from tonypi_ingest.mqtt_source import subscription_filters
from tonypi_runtime.config import ConfigError


def test_defaults():
    config = load_config({})
    assert (config.http.host, config.http.port) == ("127.0.0.1", 9101)
    assert (config.shared_group, config.client_id, config.subscribe_qos) == (None, None, 1)
    assert (config.protocol, config.receive_maximum, config.buffer_size) == ("auto", 65_535, 100_000)
    assert config.catalogue_path == DEFAULT_CATALOGUE


@pytest.mark.parametrize(
    "variable, value",
    [
        ("INGEST_BUFFER_SIZE", "0"),
        ("INGEST_BUFFER_SIZE", "many"),
        ("INGEST_MAX_IN_FLIGHT", "-1"),
        ("INGEST_ACK_TIMEOUT_S", "soon"),
        ("MQTT_SUBSCRIBE_QOS", "2"),
        ("MQTT_SHARED_GROUP", "a/b"),
        ("MQTT_CLIENT_ID", "x+y"),
        ("MQTT_PROTOCOL", "4"),
        ("MQTT_RECEIVE_MAXIMUM", "70000"),
        ("LOG_FORMAT", "xml"),
        ("LOG_LEVEL", "LOUD"),
        ("ITEM_CATALOGUE_PATH", "/nonexistent/items.json"),
        ("MQTT_URL", "http://broker"),
        ("NATS_URL", "nats://"),
        ("INGEST_PORT", "http"),
    ],
)
def test_a_bad_value_names_its_variable(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_config({variable: value})


def test_shared_group_subscribes_through_share_with_the_prefix():
    filters = subscription_filters(load_config({"MQTT_SHARED_GROUP": "ingest", "MQTT_TOPIC_PREFIX": "site1"}))
    assert "$share/ingest/site1/tonypi/status/+" in filters
    assert "$share/ingest/site1/tonypi/battery" in filters
    assert len(filters) == 11


def test_protocol_choice_alternates_until_one_connects_then_sticks():
    choice = ProtocolChoice()
    assert choice.current is V5
    choice.failed()
    assert choice.current is V311
    choice.failed()
    assert choice.current is V5
    choice.failed()
    choice.connected()
    choice.failed()  # a lost connection later does not change a protocol that worked
    assert choice.current is V311


def test_protocol_setting_fixes_the_choice():
    choice = ProtocolChoice("3.1.1")
    choice.failed()
    assert choice.current is V311
    assert ProtocolChoice("5").current is V5


def test_mqtt5_subscriptions_carry_options():
    ((topic, options),) = subscriptions(["a/+"], 1, V5)
    assert (topic, options.QoS) == ("a/+", 1)
    assert subscriptions(["a/+"], 1, V311) == [("a/+", 1)]
