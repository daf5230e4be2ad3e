"""Telemetry history samples from the pure folds (docs/history.md): the vocabulary's names,
server time, its bounds refusing with a reason."""

from __future__ import annotations

from tonypi_events import EventType
from tonypi_events import metrics_vocabulary as vocab

from tests.projector.folding import Folded
from tests.projector.support import event


def samples(changes):
    return {(s.robot_id, s.metric): s.value for s in changes.samples}


def test_every_numeric_reading_becomes_a_sample_at_server_time():
    f = Folded()
    battery = event(EventType.BATTERY, "r1", {"percentage": 87.5, "voltage": 10.5, "charging": True})
    changes = f.fold(
        battery,
        event(
            EventType.STATUS,
            "r1",
            {
                "status": "online",
                "system_info": {"cpu_percent": 12, "memory_percent": 40, "disk_usage": 55, "temperature": 51},
            },
        ),
        event(EventType.LOCATION, "r1", {"x": 1, "y": 2, "z": 0, "heading": 90}),
        event(EventType.SENSOR, "r1", {"sensor_type": "ultrasonic_distance", "value": 33.0, "unit": "cm"}),
        event(
            EventType.SERVOS,
            "r1",
            {
                "servos": {
                    "servo_1": {"id": 1, "position": 10, "temperature": 45, "voltage": 7.4},
                    "servo_2": {},
                }
            },
            version=1,
        ),
    )
    assert samples(changes) == {
        ("r1", "battery.percentage"): 87.5,
        ("r1", "battery.voltage"): 10.5,
        ("r1", "battery.charging"): 1.0,
        ("r1", "cpu.percent"): 12.0,
        ("r1", "memory.percent"): 40.0,
        ("r1", "disk.percent"): 55.0,
        ("r1", "cpu.temperature"): 51.0,  # gen 1's system_info.temperature
        ("r1", "location.x"): 1.0,
        ("r1", "location.y"): 2.0,
        ("r1", "location.z"): 0.0,
        ("r1", "location.heading"): 90.0,
        ("r1", "sensor.ultrasonic_distance"): 33.0,
        ("r1", "servo.1.position"): 10.0,
        ("r1", "servo.1.temperature"): 45.0,
        ("r1", "servo.1.voltage"): 7.4,
    }
    assert changes.samples[0].t == battery.received_at
    assert all(vocab.is_metric(s.metric) for s in changes.samples)
    assert changes.refused_samples == []


def test_gen2_cpu_temperature_wins_and_absent_values_make_no_sample():
    f = Folded()
    changes = f.fold(
        event(
            EventType.STATUS,
            "r1",
            {"status": "online", "system_info": {"temperature": 40, "cpu_temperature": 62}},
        ),
        event(EventType.STATUS, "r1", {"status": "online"}),
        event(EventType.BATTERY, "r1", {"percentage": None}),
        event(EventType.SENSOR, "r1", {"sensor_type": "light_level"}),
    )
    assert samples(changes) == {("r1", "cpu.temperature"): 62.0}


def test_bounds_refuse_with_a_reason_and_the_rest_is_kept():
    f = Folded()
    f.fold(*(event(EventType.SENSOR, "r1", {"sensor_type": f"s{i}", "value": i}) for i in range(32)))
    changes = f.fold(
        event(EventType.SENSOR, "r1", {"sensor_type": "one_too_many", "value": 1}),
        event(EventType.SENSOR, "r1", {"sensor_type": "s5", "value": 5}),  # a known one goes on
        event(EventType.SENSOR, "r1", {"sensor_type": "bad name!", "value": 1}),
        event(EventType.SERVOS, "r1", {"servos": {"servo_99": {"position": 1}, "servo_3": {"position": 2}}}),
    )
    assert samples(changes) == {("r1", "sensor.s5"): 5.0, ("r1", "servo.3.position"): 2.0}
    assert [reason for reason, _ in changes.refused_samples] == [
        "too_many_sensors",
        "sensor_name_invalid",
        "servo_id_out_of_range",
    ]
    assert "servo_99" in changes.refused_samples[2][1]


def test_vocabulary_names_units_and_bounds():
    assert vocab.unit_of("battery.percentage") == "%"
    assert vocab.unit_of("servo.32.temperature") == "°C"
    assert vocab.unit_of("servo.33.temperature") is None
    assert vocab.unit_of("servo.0.voltage") is None
    assert vocab.unit_of("sensor.accelerometer_x") == "m/s²"
    assert vocab.unit_of("sensor.some_new_one") == ""
    assert vocab.unit_of("sensor.bad-name") is None
    assert vocab.unit_of("battery") is None
    assert vocab.MAX_SERIES_PER_ROBOT == 13 + 3 * 32 + 32
    assert {m.name for m in vocab.VOCABULARY} >= {
        "battery.percentage",
        "servo.<id>.position",
        "sensor.<name>",
    }
