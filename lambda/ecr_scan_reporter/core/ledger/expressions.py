"""UpdateItem expressions (:class:`_Update`) and the one failure a conditional write expects
(:func:`_condition_failed`), for the modules that write."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


class _Update:
    """An UpdateItem expression under construction; every attribute name goes through a placeholder (DynamoDB
    reserves hundreds of words, ``source`` among them)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.clauses: dict[str, list[str]] = {"SET": [], "ADD": [], "REMOVE": []}

    def name(self, attribute: str) -> str:
        placeholder = f"#n{len(self.names)}"
        for known, name in self.names.items():
            if name == attribute:
                return known
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def set(self, attribute: str, value: Any) -> None:
        self.clauses["SET"].append(f"{self.name(attribute)} = {self.value(value)}")

    def add(self, attribute: str, value: Any) -> None:
        self.clauses["ADD"].append(f"{self.name(attribute)} {self.value(value)}")

    def remove(self, attribute: str) -> None:
        self.clauses["REMOVE"].append(self.name(attribute))

    def request(self) -> dict[str, Any]:
        expression = " ".join(f"{verb} {', '.join(parts)}" for verb, parts in self.clauses.items() if parts)
        request: dict[str, Any] = {"UpdateExpression": expression, "ExpressionAttributeNames": self.names}
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


def _condition_failed(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) == "ConditionalCheckFailedException"
