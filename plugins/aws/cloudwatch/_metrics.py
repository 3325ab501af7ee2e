"""Metric dimensions as flows write them: a map, or Kestra's list of name/value."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

from sluice.core.plugin import PluginModel


class Dimension(PluginModel):
    """One metric dimension."""

    name: str
    value: str

    def to_api(self) -> dict[str, str]:
        """As CloudWatch takes it."""
        return {"Name": self.name, "Value": self.value}


def _from_map(value: Any) -> Any:
    if isinstance(value, dict):
        return [{"name": k, "value": str(v)} for k, v in value.items()]
    return value


Dimensions = Annotated[list[Dimension], BeforeValidator(_from_map)]
"""`{InstanceId: i-1}` or `[{name: InstanceId, value: i-1}]`, both accepted."""
