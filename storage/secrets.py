"""Where `secret('NAME')` finds values: the environment, or several providers in turn.

`EnvSecretProvider` reads environment variables, with one documented rule per variable
name, so a value is never guessed to be base64:

* ``SECRET_<NAME>`` holds the value as is (plain text);
* ``SECRET_<NAME>_B64`` holds the value base64-encoded (strict RFC 4648, whitespace and
  line breaks ignored, the decoded bytes must be UTF-8): for multi-line keys or values
  with characters a shell mangles;
* with ``kestra_base64=True``, ``SECRET_<NAME>`` is base64 as in Kestra OSS, whose users
  already store every secret that way, so their environment works unchanged.

Setting both ``SECRET_<NAME>`` and ``SECRET_<NAME>_B64`` is an error (which one was
meant is unknowable). `NAME` is looked up as written, then upper-cased
(`secret('db_pass')` finds ``SECRET_DB_PASS``). Values never appear in errors, only
variable names do.

`ChainSecretProvider` asks several providers in order and returns the first value found
(e.g. the environment, then AWS Secrets Manager).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable, Mapping

from sluice.core.errors import SecretNotFoundError
from sluice.core.ports import SecretProvider

ENV_PREFIX = "SECRET_"
B64_SUFFIX = "_B64"


class EnvSecretProvider:
    """Secrets from ``SECRET_<NAME>`` (plain) and ``SECRET_<NAME>_B64`` variables.

    Args:
        environ: the variables to read (default: the process environment, read at each
            call so that a changed variable is seen).
        kestra_base64: read ``SECRET_<NAME>`` as base64, as Kestra OSS does.
    """

    def __init__(
        self, environ: Mapping[str, str] | None = None, *, kestra_base64: bool = False
    ) -> None:
        self._environ = environ
        self.kestra_base64 = kestra_base64

    def __repr__(self) -> str:
        return f"EnvSecretProvider(kestra_base64={self.kestra_base64})"

    def get(self, name: str) -> str | None:
        """The secret's value, or None if no variable holds it.

        Raises:
            SecretNotFoundError: the variable is set twice (plain and ``_B64``), or its
                base64 is invalid or not UTF-8.
        """
        env = os.environ if self._environ is None else self._environ
        for candidate in dict.fromkeys([name, name.upper()]):
            var = ENV_PREFIX + candidate
            plain, encoded = env.get(var), env.get(var + B64_SUFFIX)
            if plain is not None and encoded is not None:
                raise SecretNotFoundError(
                    f"secret {name!r} is set both as {var} and {var}{B64_SUFFIX}; "
                    "keep one"
                )
            if encoded is not None:
                return decode_base64(encoded, var + B64_SUFFIX)
            if plain is not None:
                return decode_base64(plain, var) if self.kestra_base64 else plain
        return None


def decode_base64(value: str, variable: str) -> str:
    """Decode a base64 value to text; errors name `variable`, never the value.

    Raises:
        SecretNotFoundError: not valid base64, or the bytes are not UTF-8.
    """
    compact = "".join(value.split())
    try:
        return base64.b64decode(compact, validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as err:
        # UnicodeDecodeError is a ValueError; chaining it would not show the value.
        raise SecretNotFoundError(
            f"{variable} is not valid base64 of UTF-8 text "
            f"({type(err).__name__}); encode it with `base64 -w0`"
        ) from None


class ChainSecretProvider:
    """Asks each provider in order; the first one that has the secret wins."""

    def __init__(self, providers: Iterable[SecretProvider]) -> None:
        self.providers = list(providers)

    def __repr__(self) -> str:
        return f"ChainSecretProvider({self.providers!r})"

    def get(self, name: str) -> str | None:
        """The first provider's value for `name`, or None if none has it."""
        for provider in self.providers:
            value = provider.get(name)
            if value is not None:
                return value
        return None

    def require(self, name: str) -> str:
        """The secret's value.

        Raises:
            SecretNotFoundError: no provider has it (the message lists the providers).
        """
        value = self.get(name)
        if value is None:
            tried = ", ".join(type(p).__name__ for p in self.providers) or "none"
            raise SecretNotFoundError(f"secret {name!r} not found (providers: {tried})")
        return value
