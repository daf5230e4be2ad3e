"""robots: pure folds, both generations, no I/O."""

from __future__ import annotations

from datetime import timedelta

from tonypi_events import EventType

from tests.projector.folding import Folded
from tests.projector.support import BASE_TIME, event

# Later than any default time tests.projector.support.event hands out.
T1 = BASE_TIME + timedelta(days=1, seconds=1)
T2 = BASE_TIME + timedelta(days=1, seconds=2)


def test_first_message_of_any_kind_auto_registers_the_robot_online():
    f = Folded()
    f.fold(
        event(
            EventType.SENSOR,
            "tonypi_07",
            {"sensor_type": "accelerometer_x", "value": 1.5, "unit": "m/s²"},
            at=T1,
        )
    )
    robot = f.robot("tonypi_07")
    assert (robot.id, robot.name, robot.status, robot.is_active) == (1, "tonypi_07", "online", True)
    assert robot.created_at == T1 and robot.last_seen == T1
    [line] = f.logs
    assert (line.id, line.level, line.category, line.robot_id) == (16, "INFO", "robot", "tonypi_07")
    assert line.message == "Robot auto-registered: tonypi_07"


def test_a_status_message_registers_with_its_own_status():
    f = Folded()
    f.fold(event(EventType.STATUS, "r1", {"status": "offline"}))
    assert f.robot("r1").status == "offline"
    assert f.messages("status") == []


def test_status_transitions_are_logged_but_heartbeats_are_not():
    f = Folded()
    f.fold(*[event(EventType.STATUS, "r1", {"status": "online"}) for _ in range(3)])
    f.fold(event(EventType.STATUS, "r1", {"status": "offline"}))
    f.fold(event(EventType.STATUS, "r1", {"status": "offline"}))
    f.fold(event(EventType.STATUS, "r1", {"status": "online"}))
    f.fold(event(EventType.STATUS, "r1", {"status": "emergency_stopped", "emergency_reason": "button"}))
    status_lines = [line for line in f.logs if line.category == "status"]
    assert [(line.level, line.details["to"]) for line in status_lines] == [
        ("WARNING", "offline"),
        ("INFO", "online"),
        ("ERROR", "emergency_stopped"),
    ]
    assert status_lines[-1].details["emergency_reason"] == "button"
    assert f.robot("r1").status == "emergency_stopped"


def test_last_seen_is_the_server_receive_time_of_any_message_never_going_back():
    f = Folded()
    f.fold(event(EventType.STATUS, "r1", {"status": "online"}, at=T2))
    f.fold(event(EventType.LOCATION, "r1", {"x": 1, "y": 2, "z": 0}, at=T1))  # an ingest replica's late clock
    assert f.robot("r1").last_seen == T2
    f.fold(event(EventType.LOG, "r1", {"message": "hi"}, at=T2 + timedelta(seconds=5)))
    assert f.robot("r1").last_seen == T2 + timedelta(seconds=5)


def test_telemetry_snapshot_keeps_the_latest_of_each_part_with_its_receive_time():
    f = Folded()
    f.fold(
        event(
            EventType.STATUS,
            "r1",
            {
                "status": "online",
                "ip_address": "10.0.0.7",
                "system_info": {
                    "cpu_percent": 12.5,
                    "memory_percent": 40,
                    "disk_usage": 55,
                    "temperature": 48.2,
                    "uptime": 3600,
                    "cpu_temperature": 50.1,
                },
            },
            at=T1,
        )
    )
    f.fold(
        event(
            EventType.BATTERY,
            "r1",
            {"percentage": 87.5, "voltage": 10.5, "charging": False, "current": 1.2},
            at=T1,
        ),
        event(EventType.BATTERY, "r1", {"percentage": 80.0, "voltage": 10.4, "charging": True}, at=T2),
        event(EventType.LOCATION, "r1", {"x": 1.0, "y": 2.0, "z": 0.0, "heading": 90}, at=T2),
        event(
            EventType.SENSOR, "r1", {"sensor_type": "ultrasonic_distance", "value": 31.0, "unit": "cm"}, at=T1
        ),
        event(
            EventType.SENSOR, "r1", {"sensor_type": "ultrasonic_distance", "value": 30.0, "unit": "cm"}, at=T2
        ),
        event(EventType.SENSOR, "r1", {"sensor_type": "cpu_temperature", "value": 51, "unit": "C"}, at=T2),
    )
    t = f.robot("r1").telemetry
    assert t["battery"] == {
        "percentage": 80.0,
        "voltage": 10.4,
        "charging": True,
        "received_at": T2.isoformat(),
    }
    assert t["location"] == {"x": 1.0, "y": 2.0, "z": 0.0, "heading": 90.0, "received_at": T2.isoformat()}
    assert t["system_info"]["cpu_percent"] == 12.5 and t["system_info"]["ip_address"] == "10.0.0.7"
    assert t["system_info"]["uptime"] == 3600 and t["system_info"]["received_at"] == T1.isoformat()
    assert t["sensors"]["ultrasonic_distance"] == {"value": 30.0, "unit": "cm", "received_at": T2.isoformat()}
    assert t["sensors"]["cpu_temperature"]["value"] == 51.0


def test_servo_summary_counts_alerts_and_the_hottest_servo():
    f = Folded()
    f.fold(
        event(
            EventType.SERVOS,
            "r1",
            {
                "servo_count": 3,
                "servos": {
                    "servo_1": {"id": 1, "position": 500, "temperature": 41, "alert_level": "normal"},
                    "servo_2": {"id": 2, "position": 420, "temperature": 63, "alert_level": "warning"},
                    "servo_3": {
                        "id": 3,
                        "position": 10,
                        "temperature": 70,
                        "alert_level": "critical",
                        "torque_enabled": True,
                    },
                },
            },
        )
    )
    servos = f.robot("r1").telemetry["servos"]
    assert servos["servo_count"] == 3 and servos["max_temperature"] == 70
    assert (
        servos["alerts"] == {"normal": 1, "warning": 1, "critical": 1} and servos["worst_alert"] == "critical"
    )
    assert servos["servos"]["servo_2"] == {
        "id": 2,
        "position": 420.0,
        "temperature": 63.0,
        "alert_level": "warning",
    }


def test_api_create_defaults_name_to_robot_id_and_logs_in_category_api():
    f = Folded()
    f.fold(event(EventType.ROBOT_REGISTERED, "tonypi_02", {"location": "Lab", "battery_threshold_low": 25}))
    robot = f.robot("tonypi_02")
    assert (robot.name, robot.location, robot.battery_threshold_low, robot.status) == (
        "tonypi_02",
        "Lab",
        25.0,
        "offline",
    )
    assert robot.last_seen is None  # the API is not the robot reporting
    [line] = f.logs
    assert (line.level, line.category, line.message) == ("INFO", "api", "Robot created: tonypi_02")


def test_api_create_for_an_auto_registered_robot_applies_the_operators_configuration():
    f = Folded()
    f.fold(event(EventType.STATUS, "r1", {"status": "online"}, at=T1))
    f.fold(event(EventType.ROBOT_REGISTERED, "r1", {"name": "Picker", "temp_threshold_warning": 65}, at=T2))
    robot = f.robot("r1")
    assert (robot.id, robot.name, robot.temp_threshold_warning, robot.status, robot.last_seen) == (
        1,
        "Picker",
        65.0,
        "online",
        T1,
    )
    assert f.logs[-1].details["already_known"] is True


def test_api_update_changes_only_fields_sent_and_logs_them_in_details():
    f = Folded()
    f.fold(event(EventType.ROBOT_REGISTERED, "r1", {"name": "A", "description": "d", "location": "L1"}))
    f.fold(
        event(
            EventType.ROBOT_UPDATED,
            "r1",
            {"changes": {"location": "L2", "temp_threshold_warning": 75}},
            at=T2,
        )
    )
    robot = f.robot("r1")
    assert (robot.name, robot.description, robot.location, robot.temp_threshold_warning) == (
        "A",
        "d",
        "L2",
        75.0,
    )
    assert robot.updated_at == T2
    line = f.logs[-1]
    assert (line.category, line.message, line.details) == (
        "api",
        "Robot updated: r1",
        {"location": "L2", "temp_threshold_warning": 75.0},
    )


def test_api_delete_is_soft_and_a_deleted_robot_stays_inactive_when_it_reports_again():
    f = Folded()
    f.fold(event(EventType.STATUS, "r1", {"status": "online"}))
    f.fold(event(EventType.ROBOT_DEACTIVATED, "r1"))
    assert f.robot("r1").is_active is False and f.messages("api") == ["Robot deleted: r1"]
    f.fold(
        event(EventType.STATUS, "r1", {"status": "online"}, at=T2),
        event(EventType.BATTERY, "r1", {"percentage": 50}, at=T2),
    )
    robot = f.robot("r1")
    assert (
        robot.is_active is False and robot.last_seen == T2 and robot.telemetry["battery"]["percentage"] == 50
    )
    assert f.messages("robot") == ["Robot auto-registered: r1"]  # not registered a second time
    f.fold(event(EventType.ROBOT_UPDATED, "r1", {"changes": {"is_active": True}}))
    assert f.robot("r1").is_active is True


def test_api_update_or_delete_of_an_unknown_robot_changes_nothing_and_says_so():
    f = Folded()
    f.fold(
        event(EventType.ROBOT_UPDATED, "ghost", {"changes": {"name": "x"}}),
        event(EventType.ROBOT_DEACTIVATED, "ghost"),
    )
    assert f.states["ghost"].robot is None
    assert [line.level for line in f.logs] == ["WARNING", "WARNING"]


def test_ten_sensor_messages_in_a_batch_are_one_robot_row_change():
    f = Folded()
    changes = f.fold(
        *[event(EventType.SENSOR, "r1", {"sensor_type": f"s{i}", "value": i}) for i in range(10)],
        event(EventType.SENSOR, "r2", {"sensor_type": "s", "value": 1}),
    )
    assert set(changes.robots) == {"r1", "r2"}
    assert len(changes.robots["r1"].telemetry["sensors"]) == 10
