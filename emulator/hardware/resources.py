"""A SimPy resource that reports each request and release to observers.

Tile locks and the controller's digital unit are shared resources; the testing kit checks that
no two writes hold one tile at once by watching them. Observers are plain callables, so the
hardware does not depend on the kit, and without observers this is a `simpy.Resource`.
"""

from __future__ import annotations

from typing import Callable

import simpy

#: Called with the request event, when it is made and when it is released.
ResourceObserver = Callable[[simpy.resources.resource.Request], None]


class ObservedResource(simpy.Resource):
    """`simpy.Resource` with `on_request` / `on_release` observer lists."""

    def __init__(self, env: simpy.Environment, capacity: int = 1) -> None:
        super().__init__(env, capacity=capacity)
        self.on_request: list[ResourceObserver] = []
        self.on_release: list[ResourceObserver] = []

    def request(self) -> simpy.resources.resource.Request:
        event = super().request()
        for observer in self.on_request:
            observer(event)
        return event

    def release(self, request: simpy.resources.resource.Request) -> simpy.events.Event:  # type: ignore[override]
        for observer in self.on_release:
            observer(request)
        return super().release(request)
