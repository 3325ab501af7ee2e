"""A local AWS emulator (moto) for demos and flows developed without an AWS account.

`start_emulator()` starts moto's threaded server on 127.0.0.1 (never on all
interfaces), switches Lambda to moto's docker-free backend (an invoke echoes its
payload), and returns an `Emulator` with the `url` to give every AWS task as
`endpointOverride`. Fake credentials for the environment come from `environment()`.
moto is an optional dependency: ``pip install 'sluice[emulator]'``.
"""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.exceptions

from sluice.core.errors import OrchestratorError

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


class EmulatorError(OrchestratorError):
    """The local AWS emulator cannot start (moto missing, port taken)."""


@dataclass
class Emulator:
    """A running moto server: its `url`, its region, and how to stop it."""

    url: str
    region: str
    _server: Any = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Stop the server (its state is lost); stopping twice is harmless."""
        if not self._stopped:
            self._stopped = True
            self._server.stop()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def environment(self) -> dict[str, str]:
        """Fake credentials and the region, for boto3's default chain."""
        return {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": self.region}

    def connection(self) -> dict[str, str]:
        """The AWS connection properties (camelCase) that point a task here."""
        return {"endpointOverride": self.url, "region": self.region}

    def ensure_buckets(self, names: Iterable[str]) -> list[str]:
        """Create the buckets that do not exist yet; return the ones created."""
        s3 = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        created: list[str] = []
        for name in dict.fromkeys(names):
            if name in existing:
                continue
            kwargs: dict[str, Any] = {"Bucket": name}
            if self.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {
                    "LocationConstraint": self.region
                }
            try:
                s3.create_bucket(**kwargs)
            except botocore.exceptions.ClientError as err:
                message = err.response.get("Error", {}).get("Message", str(err))
                raise EmulatorError(
                    f"cannot create bucket {name!r}: {message}"
                ) from err
            created.append(name)
        return created


def start_emulator(port: int = 0, region: str = "us-east-1") -> Emulator:
    """Start moto on 127.0.0.1:`port` (0: any free port) and wait until it answers.

    Raises:
        EmulatorError: moto is not installed, or the port is taken.
    """
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as err:
        raise EmulatorError(
            "the local AWS emulator needs moto: pip install 'sluice[emulator]'"
        ) from err
    if port:
        _check_port_free(port)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    emulator = Emulator(url=f"http://{host}:{bound}", region=region, _server=server)
    try:
        _post(f"{emulator.url}/moto-api/config", {"lambda": {"use_docker": False}})
    except OSError as err:
        emulator.stop()
        raise EmulatorError(f"the emulator did not answer at {emulator.url}") from err
    return emulator


def _check_port_free(port: int) -> None:
    # moto's server thread would die on a taken port and leave start() waiting forever.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as err:
            raise EmulatorError(f"port {port} on 127.0.0.1 is taken") from err


def _post(url: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(  # noqa: S310 (our own loopback server)
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()
