import io
import json
import zipfile

import boto3
import pytest

from sluice.core.errors import TaskError
from sluice.plugins.aws.awslambda import Invoke
from tests.fixtures_aws import ACCOUNT, REGION, moto_post
from tests.plugin_context import make_run_context

pytestmark = pytest.mark.aws


def _function(moto_url: str, name: str) -> str:
    iam = boto3.client("iam", endpoint_url=moto_url, region_name=REGION)
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return event\n")
    lam = boto3.client("lambda", endpoint_url=moto_url, region_name=REGION)
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role["Role"]["Arn"],
        Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
        Publish=True,
    )
    return created["FunctionArn"]


def _canned(moto_url: str, *results: str) -> None:
    moto_post(
        moto_url,
        "/moto-api/static/lambda-simple/response",
        {"account_id": ACCOUNT, "region": REGION, "results": list(results)},
    )


async def test_invoke_stores_response_and_parses_small_json(moto_url, tmp_path):
    arn = _function(moto_url, "echo")
    task = Invoke.model_validate(
        {
            "functionArn": arn,
            "functionPayload": {"bucket": "images", "count": 3},
            "endpointOverride": moto_url,
            "region": REGION,
        }
    )
    ctx = make_run_context(tmp_path)

    out = await task.run(ctx)

    # moto's docker-free backend echoes the request payload byte for byte.
    assert out.payload == {"bucket": "images", "count": 3}
    assert json.loads(ctx.storage.get_bytes(out.uri)) == {
        "bucket": "images",
        "count": 3,
    }
    assert out.content_length == ctx.storage.size(out.uri)
    assert out.content_type == "application/json"
    assert out.status_code == 200


async def test_invoke_reaches_function_by_name_and_version_qualifier(
    moto_url, tmp_path
):
    _function(moto_url, "versioned")
    _canned(moto_url, "plain text answer")
    task = Invoke.model_validate(
        {"functionName": "versioned", "qualifier": "1", "endpointOverride": moto_url}
    )

    out = await task.run(make_run_context(tmp_path))

    assert out.payload is None  # not JSON: stored only
    assert make_run_context(tmp_path).storage.get_bytes(out.uri) == b"plain text answer"


async def test_invoke_fails_with_function_error_message_when_function_errors(
    moto_url, tmp_path
):
    arn = _function(moto_url, "broken")
    # The only FunctionError moto can produce: a response over 6 MB is "Unhandled".
    _canned(moto_url, "x" * 6_000_001)
    task = Invoke.model_validate({"functionArn": arn, "endpointOverride": moto_url})

    with pytest.raises(TaskError) as err:
        await task.run(make_run_context(tmp_path))

    assert err.value.error_type == "Function.ResponseSizeTooLarge"
    assert "function error (Unhandled)" in err.value.message
    assert "exceeded maximum allowed payload size" in err.value.message


def test_invoke_requires_exactly_one_function_reference():
    with pytest.raises(ValueError, match="exactly one"):
        Invoke.model_validate({"functionName": "a", "functionArn": "b"})
    with pytest.raises(ValueError, match="exactly one"):
        Invoke.model_validate({})
