"""``GetStatus``: the request's limit in, the ops status (``service.status``) out."""

from __future__ import annotations

from typing import Any

from google.protobuf.duration_pb2 import Duration

from aftersale.exceptions import InvalidInput
from service.api.convert_out import ACTION, name, stamp
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.status import OpsStatus
from service.storage.heartbeats import Heartbeat
from service.storage.status_reads import OverdueTimer, SubscriptionBacklog

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def status_limit(request: Any) -> int:
    """How many overdue timers and flagged requests to list (0: the default)."""
    limit = int(request.limit)
    if not 0 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"must be 0..{MAX_LIMIT}", f"须在 0..{MAX_LIMIT} 之间")
    return limit or DEFAULT_LIMIT


def status_response(status: OpsStatus) -> pb.GetStatusResponse:
    redis = status.redis
    memory = redis.memory
    timers = status.timers
    now = status.read_at_ms
    return pb.GetStatusResponse(
        read_at=stamp(now),
        ready=status.ready,
        redis=pb.RedisStatus(
            reachable=redis.reachable,
            error=redis.error,
            used_memory_bytes=memory.used_bytes if memory else 0,
            max_memory_bytes=memory.max_bytes if memory else 0,
            max_memory_policy=memory.policy if memory else "",
            embedded=redis.embedded,
            embedded_restarts=redis.embedded_restarts,
        ),
        timers=pb.TimerBacklog(
            due=timers.due,
            leased=timers.leased,
            pending=timers.pending,
            oldest_overdue=[_overdue(timer, now) for timer in timers.oldest_overdue],
            live_workers=status.live_workers,
            unattended=status.unattended,
        ),
        flagged=pb.FlaggedRequests(
            count=status.flagged.count,
            requests=[
                pb.FlaggedRequest(
                    request_id=flag.request_id,
                    reason="FLAG_REASON_REFUND_UNANSWERED",
                    flagged_at=stamp(flag.flagged_at_ms),
                )
                for flag in status.flagged.oldest
            ],
        ),
        retained_events=status.retained_events,
        timer_workers=[_beat(beat, status) for beat in status.timer_workers],
        servers=[_beat(beat, status) for beat in status.servers],
        subscriptions=[_subscription(s) for s in status.subscriptions],
        archive=_archive(status.archive),
    )


def _archive(state: Any) -> pb.ArchiveStatus | None:
    """``service.archive.status.ArchiveState`` (None: not read) as the reply's part."""
    if state is None:
        return None
    return pb.ArchiveStatus(
        enabled=state.enabled,
        embedded=state.embedded,
        reachable=state.reachable,
        error=state.error,
        embedded_restarts=state.embedded_restarts,
        backfill_done_shards=state.backfill_done_shards,
        archiver_running=state.archiver_running,
        warning=state.warning,
    )


def _subscription(backlog: SubscriptionBacklog) -> pb.SubscriptionBacklog:
    out = pb.SubscriptionBacklog(
        name=backlog.name,
        pending=backlog.pending,
        unread=backlog.unread or 0,
        unread_known=backlog.unread is not None,
    )
    if backlog.oldest_unacked_age_ms is not None:
        out.oldest_unacked_age.FromMilliseconds(backlog.oldest_unacked_age_ms)
    lost = backlog.lost
    if lost is not None:
        out.events_lost = lost.count
        last_lost_at = stamp(lost.last_lost_at_ms)
        if last_lost_at is not None:
            out.last_lost_at.CopyFrom(last_lost_at)
        out.last_lost_shard = lost.shard
        out.last_lost_first_id = lost.first_id
        out.last_lost_last_id = lost.last_id
    return out


def _overdue(timer: OverdueTimer, now_ms: int) -> pb.OverdueTimer:
    overdue = Duration()
    overdue.FromMilliseconds(max(0, now_ms - timer.due_ms))
    return pb.OverdueTimer(
        request_id=timer.request_id,
        version=timer.version,
        action=name(ACTION, timer.action),
        due_at=stamp(timer.due_ms),
        overdue=overdue,
    )


def _beat(beat: Heartbeat, status: OpsStatus) -> pb.ProcessHeartbeat:
    return pb.ProcessHeartbeat(
        process_id=beat.process_id,
        last_beat=stamp(beat.last_beat_ms),
        alive=status.alive(beat),
    )
