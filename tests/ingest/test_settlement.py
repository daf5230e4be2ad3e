"""One MQTT message's fate (settlement.py): exactly one outcome, counted once, its ack sent
once, a scan's reply only after it was stored. Pure."""

from __future__ import annotations

from prometheus_client import REGISTRY
from tonypi_ingest.settlement import Outcome, Settlement


def counted(outcome: Outcome) -> float:
    return REGISTRY.get_sample_value("tonypi_ingest_outcomes_total", {"outcome": outcome.value}) or 0.0


def test_the_first_outcome_counts_and_acks_and_later_ones_do_nothing():
    acks: list[str] = []
    before = {o: counted(o) for o in Outcome}
    settlement = Settlement(lambda: acks.append("ack"))
    settlement.settle(Outcome.DEAD_LETTERED)
    settlement.settle(Outcome.STORED)
    settlement.settle(Outcome.DROPPED_ERROR)
    assert settlement.settled is Outcome.DEAD_LETTERED and acks == ["ack"]
    assert {o: counted(o) - before[o] for o in Outcome} == {
        o: (1.0 if o is Outcome.DEAD_LETTERED else 0.0) for o in Outcome
    }


def test_a_follow_up_runs_after_the_ack_and_only_once_stored():
    calls: list[str] = []
    stored = Settlement(lambda: calls.append("ack"), then=lambda: calls.append("reply"))
    stored.settle(Outcome.STORED)
    dropped = Settlement(lambda: calls.append("ack2"), then=lambda: calls.append("reply2"))
    dropped.settle(Outcome.DROPPED_BUFFER_FULL)
    assert calls == ["ack", "reply", "ack2"]


def test_a_failing_follow_up_costs_the_reply_not_the_message():
    def boom() -> None:
        raise RuntimeError("no reply")

    acks: list[str] = []
    settlement = Settlement(lambda: acks.append("ack"), then=boom)
    settlement.settle(Outcome.STORED)
    assert settlement.settled is Outcome.STORED and acks == ["ack"]


def test_parts_settle_once_all_are_stored_or_as_soon_as_one_is_refused():
    both = Settlement(None)
    done = both.parts(2, Outcome.DEAD_LETTERED)
    done(True)
    assert both.settled is None
    done(True)
    assert both.settled is Outcome.DEAD_LETTERED
    refused = Settlement(None)
    done = refused.parts(2, Outcome.DEAD_LETTERED)
    done(False)
    done(True)
    assert refused.settled is Outcome.DROPPED_REFUSED
