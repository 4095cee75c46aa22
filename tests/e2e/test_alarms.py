"""The alarms for lost work, as deployed on the emulators in both regions (shares the session's deployment): each
alarm watches the right metric of the right resource and notifies the module's topic, and that topic is
encrypted with a customer-managed key whose policy lets CloudWatch use it (alarms cannot publish to a topic
under alias/aws/sns). Read back through the CloudWatch, SNS and KMS APIs, never from Terraform's state.

The emulators keep alarms as configured but do not evaluate them against Lambda's or SQS's metrics, so that an
alarm fires is not asserted here; what it watches and whom it tells is.
"""

from __future__ import annotations

import json

import pytest

from e2e.conftest import Deployed
from e2e.pipeline import Pipeline

pytestmark = pytest.mark.e2e

FUNCTIONS = ("repositories", "images", "findings", "report")


def _alarms(pipeline: Pipeline) -> dict[str, dict]:
    """alarm key (as in the alarm_arns output) -> the alarm as CloudWatch describes it."""
    arns = pipeline.outputs["alarm_arns"]
    names = [arn.rsplit(":", 1)[1] for arn in arns.values()]
    described = pipeline.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
    by_arn = {alarm["AlarmArn"]: alarm for alarm in described}
    assert set(by_arn) == set(arns.values()), f"{pipeline.region}: alarm_arns {arns} vs described {sorted(by_arn)}"
    return {key: by_arn[arn] for key, arn in arns.items()}


def _queue_name(pipeline: Pipeline, output: str) -> str:
    return str(pipeline.outputs[output]).rstrip("/").rsplit("/", 1)[1]


@pytest.mark.parametrize("which", ["primary", "secondary"])
def test_alarms_watch_the_pipeline_and_notify_the_topic(deployed: Deployed, which: str) -> None:
    pipeline: Pipeline = getattr(deployed, which)
    alarms = _alarms(pipeline)
    assert set(alarms) == {
        "dead_letter_queue",
        "failed_events_queue",
        *(f"{key}_errors" for key in FUNCTIONS),
        "sweep_missing",
        "report_not_stored",  # the test root writes the report to a bucket
        "suppressions_not_applied",  # and has suppressions
        "in_use_images_stale",  # the default daily_scan_budget
        "owners_undecided",  # and teams
    }

    topic = pipeline.outputs["sns_topic_arn"]
    for key, alarm in alarms.items():
        assert alarm["AlarmActions"] == [topic], f"{key}: alarm actions {alarm['AlarmActions']}"
        assert alarm["OKActions"] == [topic], f"{key}: OK actions {alarm['OKActions']}"
        assert f":{pipeline.region}:" in alarm["AlarmArn"]

    queues = {"dead_letter_queue": "dead_letter_queue_url", "failed_events_queue": "failed_events_queue_url"}
    for key, output in queues.items():
        alarm = alarms[key]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
        )
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": _queue_name(pipeline, output)}]
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)

    for key in FUNCTIONS:
        alarm = alarms[f"{key}_errors"]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": pipeline.function_name(key)}]
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)

    # The module's own metrics (EMF), in its namespace, by the function that emits them.
    own = {
        "report_not_stored": ("ReportsNotStored", "report"),
        "suppressions_not_applied": ("SuppressionsNotApplied", "findings"),
        "in_use_images_stale": ("InUseImagesPastExpiryPlusOneDay", "repositories"),
        "owners_undecided": ("OwnersUndecided", "findings"),
    }
    for key, (metric, function) in own.items():
        alarm = alarms[key]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("ECRScanReporter", metric)
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": pipeline.function_name(function)}]
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)

    # The test root sweeps every minute: no invocation in two 1-minute periods is an alarm.
    sweep = alarms["sweep_missing"]
    assert (sweep["Namespace"], sweep["MetricName"], sweep["Statistic"]) == ("AWS/Lambda", "Invocations", "Sum")
    assert sweep["Dimensions"] == [{"Name": "FunctionName", "Value": pipeline.function_name("repositories")}]
    assert (sweep["Period"], sweep["EvaluationPeriods"]) == (60, 2)
    assert (sweep["ComparisonOperator"], sweep["Threshold"], sweep["TreatMissingData"]) == (
        "LessThanThreshold",
        1,
        "breaching",
    )


@pytest.mark.parametrize("which", ["primary", "secondary"])
def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(deployed: Deployed, which: str) -> None:
    pipeline: Pipeline = getattr(deployed, which)
    topic = pipeline.outputs["sns_topic_arn"]
    key_arn = pipeline.outputs["topic_kms_key_arn"]
    assert key_arn, "the module must create a key for its topic by default"
    assert f":{pipeline.region}:" in key_arn

    attributes = pipeline.client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["KmsMasterKeyId"] == key_arn, "the topic must use the module's key, not alias/aws/sns"

    kms = pipeline.client("kms")
    metadata = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
    assert (metadata["KeyManager"], metadata["KeyState"]) == ("CUSTOMER", "Enabled")
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
    statements = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])["Statement"]
    cloudwatch = [s for s in statements if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"]
    assert len(cloudwatch) == 1, statements
    assert set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}

    policy = json.loads(attributes["Policy"])["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy
    ), "the topic must refuse publishing without TLS"
    assert any(
        s["Effect"] == "Allow" and s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for s in policy
    ), "the topic policy must let the module's alarms publish"
