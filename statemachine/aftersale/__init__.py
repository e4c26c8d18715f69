"""The after-sale domain: every after-sale request (售后单) as an explicit state machine.

Pure Python: no I/O. ``decide`` runs one command over one record; ``allowed_actions`` says
what an actor may do now and why not the rest.
"""

from aftersale import commands, exceptions
from aftersale.allowed import ActionVerdict, allowed_actions
from aftersale.clock import Clock, FakeClock, SystemClock
from aftersale.decide import Decision, decide
from aftersale.events import TransitionEvent
from aftersale.model import Actor, AfterSale, PendingTimer
from aftersale.policy import Policy, TimerDurations

__all__ = [
    "ActionVerdict",
    "Actor",
    "AfterSale",
    "Clock",
    "Decision",
    "FakeClock",
    "PendingTimer",
    "Policy",
    "SystemClock",
    "TimerDurations",
    "TransitionEvent",
    "allowed_actions",
    "commands",
    "decide",
    "exceptions",
]
