import re
import shutil

import boto3
import pytest

from sluice.core.errors import TaskError
from sluice.plugins.aws.cli import AwsCLI
from tests.fixtures_aws import REGION
from tests.plugin_context import make_run_context

pytestmark = [
    pytest.mark.aws,
    pytest.mark.skipif(
        shutil.which("aws") is None, reason="the `aws` CLI is not installed on PATH"
    ),
]

KEYS = {"accessKeyId": "AKIACLITEST000000000", "secretKeyId": "cli-secret-" + "k" * 29}


def _task(moto_url, *commands, **props):
    return AwsCLI.model_validate(
        {
            "commands": list(commands),
            "region": REGION,
            "endpointOverride": moto_url,
            **KEYS,
            **props,
        }
    )


async def test_aws_cli_runs_commands_against_the_task_endpoint(
    moto_url, tmp_path, monkeypatch
):
    # The worker's own AWS settings must not reach the CLI.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    task = _task(
        moto_url,
        "aws sqs create-queue --queue-name 'cli-orders'",
        "aws sqs list-queues",
    )
    ctx = make_run_context(tmp_path)

    out = await task.run(ctx)

    assert out.exit_code == 0
    assert out.json_["QueueUrls"][0].endswith("/cli-orders")
    assert '"QueueUrls"' in out.stdout
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)
    assert sqs.get_queue_url(QueueName="cli-orders")["QueueUrl"]
    assert KEYS["secretKeyId"] in ctx.secret_values


async def test_aws_cli_uses_assumed_role_and_text_output(moto_url, tmp_path):
    task = _task(
        moto_url,
        "aws sts get-caller-identity --query Arn",
        outputFormat="TEXT",
        stsRoleArn="arn:aws:iam::222222222222:role/cli-runner",
    )

    out = await task.run(make_run_context(tmp_path))

    assert out.json_ is None
    assert out.stdout.strip().startswith(
        "arn:aws:sts::222222222222:assumed-role/cli-runner/"
    )


async def test_aws_cli_fails_masked_and_stops_at_first_failing_command(
    moto_url, tmp_path
):
    ctx = make_run_context(tmp_path)
    ctx.mask("hidden-queue-name")
    task = _task(
        moto_url,
        "aws sqs get-queue-url --queue-name hidden-queue-name",
        "aws sqs create-queue --queue-name never",
    )

    with pytest.raises(TaskError) as err:
        await task.run(ctx)

    message = err.value.message
    # CLI v1 exits 255 on a service error, v2 254.
    assert re.match(
        r"`aws sqs get-queue-url --queue-name \*{6}` exited 25[45]: ", message
    )
    assert "NonExistentQueue" in message
    assert "hidden-queue-name" not in message
    assert "hidden-queue-name" not in ctx.logger.text()
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)
    assert "QueueUrls" not in sqs.list_queues()


def test_aws_cli_refuses_commands_that_are_not_aws():
    with pytest.raises(ValueError, match="must start with `aws`"):
        AwsCLI.model_validate({"commands": ["rm -rf /"]})
    with pytest.raises(ValueError, match="must start with `aws`"):
        AwsCLI.model_validate({"commands": ["aws s3 ls", ""]})
