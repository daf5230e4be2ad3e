"""The FeedHub's hand-out, without a database: each read's records reach every subscriber
as one chunk of the records it wants, frames joined once per filter, within its buffer."""

from __future__ import annotations

from tonypi_query.live import Chunk, FeedHub, Record, Subscriber


def record(
    seq: int, robot_id: str, event_type: str = "sensor", kinds: tuple[str, ...] = ("sensor",)
) -> Record:
    return Record(seq, robot_id, event_type, frozenset(kinds), f"id: {seq}\ndata: {{}}\n\n".encode())


def hub_with(*subs: Subscriber) -> FeedHub:
    hub = FeedHub(pool=None, checkpoint=None, max_clients=10)  # type: ignore[arg-type]
    for sub in subs:
        hub.subscribe(sub)
    return hub


def queued(sub: Subscriber) -> list[Chunk]:
    return [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]


async def test_subscribers_filtering_alike_share_one_chunk_of_what_they_want() -> None:
    everyone, also_everyone = Subscriber(None, frozenset(), 100), Subscriber(None, frozenset(), 100)
    r2, logs = Subscriber("r2", frozenset(), 100), Subscriber(None, frozenset({"log"}), 100)
    hub = hub_with(everyone, also_everyone, r2, logs)
    records = [record(1, "r1"), record(2, "r2"), record(3, "r2", "log", ("log",))]

    hub.hand_out(records)

    [a], [b], [mine], [log_lines] = queued(everyone), queued(also_everyone), queued(r2), queued(logs)
    assert a is b
    assert a.frames == b"".join(r.frame for r in records)
    assert [r.seq for r in mine.records] == [2, 3]
    assert mine.frames == records[1].frame + records[2].frame
    assert [r.seq for r in log_lines.records] == [3]
    assert everyone.queued == 3 and logs.queued == 1


async def test_a_read_with_nothing_wanted_queues_nothing() -> None:
    r9 = Subscriber("r9", frozenset(), 100)
    hub_with(r9).hand_out([record(1, "r1")])
    assert r9.queue.empty() and r9.queued == 0


async def test_a_subscriber_whose_chunks_would_pass_its_buffer_is_dropped() -> None:
    slow, reader = Subscriber(None, frozenset(), 3), Subscriber(None, frozenset(), 3)
    hub = hub_with(slow, reader)
    hub.hand_out([record(1, "r1"), record(2, "r1")])
    reader.written([reader.queue.get_nowait()])  # the reader's handler wrote its chunk

    hub.hand_out([record(3, "r1"), record(4, "r1")])

    assert slow.dropped and reader.queued == 2 and not reader.dropped
    assert [c.records[-1].seq for c in queued(slow)] == [2]  # what fitted, never more than 3


def test_a_chunk_past_what_was_sent_keeps_only_the_newer_records() -> None:
    chunk = Chunk.of([record(5, "r1"), record(6, "r1"), record(7, "r1")])
    assert chunk.after(4) is chunk
    assert [r.seq for r in chunk.after(5).records] == [6, 7]
    assert chunk.after(5).frames == record(6, "r1").frame + record(7, "r1").frame
