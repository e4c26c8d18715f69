"""Python client of the aftersale gRPC API (``aftersale.v1``).

    from aftersale_client import Actor, AfterSaleClient, Refused

    async with AfterSaleClient("127.0.0.1:50051", token=TOKEN,
                               actor=Actor.merchant("shop-9")) as shop:
        try:
            await shop.reject_after_sale(request_id=rid, reject_reason="...", ...)
        except Refused as refused:
            print(refused.reason, refused.allowed_actions, refused.message("zh-CN"))

- ``client``: ``AfterSaleClient`` (asyncio) and ``SyncAfterSaleClient``, one method per RPC;
- ``actor``: who a call speaks for (metadata); ``errors``: the typed errors;
- ``retry``: the published retry policy; ``subscriber``: a durable-subscription consumer;
- ``v1``: the message modules (``aftersale_pb2``, ``types_pb2``, ``subscriptions_pb2``).
"""

from aftersale_client.actor import Actor
from aftersale_client.client import AfterSaleClient, SyncAfterSaleClient
from aftersale_client.errors import (
    Aborted,
    AfterSaleError,
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    PreconditionViolation,
    Refused,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from aftersale_client.subscriber import Handler, Subscriber

__all__ = [
    "Aborted",
    "Actor",
    "AfterSaleClient",
    "AfterSaleError",
    "AlreadyExists",
    "Cancelled",
    "DataLoss",
    "DeadlineExceeded",
    "FieldViolation",
    "Handler",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "PreconditionViolation",
    "Refused",
    "ResourceExhausted",
    "Subscriber",
    "SyncAfterSaleClient",
    "Unauthenticated",
    "Unavailable",
]
