"""Point every AWS client of this process at a local emulator (moto on 127.0.0.1).

boto3 reads `AWS_ENDPOINT_URL` for every service (STS included), so tasks and triggers
without an `endpointOverride` of their own use the emulator; fake credentials and a
region make the default chain resolve without an AWS account.
"""

from __future__ import annotations

import logging
import os
from typing import Any


def start_emulator_env(buckets: tuple[str, ...] = ()) -> Any:
    """Start the emulator, export its endpoint and fake credentials; return it."""
    from sluice.plugins.aws.emulator import start_emulator

    # moto's HTTP server logs every request at INFO: the demo's output is for people.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    emulator = start_emulator()
    os.environ["AWS_ENDPOINT_URL"] = emulator.url
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "emulator")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "emulator")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])
    if buckets:
        emulator.ensure_buckets(list(buckets))
    return emulator
