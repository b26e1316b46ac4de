"""The EVENTS stream's configuration: created with EVENTS_REPLICAS, never lowered after."""

from __future__ import annotations

import dataclasses

from nats.js.api import StreamConfig

from shared.events import DUPLICATE_WINDOW_S, STREAM, stream_config
from shared.settings import CommonSettings, from_env


def test_a_new_stream_gets_the_configured_replicas() -> None:
    config = stream_config(None, replicas=3)
    assert config is not None
    assert config.name == STREAM
    assert config.num_replicas == 3
    assert config.subjects == ["evt.>"]


def test_an_existing_stream_with_more_replicas_is_left_alone() -> None:
    existing = stream_config(None, replicas=3)
    assert existing is not None
    assert stream_config(existing, replicas=1) is None


def test_replicas_and_operator_settings_are_never_lowered() -> None:
    existing = dataclasses.replace(
        stream_config(None, replicas=1),  # type: ignore[arg-type]
        max_age=365 * 86400.0,
        duplicate_window=60.0,
    )
    raised = stream_config(existing, replicas=3)
    assert raised is not None
    assert raised.num_replicas == 3
    assert raised.max_age == 365 * 86400.0  # the operator's retention stays
    assert raised.duplicate_window == DUPLICATE_WINDOW_S  # too short for the outbox: raised
    more = StreamConfig(name=STREAM, subjects=["evt.>", "audit.>"], num_replicas=5)
    kept = stream_config(more, replicas=3)
    assert kept is not None
    assert kept.num_replicas == 5
    assert kept.subjects == ["evt.>", "audit.>"]


def test_events_replicas_comes_from_the_environment() -> None:
    assert from_env(CommonSettings, {}).events_replicas == 1
    assert from_env(CommonSettings, {"EVENTS_REPLICAS": "3"}).events_replicas == 3
