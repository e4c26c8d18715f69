"""Generated gRPC stubs (``make proto``); the generator is ``service/gen/build.py``."""
