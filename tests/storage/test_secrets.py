import base64

import pytest

from sluice.core.errors import SecretNotFoundError
from sluice.storage.secrets import ChainSecretProvider, EnvSecretProvider


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_env_provider_reads_plain_value():
    provider = EnvSecretProvider({"SECRET_DB_PASS": "p@ss=word"})

    assert provider.get("DB_PASS") == "p@ss=word"


def test_env_provider_does_not_decode_plain_value_that_looks_like_base64():
    provider = EnvSecretProvider({"SECRET_TOKEN": b64("abc")})

    assert provider.get("TOKEN") == "YWJj"


def test_env_provider_decodes_b64_suffix_variable_with_line_breaks():
    key = "-----BEGIN KEY-----\nline\n-----END KEY-----\n"
    encoded = base64.encodebytes(key.encode()).decode()  # wrapped at 76 columns
    provider = EnvSecretProvider({"SECRET_SSH_KEY_B64": encoded})

    assert provider.get("SSH_KEY") == key


def test_env_provider_decodes_plain_variable_in_kestra_mode():
    provider = EnvSecretProvider({"SECRET_API": b64("héllo")}, kestra_base64=True)

    assert provider.get("API") == "héllo"


def test_env_provider_finds_upper_case_variable_for_lower_case_name():
    provider = EnvSecretProvider({"SECRET_DB_PASS": "x"})

    assert provider.get("db_pass") == "x"


def test_env_provider_returns_none_when_unset():
    assert EnvSecretProvider({}).get("MISSING") is None


def test_env_provider_reads_process_environment(monkeypatch):
    monkeypatch.setenv("SECRET_FROM_ENV", "v1")

    assert EnvSecretProvider().get("FROM_ENV") == "v1"


def test_env_provider_refuses_invalid_base64_without_showing_value():
    provider = EnvSecretProvider({"SECRET_X_B64": "not base64!!"})

    with pytest.raises(SecretNotFoundError, match="SECRET_X_B64") as info:
        provider.get("X")
    assert "not base64!!" not in str(info.value)


def test_env_provider_refuses_base64_of_non_utf8_bytes():
    provider = EnvSecretProvider({"SECRET_X": "//79"}, kestra_base64=True)

    with pytest.raises(SecretNotFoundError, match="UTF-8"):
        provider.get("X")


def test_env_provider_refuses_both_plain_and_b64_variables():
    provider = EnvSecretProvider({"SECRET_X": "a", "SECRET_X_B64": b64("b")})

    with pytest.raises(SecretNotFoundError, match="both"):
        provider.get("X")


def test_chain_returns_first_provider_that_has_secret():
    chain = ChainSecretProvider(
        [
            EnvSecretProvider({"SECRET_A": "first"}),
            EnvSecretProvider({"SECRET_A": "2", "SECRET_B": "second"}),
        ]
    )

    assert chain.get("A") == "first"
    assert chain.get("B") == "second"
    assert chain.get("C") is None


def test_chain_require_names_providers_when_missing():
    chain = ChainSecretProvider([EnvSecretProvider({})])

    with pytest.raises(SecretNotFoundError, match=r"'C' not found.*EnvSecretProvider"):
        chain.require("C")
