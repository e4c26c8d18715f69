"""Who is calling: set by the auth interceptor, read by the servicer (a context variable, so
identity never travels in a request body and every RPC sees only its own caller)."""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass

from aftersale.model import Actor
from aftersale.vocabulary import Role
from service.observability.calls import note_caller


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated calling service and the party it acts for in this call."""

    actor: Actor  # the acting role and id (buyer id, shop id, operator or service name)
    service: str  # the calling service, from its token: scopes idempotency keys
    roles: frozenset[Role]  # every role the token may speak for


class NoCaller(RuntimeError):
    """A servicer method ran without the auth interceptor in front of it (a wiring bug)."""


_current: ContextVar[Caller | None] = ContextVar("aftersale_caller", default=None)


def current_caller() -> Caller:
    """The caller of the RPC being served."""
    caller = _current.get()
    if caller is None:
        raise NoCaller("no authenticated caller: is the auth interceptor installed?")
    return caller


def bind_caller(caller: Caller) -> Token[Caller | None]:
    """Make ``caller`` current; pass the returned token to :func:`unbind_caller`."""
    note_caller(caller.service, caller.actor.role)  # for the access line
    return _current.set(caller)


def unbind_caller(token: Token[Caller | None]) -> None:
    _current.reset(token)
