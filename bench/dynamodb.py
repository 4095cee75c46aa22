"""An in-memory DynamoDB for the benchmark: the operations and expressions the images stage uses, and no more.

Why: moto's DynamoDB re-parses every expression and walks the whole table for every Query page (5-30 ms per
call in process), so a 100,000-image sweep, which writes once per scan started, took hours. This stand-in answers
the same requests in microseconds, so the benchmark measures the library, not the emulator.

How: a ``before-call.dynamodb`` botocore handler answers every DynamoDB call of the process (the library's and the
harness's), after botocore has validated the request against the service model and serialized it, and before any
HTTP (moto included). The counting in :mod:`bench.instrument` is unchanged: ``before-parameter-build`` still counts
the call, and the stand-in reports each answer as one attempt (which advances the simulated clock by the simulated
latency), as moto's answers are.

Faithful where the numbers depend on it, strict everywhere else:

- Query pages stop at DynamoDB's 1 MB of *read* data (item sizes before projection, computed with the rules of
  the DynamoDB developer guide, "Item sizes and formats"), or at ``Limit``; ``LastEvaluatedKey`` is the last
  returned item's key; items come in range-key order (UTF-8 byte order).
- Conditional writes fail with ``ConditionalCheckFailedException`` exactly when the condition is false.
- Anything it does not implement (another operation, parameter, expression function or operator) raises
  :class:`Unsupported` naming it, so a change in the library's requests fails the benchmark loudly instead of
  being answered wrongly. ``tests/unit/test_bench_dynamodb.py`` runs the ledger's own reads and writes against
  this stand-in and against moto and requires the same answers.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right, insort
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import botocore.handlers

PAGE_BYTES = 1024 * 1024  # a Query or Scan reads at most 1 MB before it returns a page
Item = dict[str, dict[str, Any]]


class Unsupported(NotImplementedError):
    """The request uses something this stand-in does not implement."""


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


# --- item sizes (DynamoDB developer guide, "Item sizes and formats") ------------------------------------------


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def value_size(value: Mapping[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return _number_size(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(_number_size(n) for n in data)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in data.items())
    raise Unsupported(f"attribute type {kind}")


def item_size(item: Item) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


# --- expressions ---------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<word>[#:]?[A-Za-z_][A-Za-z0-9_]*)|(?P<op><>|<=|>=|[=<>(),]))")
_FUNCTIONS = frozenset({"attribute_exists", "attribute_not_exists"})
_COMPARATORS = frozenset({"=", "<>", "<", "<=", ">", ">="})


def _tokens(expression: str) -> list[str]:
    out, pos = [], 0
    expression = expression.rstrip()
    while pos < len(expression):
        match = _TOKEN.match(expression, pos)
        if match is None:
            raise Unsupported(f"expression syntax at {expression[pos:]!r} in {expression!r}")
        out.append(match.group("word") or match.group("op"))
        pos = match.end()
    return out


@dataclass
class _Expressions:
    names: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    used_names: set[str] = field(default_factory=set)
    used_values: set[str] = field(default_factory=set)

    def name(self, token: str) -> str:
        if token.startswith("#"):
            if token not in self.names:
                raise _Refused("ValidationException", f"undefined attribute name placeholder {token}")
            self.used_names.add(token)
            return self.names[token]
        if token.startswith(":") or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token):
            raise _Refused("ValidationException", f"not an attribute name: {token}")
        return token

    def value(self, token: str) -> Any:
        if token not in self.values:
            raise _Refused("ValidationException", f"undefined attribute value placeholder {token}")
        self.used_values.add(token)
        return self.values[token]

    def check_all_used(self) -> None:
        unused = sorted(set(self.names) - self.used_names) + sorted(set(self.values) - self.used_values)
        if unused:  # DynamoDB refuses placeholders an expression does not use
            raise _Refused("ValidationException", f"unused placeholders: {', '.join(unused)}")


Condition = Callable[[Item], bool]


def parse_condition(expression: str, ex: _Expressions) -> Condition:
    """``term ((AND|OR) term)*``, AND binding tighter than OR; a term is ``attribute_exists(a)``,
    ``attribute_not_exists(a)``, ``operand <comparator> operand`` or a parenthesised condition."""
    tokens = _tokens(expression)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take(expected: str | None = None) -> str:
        nonlocal position
        token = peek()
        if token is None or (expected is not None and token.upper() != expected):
            raise Unsupported(f"expected {expected or 'a token'} at {token!r} in {expression!r}")
        position += 1
        return token

    def operand() -> Callable[[Item], Any]:
        token = take()
        if token.startswith(":"):
            constant = ex.value(token)
            return lambda item: constant
        attribute = ex.name(token)
        return lambda item: item.get(attribute)

    def term() -> Condition:
        token = peek()
        if token == "(":
            take("(")
            inner = disjunction()
            take(")")
            return inner
        if token is not None and token.lower() in _FUNCTIONS:
            function = take().lower()
            take("(")
            attribute = ex.name(take())
            take(")")
            if function == "attribute_exists":
                return lambda item: attribute in item
            return lambda item: attribute not in item
        if token is not None and token.upper() in ("NOT", "BETWEEN", "IN", "BEGINS_WITH", "SIZE", "CONTAINS"):
            raise Unsupported(f"{token} in {expression!r}")
        left = operand()
        comparator = take()
        if comparator not in _COMPARATORS:
            raise Unsupported(f"comparator {comparator!r} in {expression!r}")
        right = operand()
        return lambda item: compare(left(item), comparator, right(item))

    def conjunction() -> Condition:
        terms = [term()]
        while (peek() or "").upper() == "AND":
            take("AND")
            terms.append(term())
        return terms[0] if len(terms) == 1 else (lambda item: all(t(item) for t in terms))

    def disjunction() -> Condition:
        terms = [conjunction()]
        while (peek() or "").upper() == "OR":
            take("OR")
            terms.append(conjunction())
        return terms[0] if len(terms) == 1 else (lambda item: any(t(item) for t in terms))

    condition = disjunction()
    if peek() is not None:
        raise Unsupported(f"unexpected {peek()!r} in {expression!r}")
    return condition


def compare(left: Any, comparator: str, right: Any) -> bool:
    """DynamoDB comparison: a missing attribute or a type mismatch makes every comparison false but ``<>``."""
    if left is None or right is None or set(left) != set(right):
        return comparator == "<>" and left is not None and right is not None
    ((kind, a),) = left.items()
    b = right[kind]
    if kind == "N":
        a, b = Decimal(a), Decimal(b)
    elif kind not in ("S", "B") and comparator not in ("=", "<>"):
        raise _Refused("ValidationException", f"cannot order values of type {kind}")
    return {
        "=": a == b,
        "<>": a != b,
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
    }[comparator]


def apply_update(item: Item, expression: str, ex: _Expressions) -> None:
    """``SET a = :v, ...``, ``ADD a :n`` (numbers), ``REMOVE a, ...``: plain values only."""
    tokens = _tokens(expression)
    position, verb = 0, None
    while position < len(tokens):
        token = tokens[position]
        if token.upper() in ("SET", "ADD", "REMOVE", "DELETE"):
            verb = token.upper()
            if verb == "DELETE":
                raise Unsupported(f"DELETE in {expression!r}")
            position += 1
            continue
        if token == ",":
            position += 1
            continue
        attribute = ex.name(token)
        if verb == "SET":
            if tokens[position + 1 : position + 2] != ["="] or not tokens[position + 2].startswith(":"):
                raise Unsupported(f"SET {token} other than '= :value' in {expression!r}")
            if position + 3 < len(tokens) and tokens[position + 3] not in (",", "ADD", "REMOVE", "SET"):
                raise Unsupported(f"SET {token} with an operation in {expression!r}")
            item[attribute] = ex.value(tokens[position + 2])
            position += 3
        elif verb == "ADD":
            increment = ex.value(tokens[position + 1])
            if set(increment) != {"N"} or (attribute in item and set(item[attribute]) != {"N"}):
                raise Unsupported(f"ADD of a non-number in {expression!r}")
            current = Decimal(item[attribute]["N"]) if attribute in item else Decimal(0)
            item[attribute] = {"N": str(current + Decimal(increment["N"]))}
            position += 2
        elif verb == "REMOVE":
            item.pop(attribute, None)
            position += 1
        else:
            raise Unsupported(f"expression {expression!r}")


# --- the tables --------------------------------------------------------------------------------------------------


@dataclass
class Table:
    name: str
    hash_key: str
    range_key: str
    partitions: dict[str, dict[str, Item]] = field(default_factory=dict)
    _order: dict[str, list[str]] = field(default_factory=dict)  # range keys of each partition, sorted

    def get(self, key: Mapping[str, Any]) -> Item | None:
        h, r = self._key(key)
        return self.partitions.get(h, {}).get(r)

    def put(self, item: Item) -> None:
        h, r = self._key(item)
        partition = self.partitions.setdefault(h, {})
        if r not in partition:
            insort(self._order.setdefault(h, []), r)
        partition[r] = item

    def ordered(self, h: str, after: str | None) -> Iterator[Item]:
        order = self._order.get(h, [])
        start = 0
        if after is not None:
            start = bisect_right(order, after)
        partition = self.partitions[h] if order else {}
        for r in order[start:]:
            yield partition[r]

    def _key(self, key: Mapping[str, Any]) -> tuple[str, str]:
        try:
            return key[self.hash_key]["S"], key[self.range_key]["S"]
        except (KeyError, TypeError) as exc:
            message = f"the key must be {self.hash_key} (S) and {self.range_key} (S)"
            raise _Refused("ValidationException", message) from exc


class Store:
    """Every table of the process, answering the DynamoDB API's JSON requests."""

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}

    def create_table(self, name: str, hash_key: str, range_key: str) -> Table:
        self.tables[name] = Table(name, hash_key, range_key)
        return self.tables[name]

    def answer(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        method = getattr(self, f"_op_{operation}", None)
        if method is None:
            raise Unsupported(f"operation {operation}")
        return method(dict(request))

    def _table(self, request: dict[str, Any]) -> Table:
        name = request.pop("TableName")
        if name not in self.tables:
            raise _Refused("ResourceNotFoundException", f"Requested resource not found: table {name}")
        return self.tables[name]

    @staticmethod
    def _expressions(request: dict[str, Any]) -> _Expressions:
        return _Expressions(
            request.pop("ExpressionAttributeNames", {}) or {}, request.pop("ExpressionAttributeValues", {}) or {}
        )

    @staticmethod
    def _no_more(operation: str, request: dict[str, Any], allowed: Mapping[str, Any]) -> None:
        for key, value in request.items():
            if key not in allowed or (allowed[key] is not None and value not in allowed[key]):
                raise Unsupported(f"{operation} parameter {key}={value!r}")

    def _op_CreateTable(self, request: dict[str, Any]) -> dict[str, Any]:
        schema = {k["KeyType"]: k["AttributeName"] for k in request["KeySchema"]}
        self.create_table(request["TableName"], schema["HASH"], schema["RANGE"])
        return {"TableDescription": {"TableName": request["TableName"], "TableStatus": "ACTIVE"}}

    def _op_GetItem(self, request: dict[str, Any]) -> dict[str, Any]:
        table = self._table(request)
        key = request.pop("Key")
        self._no_more("GetItem", request, {"ConsistentRead": None})
        item = table.get(key)
        return {} if item is None else {"Item": json.loads(json.dumps(item))}

    def _op_BatchGetItem(self, request: dict[str, Any]) -> dict[str, Any]:
        """Up to 100 keys, ConsistentRead only (the scan budget's plan and state); never leaves keys unprocessed."""
        wanted = request.pop("RequestItems")
        self._no_more("BatchGetItem", request, {})
        responses: dict[str, list[Item]] = {}
        for name, spec in wanted.items():
            spec = dict(spec)
            keys = spec.pop("Keys")
            self._no_more("BatchGetItem", spec, {"ConsistentRead": None})
            if name not in self.tables:
                raise _Refused("ResourceNotFoundException", f"Requested resource not found: table {name}")
            if not 1 <= len(keys) <= 100:
                raise _Refused("ValidationException", "BatchGetItem takes 1 to 100 keys")
            found = [self.tables[name].get(key) for key in keys]
            responses[name] = [json.loads(json.dumps(item)) for item in found if item is not None]
        return {"Responses": responses, "UnprocessedKeys": {}}

    def _op_UpdateItem(self, request: dict[str, Any]) -> dict[str, Any]:
        table = self._table(request)
        key = request.pop("Key")
        ex = self._expressions(request)
        condition = request.pop("ConditionExpression", None)
        update = request.pop("UpdateExpression")
        self._no_more("UpdateItem", request, {"ReturnValues": ("NONE",)})
        check = parse_condition(condition, ex) if condition else None
        current = table.get(key)
        candidate: Item = json.loads(json.dumps(current)) if current is not None else json.loads(json.dumps(key))
        apply_update(candidate, update, ex)
        ex.check_all_used()
        if check is not None and not check(current or {}):
            raise _Refused("ConditionalCheckFailedException", "The conditional request failed")
        table.put(candidate)
        return {}

    def _op_Query(self, request: dict[str, Any]) -> dict[str, Any]:
        table = self._table(request)
        ex = self._expressions(request)
        key_condition = request.pop("KeyConditionExpression")
        projection = request.pop("ProjectionExpression", None)
        start = request.pop("ExclusiveStartKey", None)
        limit = request.pop("Limit", None)
        self._no_more("Query", request, {"ConsistentRead": None, "Select": ("ALL_ATTRIBUTES",)})
        hash_value, range_value = self._key_condition(key_condition, table, ex)
        attributes = [ex.name(t) for t in _tokens(projection) if t != ","] if projection else None
        ex.check_all_used()
        if range_value is not None:  # hash and range key equality: at most the one item, read directly
            found = table.get({table.hash_key: {"S": hash_value}, table.range_key: {"S": range_value}})
            candidates: Iterator[Item] = iter([] if found is None or start is not None else [found])
        else:
            candidates = table.ordered(hash_value, None if start is None else table._key(start)[1])
        items: list[Item] = []
        read = 0
        last: Item | None = None
        more = False
        for item in candidates:
            size = item_size(item)
            if (limit is not None and len(items) >= limit) or (items and read + size > PAGE_BYTES):
                more = True
                break
            read += size
            last = item
            items.append(item if attributes is None else {a: item[a] for a in attributes if a in item})
        out: dict[str, Any] = {"Items": json.loads(json.dumps(items)), "Count": len(items), "ScannedCount": len(items)}
        if more and last is not None:
            out["LastEvaluatedKey"] = {table.hash_key: last[table.hash_key], table.range_key: last[table.range_key]}
        return out

    @staticmethod
    def _key_condition(key_condition: str, table: Table, ex: _Expressions) -> tuple[str, str | None]:
        """``<hash key> = :h`` or ``<hash key> = :h AND <range key> = :r`` (what the ledger queries)."""
        tokens = _tokens(key_condition)
        simple = len(tokens) == 3 and tokens[1] == "="
        with_range = len(tokens) == 7 and tokens[1] == tokens[5] == "=" and tokens[3].upper() == "AND"
        if not (simple or with_range):
            raise Unsupported(f"key condition {key_condition!r}")
        pairs = [(tokens[0], tokens[2], table.hash_key)]
        if with_range:
            pairs.append((tokens[4], tokens[6], table.range_key))
        values: list[str] = []
        for name_token, value_token, key in pairs:
            if ex.name(name_token) != key:
                raise _Refused("ValidationException", f"key condition {key_condition!r}: {name_token} is not {key}")
            value = ex.value(value_token)
            if set(value) != {"S"}:
                raise _Refused("ValidationException", f"{key} is a string key")
            values.append(value["S"])
        return values[0], values[1] if len(values) > 1 else None


# --- botocore ------------------------------------------------------------------------------------------------------


class _Http:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""


_STORE: Store | None = None
_ON_ANSWER: Callable[..., None] | None = None
_INSTALLED = False


def _before_call(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> tuple[_Http, dict] | None:
    if _STORE is None:
        return None
    operation = model.name
    request = json.loads(params.get("body") or b"{}")
    try:
        parsed, status = _STORE.answer(operation, request), 200
    except _Refused as refused:
        parsed, status = {"Error": {"Code": refused.code, "Message": refused.message}}, 400
    parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = status
    if _ON_ANSWER is not None:
        _ON_ANSWER(event_name=f"response-received.dynamodb.{operation}", context=context, parsed_response=parsed)
    return _Http(status), parsed


def install(store: Store, on_answer: Callable[..., None] | None = None) -> None:
    """Answer every DynamoDB call of every botocore session created from now on from ``store``; ``on_answer`` is
    told about each answer as botocore's ``response-received`` would (the benchmark's recorder)."""
    global _STORE, _ON_ANSWER, _INSTALLED
    _STORE, _ON_ANSWER = store, on_answer
    if not _INSTALLED:
        botocore.handlers.BUILTIN_HANDLERS.append(("before-call.dynamodb", _before_call))
        _INSTALLED = True


def uninstall() -> None:
    """Stop answering (sessions created from now on no longer see the stand-in; existing clients pass through)."""
    global _STORE, _ON_ANSWER, _INSTALLED
    _STORE, _ON_ANSWER = None, None
    if _INSTALLED:
        botocore.handlers.BUILTIN_HANDLERS.remove(("before-call.dynamodb", _before_call))
        _INSTALLED = False
