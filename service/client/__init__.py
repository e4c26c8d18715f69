"""Clients of the service's gRPC API that need nothing of the service but its generated stubs
(grpc, protobuf and ``service.gen``): ``subscriber.Subscriber`` consumes a durable
subscription."""

from service.client.subscriber import Handler, Subscriber

__all__ = ["Handler", "Subscriber"]
