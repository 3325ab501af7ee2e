"""What the demo and the blueprint tests create in a local AWS emulator (moto).

The blueprints name their resources by default (`my-landing-bucket`,
`daily-sales-etl`, …); creating those in the emulator lets the shipped YAML run as it
is. The emulator runs no code: Lambda and Athena answer with canned results queued
through moto's `/moto-api`. Also here: a one-model dbt-duckdb project for the orders
route, and a local stand-in for a Slack incoming webhook.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_DBT_MODULES = ("dbt.cli.main", "dbt.adapters.duckdb")
_DBT_PROJECT = {
    "dbt_project.yml": "name: demo_orders\nversion: '1.0'\nconfig-version: 2\n"
    "profile: demo_orders\nmodel-paths: [models]\n",
    "profiles.yml": "demo_orders:\n  target: dev\n  outputs:\n    dev:\n"
    "      type: duckdb\n      path: {database}\n      threads: 1\n",
    "models/orders_landed.sql": "select\n"
    "       '{{{{ var(\"orders_uri\") }}}}' as orders_uri,\n"
    "       '{{{{ var(\"execution_id\") }}}}' as execution_id,\n"
    "       current_timestamp as built_at\n",
    "models/schema.yml": "version: 2\nmodels:\n  - name: orders_landed\n"
    "    columns:\n      - name: orders_uri\n        data_tests: [not_null]\n",
}


def dbt_available() -> bool:
    """Whether dbt-core and dbt-duckdb are importable (the ``dbt`` extra)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in _DBT_MODULES)
    except ModuleNotFoundError:
        return False


def write_dbt_project(folder: Path) -> Path:
    """A one-model dbt-duckdb project that records the file it was built for."""
    database = json.dumps(str(folder / "orders.duckdb"))
    for name, text in _DBT_PROJECT.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(database=database), encoding="utf-8")
    return folder


def demo_files(orders: bool) -> dict[str, str]:
    """The files the demo drops under raw/: clicks always, orders when dbt is there."""
    files = {
        "raw/clicks/2026-01-31/clicks-0001.json": '{"user": 7, "page": "/cart"}\n',
        "raw/clicks/2026-01-31/clicks-0002.json": '{"user": 9, "page": "/pay"}\n',
    }
    if orders:
        files["raw/orders/2026-01-31/orders-0001.csv"] = "id,amount\n1,12.50\n2,7.25\n"
    return files


class DemoAws:
    """boto3 clients on the emulator; creates what the blueprints' defaults name."""

    account, region = "123456789012", "us-east-1"
    landing_bucket = "my-landing-bucket"

    def __init__(self, url: str) -> None:
        import boto3

        self.url = url
        self.session = boto3.session.Session(region_name=self.region)
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        """A client for `service` on the emulator."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.url)
        return self._clients[service]

    def moto_api(self, path: str, payload: object) -> None:
        """POST JSON to the emulator's /moto-api (canned results, configuration)."""
        import urllib.request

        if not self.url.startswith("http://127.0.0.1:"):
            raise ValueError(f"not a local emulator: {self.url}")
        request = urllib.request.Request(  # noqa: S310 (checked: the local emulator)
            f"{self.url}{path}",
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            answer.read()

    def create_landing(self, lambda_answers: list[dict[str, Any]]) -> None:
        """The landing bucket, SNS topic and cleansing Lambda of `s3-fanout-by-prefix`.

        The emulator runs no Lambda code: each invoke returns the next canned answer.
        """
        self.client("s3").create_bucket(Bucket=self.landing_bucket)
        self.client("sns").create_topic(Name="landing-processed")
        self.client("lambda").create_function(
            FunctionName="clickstream-cleanse",
            Runtime="python3.11",
            Role=self._lambda_role(),
            Handler="handler.handler",
            Code={
                "ZipFile": _zipped("handler.py", "def handler(e, c):\n    return e\n")
            },
        )
        self.moto_api("/moto-api/config", {"lambda": {"use_docker": False}})
        answers = [json.dumps(answer) for answer in lambda_answers]
        self.moto_api(
            "/moto-api/static/lambda-simple/response",
            {"account_id": self.account, "region": self.region, "results": answers},
        )

    def _lambda_role(self) -> str:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                }
            ],
        }
        role = self.client("iam").create_role(
            RoleName="clickstream-cleanse", AssumeRolePolicyDocument=json.dumps(trust)
        )
        return str(role["Role"]["Arn"])

    def create_pipeline(self, row_count: int, total_amount: float) -> None:
        """The Glue job, Athena answer, DynamoDB table and topic of the pipeline.

        Athena answers the row-count query with `row_count` and `total_amount`.
        """
        self.client("glue").create_job(
            Name="daily-sales-etl",
            Role=f"arn:aws:iam::{self.account}:role/glue-etl",
            Command={"Name": "glueetl", "ScriptLocation": "s3://my-glue/etl.py"},
        )
        self.client("s3").create_bucket(Bucket="my-athena-results")
        self.client("sns").create_topic(Name="oncall-pages")
        keys = [("metric", "HASH"), ("day", "RANGE")]
        self.client("dynamodb").create_table(
            TableName="daily-metrics",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
            AttributeDefinitions=[
                {"AttributeName": k, "AttributeType": "S"} for k, _ in keys
            ],
        )
        cells = [["row_count", "total_amount"], [str(row_count), str(total_amount)]]
        columns = [("row_count", "bigint"), ("total_amount", "double")]
        answer = {
            "rows": [{"Data": [{"VarCharValue": c} for c in row]} for row in cells],
            "column_info": [{"Name": n, "Type": t} for n, t in columns],
        }
        self.moto_api(
            "/moto-api/static/athena/query-results",
            {"account_id": self.account, "region": self.region, "results": [answer]},
        )

    def drop_files(self, files: dict[str, str]) -> None:
        """Upload each key's text into the landing bucket."""
        for key, text in files.items():
            self.client("s3").put_object(
                Bucket=self.landing_bucket, Key=key, Body=text.encode()
            )

    def keys(self, prefix: str) -> list[str]:
        """The landing bucket's keys under `prefix`."""
        listed = self.client("s3").list_objects_v2(
            Bucket=self.landing_bucket, Prefix=prefix
        )
        return [item["Key"] for item in listed.get("Contents", [])]


def _zipped(name: str, text: str) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


class SlackStandIn:
    """A local stand-in for a Slack incoming webhook: answers `ok`, echoes each text."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.texts: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _slack_handler(self, echo))
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.webhook_url = f"http://127.0.0.1:{port}/services/DEMO/DEMO/demo"
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        ).start()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def _slack_handler(
    stand_in: SlackStandIn, echo: Callable[[str], None]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                text = str(json.loads(body).get("text", ""))
            except (ValueError, AttributeError):
                text = body.decode(errors="replace")
            stand_in.texts.append(text)
            echo(f"  slack ◂ {text}")
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the messages are echoed instead."""

    return Handler
