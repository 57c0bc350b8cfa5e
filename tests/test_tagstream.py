"""Tags added while a first sync scores (syncbot.tagstream; docs/reference.md, "Safety")."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from syncbot import tagstream
from syncbot.core.tagplan import plan_tags
from syncbot.mailchimp.client import MailchimpError
from syncbot.mailchimp.fake import FakeAudience
from syncbot.tagstream import TagStream
from tests.conftest import waits_for

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _audience(n: int) -> FakeAudience:
    audience = FakeAudience()
    for i in range(n):
        audience.add_member(f"lead{i}@example.com", changed_at=NOW)
    return audience


def test_a_full_batch_goes_at_once_and_what_is_left_is_the_plans(monkeypatch):
    monkeypatch.setattr(tagstream, "BATCH", 3)
    audience = _audience(8)
    with TagStream(audience, ["hot", "cold"], ["subscribed"], connections=2) as stream:
        for i in range(3):
            stream.offer(f"lead{i}@example.com", f"Lead{i}@Example.com", "subscribed", ["hot"])
        assert waits_for(lambda: len(audience.tags.get("hot", ())) == 3)  # before the end
        for i in range(3, 8):
            stream.offer(f"lead{i}@example.com", f"lead{i}@example.com", "subscribed",
                         ["hot", "cold", "not-managed"])
        stream.offer("gone@example.com", "gone@example.com", "unsubscribed", ["hot"])
        streamed = stream.finish()
    assert streamed.added == {"hot": {f"lead{i}@example.com" for i in range(6)},
                              "cold": {f"lead{i}@example.com" for i in range(3, 6)}}
    assert streamed.created == audience.tag_ids  # each tag made once, before its first batch
    assert streamed.report.added == 9
    assert "not-managed" not in audience.tags

    desired = {f"lead{i}@example.com": ["hot", "cold"] for i in range(3, 8)}
    desired.update({f"lead{i}@example.com": ["hot"] for i in range(3)})
    plan = plan_tags(managed=["hot", "cold"], current={}, desired=desired,
                     statuses=dict.fromkeys(desired, "subscribed"), tag_statuses=["subscribed"])
    left = plan.without(streamed.added)
    assert left.adds == {"hot": {"lead6@example.com", "lead7@example.com"},
                         "cold": {"lead6@example.com", "lead7@example.com"}}
    assert (left.tagged_now, left.losing) == (plan.tagged_now, plan.losing)


class _Refusing(FakeAudience):
    """Refuses every batch of the tag ``refused``."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    def write_tags(self, segment_ids, adds, removes, batches=None):
        if self.refused in segment_ids:
            raise MailchimpError("Mailchimp refused the tag update (400)")
        return super().write_tags(segment_ids, adds, removes)


def test_a_refused_batch_stops_the_stream_not_the_scoring_and_finish_says_why(monkeypatch):
    monkeypatch.setattr(tagstream, "BATCH", 2)
    audience = _Refusing("cold")
    for i in range(40):
        audience.add_member(f"lead{i}@example.com", changed_at=NOW)
    with TagStream(audience, ["hot", "cold"], ["subscribed"], connections=1) as stream:
        stream.offer("lead0@example.com", "lead0@example.com", "subscribed", ["cold"])
        stream.offer("lead1@example.com", "lead1@example.com", "subscribed", ["cold"])
        assert waits_for(lambda: stream._in_flight and stream._in_flight[0].done())
        for i in range(2, 40):  # scoring goes on; nothing more is sent
            stream.offer(f"lead{i}@example.com", f"lead{i}@example.com", "subscribed", ["hot"])
        with pytest.raises(MailchimpError, match="refused"):
            stream.finish()
    assert not audience.tags.get("hot")


def test_an_abandoned_stream_sends_nothing_more(monkeypatch):
    monkeypatch.setattr(tagstream, "BATCH", 1)
    release = threading.Event()

    class Slow(FakeAudience):
        def create_tag(self, name):
            release.wait(5)
            return super().create_tag(name)

    audience = Slow()
    for i in range(2):
        audience.add_member(f"lead{i}@example.com", changed_at=NOW)
    stream = TagStream(audience, ["hot"], ["subscribed"], connections=1)
    for i in range(2):  # the tag is being made; both batches wait behind it
        stream.offer(f"lead{i}@example.com", f"lead{i}@example.com", "subscribed", ["hot"])
    stopping = threading.Thread(target=stream.abandon)  # the run stopped meanwhile
    stopping.start()
    assert waits_for(lambda: all(f.cancelled() for f in stream._in_flight))
    release.set()
    stopping.join(10)
    assert not audience.tags.get("hot")  # made, but given nobody
    assert not any(t.name.startswith("tag-stream") for t in threading.enumerate())
