"""AWS Secrets Manager as a secret provider, alone and in a chain (moto)."""

from datetime import timedelta

import boto3
import pytest

from sluice.core.errors import TaskError
from sluice.plugins.aws._secrets_provider import SecretsManagerProvider
from sluice.storage.secrets import ChainSecretProvider, EnvSecretProvider


@pytest.fixture
def secrets(moto_url):
    return boto3.client(
        "secretsmanager", endpoint_url=moto_url, region_name="us-east-1"
    )


def provider(moto_url, **kwargs) -> SecretsManagerProvider:
    connection = {"region": "us-east-1", "endpointOverride": moto_url}
    return SecretsManagerProvider(connection, **kwargs)


def test_secrets_manager_reads_prefixed_secret(secrets, moto_url):
    secrets.create_secret(Name="sluice/prod/DB_PASS", SecretString="s3cr3t")

    assert provider(moto_url, prefix="sluice/prod/").get("DB_PASS") == "s3cr3t"


def test_secrets_manager_reads_binary_secret_as_text(secrets, moto_url):
    secrets.create_secret(Name="KEY", SecretBinary="héllo".encode())

    assert provider(moto_url).get("KEY") == "héllo"


def test_secrets_manager_returns_none_for_missing_secret(moto_url):
    assert provider(moto_url).get("NOPE") is None


def test_secrets_manager_caches_until_ttl(secrets, moto_url):
    secrets.create_secret(Name="TOKEN", SecretString="v1")
    cached = provider(moto_url)
    fresh = provider(moto_url, ttl=timedelta(0))
    assert cached.get("TOKEN") == fresh.get("TOKEN") == "v1"

    secrets.put_secret_value(SecretId="TOKEN", SecretString="v2")

    assert cached.get("TOKEN") == "v1"
    assert fresh.get("TOKEN") == "v2"
    cached.clear()
    assert cached.get("TOKEN") == "v2"


def test_secrets_manager_unreachable_is_retryable_error(unused_tcp_port, aws_env):
    unreachable = SecretsManagerProvider(
        {
            "region": "us-east-1",
            "endpointOverride": f"http://127.0.0.1:{unused_tcp_port}",
        }
    )

    with pytest.raises(TaskError, match="secretsmanager:GetSecretValue X") as info:
        unreachable.get("X")

    assert info.value.retryable


def test_chain_falls_back_from_environment_to_secrets_manager(secrets, moto_url):
    secrets.create_secret(Name="app/ONLY_AWS", SecretString="from-aws")
    secrets.create_secret(Name="app/BOTH", SecretString="from-aws")
    chain = ChainSecretProvider(
        [
            EnvSecretProvider({"SECRET_BOTH": "from-env"}),
            provider(moto_url, prefix="app/"),
        ]
    )

    assert chain.get("BOTH") == "from-env"
    assert chain.get("ONLY_AWS") == "from-aws"
    assert chain.get("NEITHER") is None
