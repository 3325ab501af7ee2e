import boto3
import pytest

from tests.fixtures_aws import REGION


@pytest.fixture
def dynamodb(moto_url):
    """A boto3 DynamoDB client on the moto server."""
    return boto3.client("dynamodb", endpoint_url=moto_url, region_name=REGION)


@pytest.fixture
def orders(dynamodb):
    """A table `orders` keyed by customer (S) and sk (S)."""
    dynamodb.create_table(
        TableName="orders",
        KeySchema=[
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return "orders"


@pytest.fixture
def customers(dynamodb):
    """A table `customers` keyed by a numeric id."""
    dynamodb.create_table(
        TableName="customers",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return "customers"
