"""Versions of the reference environment (a smoke check of the oracle protocol)."""

from _protocol import serve


def handle(request: dict) -> dict:
    import aihwkit
    import torch

    return {"aihwkit": aihwkit.__version__, "torch": torch.__version__, "echo": request.get("echo", 0)}


if __name__ == "__main__":
    serve(handle)
