"""Hooks for other apps (notifications, subscriptions, metrics caches).

``case_event_recorded`` is sent INSIDE the transaction that wrote a case event, right after
the event row: a receiver may write rows of its own (a transactional outbox) that commit or
roll back with the change. ``case_transitioned`` is sent after the commit (on_commit), for
side effects that must only happen when the change is durable.

Both send ``sender=Case`` and keyword arguments ``case_id``, ``event_id``, ``action``,
``from_status``, ``to_status``, ``area_code``; ``case_event_recorded`` also sends ``case``
and ``event`` (the instances).

``case_events_recorded`` is the batch form of ``case_event_recorded``, sent once INSIDE the
transaction of a batch writer (``services.case_intake_batch``) with ``items``: a list of
(case, event) pairs in timeline order. A batch writer sends it INSTEAD of one
``case_event_recorded`` per event, so every receiver of one must handle the other (the
notifications app does, with O(1) queries for the whole batch)."""

from __future__ import annotations

from django.dispatch import Signal

case_event_recorded = Signal()
case_transitioned = Signal()
case_events_recorded = Signal()
