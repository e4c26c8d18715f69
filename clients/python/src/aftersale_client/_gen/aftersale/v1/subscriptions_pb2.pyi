import datetime

from . import types_pb2 as _types_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubscriptionStart(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSCRIPTION_START_UNSPECIFIED: _ClassVar[SubscriptionStart]
    SUBSCRIPTION_START_OLDEST: _ClassVar[SubscriptionStart]
SUBSCRIPTION_START_UNSPECIFIED: SubscriptionStart
SUBSCRIPTION_START_OLDEST: SubscriptionStart

class SubscriptionFilter(_message.Message):
    __slots__ = ("actions", "states", "signals", "shop_id")
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    SHOP_ID_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedScalarFieldContainer[_types_pb2.Action]
    states: _containers.RepeatedScalarFieldContainer[_types_pb2.AfterSaleStatus]
    signals: _containers.RepeatedScalarFieldContainer[_types_pb2.Signal]
    shop_id: str
    def __init__(self, actions: _Optional[_Iterable[_Union[_types_pb2.Action, str]]] = ..., states: _Optional[_Iterable[_Union[_types_pb2.AfterSaleStatus, str]]] = ..., signals: _Optional[_Iterable[_Union[_types_pb2.Signal, str]]] = ..., shop_id: _Optional[str] = ...) -> None: ...

class Subscription(_message.Message):
    __slots__ = ("name", "service", "role", "filter", "start", "max_deliveries", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    MAX_DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    service: str
    role: _types_pb2.Role
    filter: SubscriptionFilter
    start: SubscriptionStart
    max_deliveries: int
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., service: _Optional[str] = ..., role: _Optional[_Union[_types_pb2.Role, str]] = ..., filter: _Optional[_Union[SubscriptionFilter, _Mapping]] = ..., start: _Optional[_Union[SubscriptionStart, str]] = ..., max_deliveries: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubscriptionConsumer(_message.Message):
    __slots__ = ("consumer", "session", "shards")
    CONSUMER_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    consumer: str
    session: str
    shards: int
    def __init__(self, consumer: _Optional[str] = ..., session: _Optional[str] = ..., shards: _Optional[int] = ...) -> None: ...

class SubscriptionState(_message.Message):
    __slots__ = ("subscription", "consumers", "pending", "dead_letters", "oldest_unacked_age_seconds", "lost_events")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CONSUMERS_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    OLDEST_UNACKED_AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LOST_EVENTS_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    consumers: _containers.RepeatedCompositeFieldContainer[SubscriptionConsumer]
    pending: int
    dead_letters: int
    oldest_unacked_age_seconds: float
    lost_events: int
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ..., consumers: _Optional[_Iterable[_Union[SubscriptionConsumer, _Mapping]]] = ..., pending: _Optional[int] = ..., dead_letters: _Optional[int] = ..., oldest_unacked_age_seconds: _Optional[float] = ..., lost_events: _Optional[int] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("open", "ack_ids", "nack_ids")
    OPEN_FIELD_NUMBER: _ClassVar[int]
    ACK_IDS_FIELD_NUMBER: _ClassVar[int]
    NACK_IDS_FIELD_NUMBER: _ClassVar[int]
    open: SubscribeOpen
    ack_ids: _containers.RepeatedScalarFieldContainer[str]
    nack_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, open: _Optional[_Union[SubscribeOpen, _Mapping]] = ..., ack_ids: _Optional[_Iterable[str]] = ..., nack_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SubscribeOpen(_message.Message):
    __slots__ = ("subscription", "consumer", "max_in_flight")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_FIELD_NUMBER: _ClassVar[int]
    MAX_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    subscription: str
    consumer: str
    max_in_flight: int
    def __init__(self, subscription: _Optional[str] = ..., consumer: _Optional[str] = ..., max_in_flight: _Optional[int] = ...) -> None: ...

class SubscribeResponse(_message.Message):
    __slots__ = ("event", "ack_id", "delivery")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ACK_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    event: _types_pb2.TransitionEvent
    ack_id: str
    delivery: int
    def __init__(self, event: _Optional[_Union[_types_pb2.TransitionEvent, _Mapping]] = ..., ack_id: _Optional[str] = ..., delivery: _Optional[int] = ...) -> None: ...

class CreateSubscriptionRequest(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class CreateSubscriptionResponse(_message.Message):
    __slots__ = ("subscription", "created")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    created: bool
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetSubscriptionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetSubscriptionResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: SubscriptionState
    def __init__(self, state: _Optional[_Union[SubscriptionState, _Mapping]] = ...) -> None: ...

class ListSubscriptionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSubscriptionsResponse(_message.Message):
    __slots__ = ("states",)
    STATES_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedCompositeFieldContainer[SubscriptionState]
    def __init__(self, states: _Optional[_Iterable[_Union[SubscriptionState, _Mapping]]] = ...) -> None: ...

class DeleteSubscriptionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteSubscriptionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListDeadLettersRequest(_message.Message):
    __slots__ = ("subscription", "page_size", "page_token")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    subscription: str
    page_size: int
    page_token: str
    def __init__(self, subscription: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class DeadLetter(_message.Message):
    __slots__ = ("id", "event", "deliveries", "dead_time", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    DEAD_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    event: _types_pb2.TransitionEvent
    deliveries: int
    dead_time: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, id: _Optional[str] = ..., event: _Optional[_Union[_types_pb2.TransitionEvent, _Mapping]] = ..., deliveries: _Optional[int] = ..., dead_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class ListDeadLettersResponse(_message.Message):
    __slots__ = ("dead_letters", "next_page_token")
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    dead_letters: _containers.RepeatedCompositeFieldContainer[DeadLetter]
    next_page_token: str
    def __init__(self, dead_letters: _Optional[_Iterable[_Union[DeadLetter, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReplayDeadLettersRequest(_message.Message):
    __slots__ = ("subscription", "ids", "all")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    subscription: str
    ids: _containers.RepeatedScalarFieldContainer[str]
    all: bool
    def __init__(self, subscription: _Optional[str] = ..., ids: _Optional[_Iterable[str]] = ..., all: _Optional[bool] = ...) -> None: ...

class ReplayDeadLettersResponse(_message.Message):
    __slots__ = ("replayed",)
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    replayed: int
    def __init__(self, replayed: _Optional[int] = ...) -> None: ...

class PurgeDeadLettersRequest(_message.Message):
    __slots__ = ("subscription", "ids", "all")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    subscription: str
    ids: _containers.RepeatedScalarFieldContainer[str]
    all: bool
    def __init__(self, subscription: _Optional[str] = ..., ids: _Optional[_Iterable[str]] = ..., all: _Optional[bool] = ...) -> None: ...

class PurgeDeadLettersResponse(_message.Message):
    __slots__ = ("purged",)
    PURGED_FIELD_NUMBER: _ClassVar[int]
    purged: int
    def __init__(self, purged: _Optional[int] = ...) -> None: ...
