"""Agents' signed-in sessions: tracked per browser, listed, and ended on request."""

import secrets
from datetime import timedelta

from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit import services as audit
from audit.models import AuditAction

from .models import AgentSession, User

SID_KEY = "bulwark_sid"
RECORDED_KEY = "bulwark_sid_recorded"  # [session key, unix time] last written to AgentSession
TOUCH_EVERY = timedelta(minutes=1)


def touch(request) -> None:
    """Record that this signed-in browser is active: at once when the session is new or its key
    changed (ending it deletes the session by that key), otherwise at most once a minute. The
    session itself remembers the key and time last written, so a request between costs no SQL."""
    session = request.session
    if session.session_key is None:
        session.save()
    sid = session.get(SID_KEY)
    now = timezone.now()
    recorded = session.get(RECORDED_KEY)
    fresh = recorded is not None and now.timestamp() - recorded[1] < TOUCH_EVERY.total_seconds()
    if sid is not None and fresh and recorded[0] == session.session_key:
        return
    session[RECORDED_KEY] = [session.session_key, int(now.timestamp())]
    meta = {
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        "ip_address": request.META.get("REMOTE_ADDR") or None,
    }
    if sid is None:
        sid = secrets.token_hex(16)
        session[SID_KEY] = sid
        AgentSession.objects.create(user=request.user, sid=sid, session_key=session.session_key, **meta)
        return
    stale = Q(last_seen__lt=now - TOUCH_EVERY) | ~Q(session_key=session.session_key)
    AgentSession.objects.filter(stale, sid=sid, ended_at__isnull=True).update(
        session_key=session.session_key, last_seen=now, **meta
    )


def active_sessions(user: User):
    return AgentSession.objects.filter(user=user, ended_at__isnull=True).order_by("-last_seen")


@transaction.atomic
def end_sessions(user: User, *, actor: User, sid: str | None = None, keep_sid: str | None = None) -> int:
    """End one session of `user` (by sid) or all of them (but `keep_sid`); returns how many ended."""
    sessions = active_sessions(user)
    if sid is not None:
        sessions = sessions.filter(sid=sid)
    if keep_sid is not None:
        sessions = sessions.exclude(sid=keep_sid)
    ended = list(sessions.select_for_update())
    Session.objects.filter(session_key__in=[s.session_key for s in ended]).delete()
    AgentSession.objects.filter(pk__in=[s.pk for s in ended]).update(ended_at=timezone.now())
    if ended:
        audit.record(AuditAction.SESSIONS_ENDED, actor=actor, target=user, count=len(ended))
    return len(ended)
