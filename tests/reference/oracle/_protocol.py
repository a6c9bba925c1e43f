"""What every oracle script shares (runs in the reference environment, not in aimc's).

An oracle reads a JSON request from argv[1] and writes its results to the .npz file argv[2].
Torch uses one thread so that two oracles can run side by side on a 2-core machine.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

import numpy as np


def serve(handler: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    import torch

    torch.set_num_threads(1)
    with open(sys.argv[1]) as handle:
        request = json.load(handle)
    results = handler(request)
    np.savez(sys.argv[2], **{key: np.asarray(value) for key, value in results.items()})
