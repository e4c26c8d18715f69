"""The message modules of ``aftersale.v1``, under the client's own import path:

from aftersale_client.v1 import aftersale_pb2 as pb, types_pb2 as t
"""

from aftersale_client._gen.aftersale.v1 import aftersale_pb2, subscriptions_pb2, types_pb2

__all__ = ["aftersale_pb2", "subscriptions_pb2", "types_pb2"]
