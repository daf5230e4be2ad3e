"""Alarms and online state: pure folds, no I/O. One test per kind (raise, escalate,
de-escalate, clear, acknowledge), hysteresis, the clock, counters."""

from __future__ import annotations

from datetime import timedelta

from tonypi_events import EventType
from tonypi_events.clock import tick_event

from tests.projector.folding import Folded
from tests.projector.support import BASE_TIME, event

T0 = BASE_TIME + timedelta(days=1)
ANON = {"name": "anonymous", "role": None}


def at(seconds: float):
    return T0 + timedelta(seconds=seconds)


class Fleet(Folded):
    """Folded, plus the alarm rows and transitions the batches wrote."""

    def __init__(self) -> None:
        super().__init__()
        self.alarm_rows: dict[int, object] = {}
        self.transitions: list = []
        self.counters: dict[str, int] = {}
        self.t = 0.0

    def send(self, event_type, robot_id, payload=None, version=1):
        self.t += 1
        changes = self.fold(event(event_type, robot_id, payload or {}, version=version, at=at(self.t)))
        self._keep(changes)
        return changes

    def tick(self, seconds: float, timeout: float = 90):
        self.t = seconds
        changes = self.fold(tick_event(at(seconds), 5, timeout))
        self._keep(changes)
        return changes

    def _keep(self, changes) -> None:
        assert not changes.dead_letters, changes.dead_letters
        self.alarm_rows.update(changes.alarms)
        self.transitions.extend(changes.transitions)
        for name, n in changes.counters.items():
            self.counters[name] = self.counters.get(name, 0) + n

    def open(self, robot_id: str, kind: str):
        return self.states[robot_id].alarms.get(kind)

    def history(self, robot_id: str, kind: str) -> list[tuple[str, str]]:
        return [(t.action, t.severity) for t in self.transitions if t.robot_id == robot_id and t.kind == kind]

    def ack(self, robot_id: str, alarm_id: int, actor=ANON):
        return self.send(EventType.ALARM_ACKNOWLEDGED, robot_id, {"alarm_id": alarm_id, "actor": actor})


def battery(f: Fleet, pct: float, charging: bool = False, robot: str = "r1"):
    return f.send(EventType.BATTERY, robot, {"percentage": pct, "charging": charging})


def test_battery_raise_escalate_deescalate_clear_ack():
    f = Fleet()
    battery(f, 50)
    assert f.open("r1", "battery") is None
    battery(f, 19)  # low threshold 20
    alarm = f.open("r1", "battery")
    assert (alarm.severity, alarm.state, alarm.value, alarm.threshold) == ("warning", "open", 19, 20)
    f.ack("r1", alarm.id)
    assert f.open("r1", "battery").acknowledged_by == {**ANON, "via": "unknown"}  # a v1 event, upcast
    battery(f, 9)  # critical threshold 10: escalates, and asks for a new acknowledgement
    assert f.open("r1", "battery").severity == "critical"
    assert f.open("r1", "battery").acknowledged_at is None
    battery(f, 14)  # within the margin of critical (10 + 5): stays critical
    assert f.open("r1", "battery").severity == "critical"
    battery(f, 16)
    assert f.open("r1", "battery").severity == "warning"
    battery(f, 24)  # within the margin of low (20 + 5)
    assert f.open("r1", "battery").severity == "warning"
    battery(f, 25)
    assert f.open("r1", "battery") is None
    assert f.history("r1", "battery") == [
        ("raised", "warning"),
        ("acknowledged", "warning"),
        ("escalated", "critical"),
        ("deescalated", "warning"),
        ("cleared", "warning"),
    ]
    [row] = {a.id: a for a in f.alarm_rows.values()}.values()
    assert row.id == alarm.id and row.state == "cleared" and row.cleared_at is not None


def test_battery_uses_the_robots_own_thresholds_and_a_change_applies_from_that_event():
    f = Fleet()
    f.send(EventType.ROBOT_REGISTERED, "r1", {"battery_threshold_low": 40, "battery_threshold_critical": 15})
    battery(f, 35)
    assert f.open("r1", "battery").severity == "warning"
    f.send(EventType.ROBOT_UPDATED, "r1", {"changes": {"battery_threshold_low": 30}})
    assert f.open("r1", "battery") is None  # 35 is past 30 + 5: the new threshold judges the last reading
    f.send(EventType.ROBOT_UPDATED, "r1", {"changes": {"battery_threshold_critical": 36}})
    assert f.open("r1", "battery").severity == "critical"


def test_no_battery_alarm_while_charging_and_charging_clears_one():
    f = Fleet()
    battery(f, 5, charging=True)
    assert f.open("r1", "battery") is None
    battery(f, 5)
    assert f.open("r1", "battery").severity == "critical"
    battery(f, 5, charging=True)
    assert f.open("r1", "battery") is None


def test_a_value_hovering_at_a_threshold_does_not_flap():
    f = Fleet()
    for pct in [20.4, 19.6, 20.3, 19.9, 20.8, 19.5, 21.0, 20.0] * 5:
        battery(f, pct)
    for celsius in [69.8, 70.2, 69.5, 70.1, 70.0, 68.9] * 5:
        f.send(EventType.SENSOR, "r1", {"sensor_type": "cpu_temperature", "value": celsius})
    assert f.history("r1", "battery") == [("raised", "warning")]
    assert f.history("r1", "temperature") == [("raised", "warning")]


def test_temperature_from_status_and_sensor_with_the_robots_thresholds():
    f = Fleet()
    f.send(EventType.STATUS, "r1", {"status": "online", "system_info": {"temperature": 71}})
    assert f.open("r1", "temperature").severity == "warning"
    f.send(
        EventType.STATUS,
        "r1",
        {"status": "online", "system_info": {"temperature": 50, "cpu_temperature": 81}},
    )
    assert f.open("r1", "temperature").severity == "critical"
    f.send(EventType.SENSOR, "r1", {"sensor_type": "cpu_temperature", "value": 76})
    assert f.open("r1", "temperature").severity == "critical"  # within 5 of 80
    f.send(EventType.SENSOR, "r1", {"sensor_type": "cpu_temperature", "value": 74})
    assert f.open("r1", "temperature").severity == "warning"
    alarm = f.open("r1", "temperature")
    f.ack("r1", alarm.id)
    f.ack("r1", alarm.id)  # twice: harmless, one transition
    f.send(EventType.SENSOR, "r1", {"sensor_type": "cpu_temperature", "value": 64.9})
    assert f.open("r1", "temperature") is None
    assert f.history("r1", "temperature") == [
        ("raised", "warning"),
        ("escalated", "critical"),
        ("deescalated", "warning"),
        ("acknowledged", "warning"),
        ("cleared", "warning"),
    ]


def test_servo_alert_levels_gen2():
    f = Fleet()

    def servos(*levels):
        payload = {f"servo_{i}": {"id": i, "alert_level": lv} for i, lv in enumerate(levels, 1)}
        f.send(EventType.SERVOS, "r1", {"servo_count": len(levels), "servos": payload})

    servos("normal", "warning")
    assert f.open("r1", "servo").severity == "warning"
    servos("critical", "warning")
    assert f.open("r1", "servo").severity == "critical"
    assert f.open("r1", "servo").details == {"servos": {"servo_1": "critical", "servo_2": "warning"}}
    servos("normal", "warning")
    f.ack("r1", f.open("r1", "servo").id)
    servos("normal", "normal")
    assert f.open("r1", "servo") is None
    assert [a for a, _ in f.history("r1", "servo")] == [
        "raised",
        "escalated",
        "deescalated",
        "acknowledged",
        "cleared",
    ]


def test_emergency_stop_in_force_until_a_status_releases_it():
    f = Fleet()
    f.send(EventType.STATUS, "r1", {"status": "online"})
    f.send(EventType.EMERGENCY_STOP_RESPONSE, "r1", {"success": True, "command_id": "c1"})
    alarm = f.open("r1", "emergency_stop")
    assert alarm.severity == "critical"
    f.send(EventType.STATUS, "r1", {"status": "emergency_stopped", "emergency_reason": "button"})
    assert f.open("r1", "emergency_stop").id == alarm.id  # the same alarm, not a second
    f.ack("r1", alarm.id, {"name": "ops", "role": "operator"})
    assert f.open("r1", "emergency_stop").acknowledged_by == {
        "name": "ops",
        "role": "operator",
        "via": "unknown",
    }
    f.send(EventType.STATUS, "r1", {"status": "online", "emergency_stopped": False})
    assert f.open("r1", "emergency_stop") is None
    assert [a for a, _ in f.history("r1", "emergency_stop")] == ["raised", "acknowledged", "cleared"]


def press(f: Fleet, robot_id: str, engaged: bool, command_id: str, reason: str | None = None):
    actor = {"name": "ops", "role": "operator"}
    payload = {"robot_id": robot_id, "command_id": command_id, "engaged": engaged, "timeout_s": 10}
    return f.send(EventType.EMERGENCY_STOP, robot_id, {**payload, "reason": reason, "actor": actor})


def test_a_latched_stop_keeps_its_alarm_until_an_operator_resumes_the_robot():
    """Issue 13: latched, the robot stays stopped in our tables, with an alarm, until an
    operator resumes it, even if it restarted, forgot its stop and reports itself running."""
    f = Fleet()
    f.send(EventType.STATUS, "r1", {"status": "online"})
    press(f, "r1", True, "stop-1", "intruder in cell 4")
    alarm = f.open("r1", "emergency_stop")
    assert alarm.severity == "critical" and "latched" in alarm.message and "intruder" in alarm.message
    f.send(EventType.EMERGENCY_STOP_RESPONSE, "r1", {"success": True, "command_id": "stop-1"})
    f.send(EventType.STATUS, "r1", {"status": "online", "emergency_stopped": False})  # restarted, forgot
    assert f.open("r1", "emergency_stop").id == alarm.id, "cleared by the robot's word while latched"
    press(f, "r1", False, "resume-1")
    assert f.open("r1", "emergency_stop") is None  # latch released, and the robot says it runs
    assert [a for a, _ in f.history("r1", "emergency_stop")] == ["raised", "cleared"]


def test_after_resume_the_alarm_waits_for_the_robot_to_say_it_runs_again():
    f = Fleet()
    f.send(EventType.STATUS, "r1", {"status": "online"})
    press(f, "r1", True, "stop-1")
    f.send(EventType.STATUS, "r1", {"status": "emergency_stopped", "emergency_stopped": True})
    press(f, "r1", False, "resume-1")
    alarm = f.open("r1", "emergency_stop")
    assert alarm is not None and "latched" not in alarm.message  # released, not yet running
    assert alarm.details == {"latched": False, "reported": True}
    f.send(EventType.STATUS, "r1", {"status": "online", "emergency_stopped": False})
    assert f.open("r1", "emergency_stop") is None
    assert [a for a, _ in f.history("r1", "emergency_stop")] == ["raised", "cleared"]


def test_the_fleet_latch_and_an_unknown_robot_raise_no_robot_alarm():
    f = Fleet()
    press(f, "_fleet", True, "fleet-stop")
    press(f, "ghost", True, "ghost-stop")
    assert not [t for t in f.transitions if t.kind == "emergency_stop"]


def test_job_failed_gen2_cleared_by_the_next_job():
    f = Fleet()
    f.send(EventType.JOB, "r1", {"task_name": "pick", "status": "started"}, version=2)
    f.send(EventType.JOB, "r1", {"task_name": "pick", "status": "failed", "reason": "dropped"}, version=2)
    alarm = f.open("r1", "job_failed")
    assert alarm.severity == "warning" and "dropped" in alarm.message
    f.ack("r1", alarm.id)
    f.send(EventType.JOB, "r1", {"task_name": "pick", "status": "started"}, version=2)
    assert f.open("r1", "job_failed") is None
    assert [a for a, _ in f.history("r1", "job_failed")] == ["raised", "acknowledged", "cleared"]


def test_offline_from_the_stream_clock_raised_and_cleared_when_heard_again():
    f = Fleet()
    f.send(EventType.STATUS, "r1", {"status": "online"})  # heard at t=1
    f.send(EventType.STATUS, "r2", {"status": "online"})
    assert f.robot("r1").online
    f.tick(90)  # 89 s of silence: still online
    assert f.robot("r1").online and f.open("r1", "offline") is None
    f.send(EventType.BATTERY, "r2", {"percentage": 80})  # r2 speaks at t=91
    f.tick(95)
    assert not f.robot("r1").online and f.robot("r2").online
    alarm = f.open("r1", "offline")
    assert alarm.severity == "critical" and alarm.raised_at == at(95)
    assert f.counters["robots_online"] == 1 and f.counters["alarms_open:offline:critical"] == 1
    f.tick(100)  # still silent: the same alarm, nothing new
    assert f.history("r1", "offline") == [("raised", "critical")]
    f.ack("r1", alarm.id)
    f.send(EventType.SENSOR, "r1", {"sensor_type": "accelerometer_x", "value": 1})
    assert f.robot("r1").online and f.open("r1", "offline") is None
    assert f.history("r1", "offline") == [
        ("raised", "critical"),
        ("acknowledged", "critical"),
        ("cleared", "critical"),
    ]
    assert f.counters["robots_online"] == 2 and f.counters.get("alarms_open:offline:critical", 0) == 0


def test_a_robot_that_said_offline_is_offline_without_an_alarm():
    f = Fleet()
    f.send(EventType.STATUS, "r1", {"status": "offline"})
    assert not f.robot("r1").online
    f.tick(500)
    assert f.open("r1", "offline") is None


def test_a_deleted_robot_raises_nothing_and_its_alarms_clear():
    f = Fleet()
    battery(f, 5)
    f.send(EventType.ROBOT_DEACTIVATED, "r1")
    assert f.open("r1", "battery") is None
    battery(f, 4)
    f.tick(1000)
    assert f.states["r1"].alarms == {}
    assert f.counters.get("robots_total", 0) == 0


def test_alarm_ids_are_the_same_however_the_stream_is_cut_into_batches():
    def run(batch_size: int) -> list:
        f = Fleet()
        evs = [event(EventType.STATUS, f"r{i}", {"status": "online"}, at=at(i)) for i in range(5)]
        evs += [tick_event(at(200), 5, 90), event(EventType.BATTERY, "r1", {"percentage": 3}, at=at(201))]
        for i in range(0, len(evs), batch_size):
            f._keep(f.fold(*evs[i : i + batch_size]))
        return sorted((a.id, a.robot_id, a.kind, a.state) for a in f.alarm_rows.values())

    assert run(1) == run(3) == run(100)
    assert len(run(1)) == 6  # five offline, then r1 speaks (cleared) and its battery is critical


def test_counters_follow_robots_and_jobs():
    f = Fleet()
    f.send(EventType.STATUS, "r1", {"status": "online"})
    f.send(EventType.ROBOT_REGISTERED, "r2")
    f.send(EventType.JOB, "r1", {"status": "started"}, version=2)
    f.send(EventType.JOB, "r1", {"status": "completed"}, version=2)
    f.send(EventType.JOB, "r1", {"status": "started"}, version=2)
    assert f.counters["robots_total"] == 2 and f.counters["robots_online"] == 1
    assert f.counters["jobs_total"] == 2 and f.counters["jobs_active"] == 1
    assert f.counters[f"jobs_completed:{T0.date().isoformat()}"] == 1
