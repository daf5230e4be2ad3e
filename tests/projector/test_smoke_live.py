from tonypi_events import EventType

from tests.projector.support import event, publish, snapshot, wait_for_checkpoint


async def test_registered_updated_deactivated_fold_into_robots_and_api_logs(
    js, streams, projector, database_url
):
    await publish(js, streams, event(EventType.ROBOT_REGISTERED, "tonypi_02", {"name": "Lab 2"}))
    await publish(js, streams, event(EventType.STATUS, "tonypi_01", {"status": "online"}))
    await publish(js, streams, event(EventType.ROBOT_UPDATED, "tonypi_02", {"changes": {"location": "B"}}))
    seq = await publish(js, streams, event(EventType.ROBOT_DEACTIVATED, "tonypi_02"))
    await wait_for_checkpoint(database_url, seq)
    tables = await snapshot(database_url)
    robots = {r["robot_id"]: r for r in tables["robots"]}
    assert robots["tonypi_02"]["name"] == "Lab 2" and robots["tonypi_02"]["location"] == "B"
    assert robots["tonypi_02"]["is_active"] is False
    assert robots["tonypi_01"]["status"] == "online" and robots["tonypi_01"]["name"] == "tonypi_01"
    messages = [(line["category"], line["message"]) for line in tables["system_logs"]]
    assert ("api", "Robot created: tonypi_02") in messages
    assert ("api", "Robot updated: tonypi_02") in messages
    assert ("api", "Robot deleted: tonypi_02") in messages
