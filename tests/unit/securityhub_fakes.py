"""A Security Hub that keeps AWS's documented rules, around moto's Security Hub client.

moto stores what it is sent: an update is merged into the stored finding key by key (``dict.update``), any field
may change, any size is taken, and it has no ``BatchUpdateFindings``. AWS documents otherwise, and the export is
tested against what AWS documents:

- ``BatchImportFindings`` (API reference; user guide "BatchImportFindings for finding providers"): at most 100
  findings a call; a finding over 240 KB is refused; after a finding is created, ``Note``, ``UserDefinedFields``,
  ``VerificationState`` and ``Workflow`` cannot be updated through it, and a provider updates ``Confidence``,
  ``Criticality``, ``RelatedFindings``, ``Severity`` and ``Types`` through ``FindingProviderFields``, never the
  top-level fields. This fake **refuses** such an update (``FailedFindings``, ``InvalidInput``), where AWS would
  ignore the field: a body AWS would take only in part is a bug of the exporter, and a refusal makes it fail loudly.
  An update whose ``UpdatedAt`` is not later than the stored one is ignored, as AWS does. A new finding needs the
  top-level ``Severity`` and ``Types`` (user guide, "Required top-level ASFF attributes"; botocore's model leaves
  them optional). On create, an empty ``FindingProviderFields`` is filled from the top-level fields; on update,
  the top-level ``Severity`` and ``Types`` follow ``FindingProviderFields`` unless a customer set them with
  ``BatchUpdateFindings``. A finding whose ``RecordState`` goes from ``ARCHIVED`` back to ``ACTIVE`` has its
  workflow reset from ``NOTIFIED`` or ``RESOLVED`` to ``NEW`` (API reference, ``Workflow``).
- ``BatchUpdateFindings``: at most 100 findings a call, the finding must exist (else ``UnprocessedFindings``), and
  the findings role's policy (``securityhub.tf``) lets it set ``Workflow.Status`` to ``RESOLVED`` and nothing else:
  any other field or value is ``AccessDeniedException``. It does not change ``UpdatedAt``.

What the fake holds is moto's store (``client.get_findings``), so a test reads it back the way it always did.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

#: "The maximum allowed size for a finding is 240 Kb." (BatchImportFindings, API reference)
FINDING_MAX_BYTES = 240 * 1024
BATCH_MAX = 100
#: Fields BatchImportFindings cannot update once a finding exists (the customer's investigation).
CUSTOMER_FIELDS = ("Note", "UserDefinedFields", "VerificationState", "Workflow")
#: Fields a provider updates through FindingProviderFields only.
PROVIDER_FIELDS = ("Confidence", "Criticality", "RelatedFindings", "Severity", "Types")
#: Required top-level attributes of every finding (user guide, "Required top-level ASFF attributes") that botocore's
#: model leaves optional: a new finding without them is refused.
REQUIRED_NEW = ("Severity", "Types")
#: What the findings role may send to BatchUpdateFindings (securityhub.tf): the workflow status RESOLVED only.
ALLOWED_UPDATE = {"Workflow": {"Status": "RESOLVED"}}

_MODEL = botocore.session.get_session().get_service_model("securityhub")


def finding_size(body: Mapping[str, Any]) -> int:
    """The finding's size as it travels (botocore's JSON, non-ASCII escaped: never smaller than UTF-8)."""
    return len(json.dumps(body, separators=(",", ":")).encode())


def valid_request(operation: str, params: Mapping[str, Any]) -> None:
    """Raise unless botocore accepts ``params`` as ``operation``'s input (types, required members)."""
    report = ParamValidator().validate(dict(params), _MODEL.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def _error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class AwsSecurityHub:
    """moto's Security Hub client with AWS's rules (module docstring); ``calls`` and ``updates``: the number of
    findings in each BatchImportFindings and BatchUpdateFindings call, in order."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[int] = []
        self.updates: list[int] = []
        self.refused: list[tuple[str, str]] = []  # (finding id, why), every refusal
        self._customer_set: dict[str, set[str]] = {}  # finding id -> top-level fields a customer set

    def stored(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        token: str | None = None
        while True:
            page = self.client.get_findings(MaxResults=100, **({"NextToken": token} if token else {}))
            found |= {f["Id"]: f for f in page["Findings"]}
            token = page.get("NextToken")
            if not token:
                return found

    def get_findings(self, **kwargs: Any) -> Any:
        return self.client.get_findings(**kwargs)

    def batch_import_findings(self, Findings: list[dict[str, Any]]) -> dict[str, Any]:
        if len(Findings) > BATCH_MAX:
            raise _error("InvalidInputException", f"{len(Findings)} findings: at most 100", "BatchImportFindings")
        valid_request("BatchImportFindings", {"Findings": Findings})
        self.calls.append(len(Findings))
        stored = self.stored()
        failed: list[dict[str, str]] = []
        taken: list[dict[str, Any]] = []
        for body in Findings:
            existing = stored.get(body["Id"])
            why = self._refusal(body, existing)
            if why:
                self.refused.append((body["Id"], why))
                failed.append({"Id": body["Id"], "ErrorCode": "InvalidInput", "ErrorMessage": why})
            elif existing is None:
                taken.append(self._created(body))
            elif _time(body["UpdatedAt"]) > _time(existing["UpdatedAt"]):
                taken.append(self._updated(existing, body))
            # else: not newer than the stored finding: AWS ignores the update (it counts as a success)
        self._store(taken)
        return {"FailedCount": len(failed), "SuccessCount": len(Findings) - len(failed), "FailedFindings": failed}

    def batch_update_findings(self, FindingIdentifiers: list[dict[str, str]], **fields: Any) -> dict[str, Any]:
        if fields != ALLOWED_UPDATE:
            raise _error(
                "AccessDeniedException",
                f"the findings role may set Workflow.Status RESOLVED and nothing else, not {fields}",
                "BatchUpdateFindings",
            )
        if len(FindingIdentifiers) > BATCH_MAX:
            raise _error("InvalidInputException", "at most 100 findings", "BatchUpdateFindings")
        valid_request("BatchUpdateFindings", {"FindingIdentifiers": FindingIdentifiers, **fields})
        self.updates.append(len(FindingIdentifiers))
        stored = self.stored()
        processed: list[dict[str, str]] = []
        unprocessed: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for identifier in FindingIdentifiers:
            existing = stored.get(identifier["Id"])
            if existing is None or existing["ProductArn"] != identifier["ProductArn"]:
                unprocessed.append(
                    {"FindingIdentifier": identifier, "ErrorCode": "FindingNotFound", "ErrorMessage": "not found"}
                )
                continue
            changed.append({**existing, "Workflow": dict(fields["Workflow"])})
            self._customer_set.setdefault(identifier["Id"], set()).add("Workflow")
            processed.append(identifier)
        self._store(changed)
        return {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}

    # --- the rules ----------------------------------------------------------------------------------------------------

    def _refusal(self, body: Mapping[str, Any], existing: Mapping[str, Any] | None) -> str | None:
        size = finding_size(body)
        if size > FINDING_MAX_BYTES:
            return f"the finding is {size} bytes: over Security Hub's 240 KB"
        if existing is None:
            missing = [name for name in REQUIRED_NEW if name not in body]
            return f"a new finding lacks required top-level attributes: {', '.join(missing)}" if missing else None
        for name in CUSTOMER_FIELDS:
            if name in body:
                return f"BatchImportFindings cannot update {name} of an existing finding (AWS ignores it)"
        for name in PROVIDER_FIELDS:
            if name in body:
                return f"a finding provider updates {name} through FindingProviderFields, not the top-level field"
        return None

    def _created(self, body: Mapping[str, Any]) -> dict[str, Any]:
        created = copy.deepcopy(dict(body))
        provided = created.setdefault("FindingProviderFields", {})
        for name in ("Severity", "Types"):
            provided.setdefault(name, copy.deepcopy(created[name]))
        created.setdefault("Workflow", {"Status": "NEW"})
        created.setdefault("RecordState", "ACTIVE")
        return created

    def _updated(self, existing: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        updated = {**copy.deepcopy(dict(existing)), **copy.deepcopy(dict(body))}
        provided = {**(existing.get("FindingProviderFields") or {}), **(body.get("FindingProviderFields") or {})}
        updated["FindingProviderFields"] = provided
        customer = self._customer_set.get(body["Id"], set())
        for name in ("Severity", "Types"):
            if name in provided and name not in customer:
                updated[name] = copy.deepcopy(provided[name])
        workflow = dict(existing.get("Workflow") or {"Status": "NEW"})
        reopened = existing.get("RecordState") == "ARCHIVED" and updated.get("RecordState") == "ACTIVE"
        if reopened and workflow.get("Status") in ("NOTIFIED", "RESOLVED"):
            workflow = {"Status": "NEW"}
        updated["Workflow"] = workflow
        return updated

    def _store(self, bodies: list[dict[str, Any]]) -> None:
        """moto merges an update into the stored finding key by key: a body with every key replaces it."""
        for start in range(0, len(bodies), BATCH_MAX):
            response = self.client.batch_import_findings(Findings=bodies[start : start + BATCH_MAX])
            assert not response["FailedFindings"], response["FailedFindings"]
