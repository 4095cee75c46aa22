# Alerts (alerts.tf and its variables), asserted offline: `terraform test` (make tf-test). Suppressions in the
# ledger table with their hash in the environment, the chat topic, the Inspector2 Finding buffer, least privilege,
# and every bad value of the new variables refused at plan time.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  chat_arn  = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-chat"
  queue_arn = "arn:aws:sqs:eu-west-1:123456789012:ecr-scan-reporter-inspector-findings"
  rule_arn  = "arn:aws:events:eu-west-1:123456789012:rule/ecr-scan-reporter-inspector2-finding"
}

run "defaults" {
  command = plan

  assert {
    condition     = length(aws_dynamodb_table_item.suppressions) == 0 && aws_lambda_function.this["findings"].environment[0].variables.SUPPRESSIONS_SHA256 == ""
    error_message = "Without suppressions there is no item to read and no hash in the environment."
  }
  assert {
    condition     = aws_lambda_function.this["findings"].environment[0].variables.FINDINGS_IN_NOTIFICATION == "10"
    error_message = "Notifications list 10 findings by default."
  }
  assert {
    condition     = length(aws_sns_topic.chat) == 0 && length(aws_sns_topic_policy.chat) == 0 && output.chat_topic_arn == null && aws_lambda_function.this["findings"].environment[0].variables.CHAT_TOPIC_ARN == ""
    error_message = "No chat topic unless create_chat_topic."
  }
  assert {
    condition     = !strcontains(aws_iam_role_policy.this["findings"].policy, "NotifyChat")
    error_message = "Without a chat topic the findings function may not publish to one."
  }

  # enable_inspector_events (default true) covers Inspector2 Finding events through a buffer queue.
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.inspector_finding[0].event_pattern) == {
      source        = ["aws.inspector2"]
      "detail-type" = ["Inspector2 Finding"]
      detail        = { resources = { type = ["AWS_ECR_CONTAINER_IMAGE"] } }
    }
    error_message = "The Inspector2 Finding rule must match finding events about ECR images only."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.inspector_findings[0].maximum_batching_window_in_seconds == 60 && aws_lambda_event_source_mapping.inspector_findings[0].batch_size == 1000 && contains(aws_lambda_event_source_mapping.inspector_findings[0].function_response_types, "ReportBatchItemFailures")
    error_message = "Finding events reach the function in batches (60 s window, up to 1,000), failures reported per message."
  }
  assert {
    condition     = aws_sqs_queue.inspector_findings[0].visibility_timeout_seconds >= 6 * aws_lambda_function.this["findings"].timeout
    error_message = "The buffer's visibility timeout must be at least six times the function's timeout."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.inspector_findings[0].redrive_policy).deadLetterTargetArn == "arn:aws:sqs:eu-west-1:123456789012:ecr-scan-reporter-inspector-findings-dlq"
    error_message = "Finding events that keep failing must be dead-lettered."
  }
  assert {
    condition = anytrue([
      for s in jsondecode(aws_sqs_queue_policy.inspector_findings[0].policy).Statement :
      try(s.Principal == { Service = "events.amazonaws.com" } && s.Condition.ArnEquals["aws:SourceArn"] == var.rule_arn, false)
    ])
    error_message = "Only the module's rule may send to the buffer queue."
  }
  assert {
    condition = contains(flatten([
      for s in jsondecode(aws_sqs_queue_policy.failed_events[0].policy).Statement : try(s.Condition.ArnEquals["aws:SourceArn"], [])
    ]), var.rule_arn)
    error_message = "The finding rule's undeliverable events must be allowed into the failed-events queue."
  }

  # Least privilege: ListFindings on "*" (no resource type exists), the buffer queue only.
  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement :
      try(s.Action == ["inspector2:ListFindings"] && s.Resource == ["*"], false)
    ])
    error_message = "The findings function reads Inspector's findings (ListFindings has no resource type: *)."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement :
      s.Resource == [var.queue_arn] if s.Sid == "ConsumeInspectorFindingEvents"
    ])
    error_message = "The findings function consumes the buffer queue and nothing else with that statement."
  }
  assert {
    condition = alltrue([
      for key in ["repositories", "images"] : !strcontains(aws_iam_role_policy.this[key].policy, "inspector2:")
    ])
    error_message = "Only the findings function may read Inspector's findings."
  }
}

run "inspector_events_off" {
  command = plan

  variables {
    enable_inspector_events = false
  }

  assert {
    condition = (
      length(aws_cloudwatch_event_rule.inspector_finding) == 0 && length(aws_sqs_queue.inspector_findings) == 0 &&
      length(aws_lambda_event_source_mapping.inspector_findings) == 0 && output.inspector_findings_queue_url == null
    )
    error_message = "Without enable_inspector_events there is no finding rule, buffer or mapping."
  }
  assert {
    condition     = !strcontains(aws_iam_role_policy.this["findings"].policy, "inspector2:") && !strcontains(aws_sqs_queue_policy.failed_events[0].policy, "inspector2-finding")
    error_message = "Without enable_inspector_events the function may not read Inspector's findings."
  }
}

run "three_hundred_suppressions_and_a_chat_topic" {
  command = plan

  variables {
    create_chat_topic        = true
    findings_in_notification = 50
    suppressions = [
      for i in range(300) : {
        vulnerability_id = format("CVE-2024-%05d", i)
        repository_regex = i % 2 == 0 ? "^team-${i}/" : null
        expires          = "2027-12-31"
        reason           = "Accepted by the security team after review ${i}: the vulnerable code path is not reachable in this image."
      }
    ]
  }

  assert {
    condition     = length(jsondecode(jsondecode(aws_dynamodb_table_item.suppressions[0].item).document.S)) == 300
    error_message = "All 300 suppressions must be stored in the ledger item."
  }
  assert {
    condition = (
      jsondecode(aws_dynamodb_table_item.suppressions[0].item).pk.S == "config#suppressions" &&
      aws_dynamodb_table_item.suppressions[0].table_name == "ecr-scan-reporter-ledger"
    )
    error_message = "The suppressions item must live in the ledger under a config# key (skipped by image readers)."
  }
  assert {
    condition = (
      aws_lambda_function.this["findings"].environment[0].variables.SUPPRESSIONS_SHA256 == sha256(jsondecode(aws_dynamodb_table_item.suppressions[0].item).document.S) &&
      jsondecode(aws_dynamodb_table_item.suppressions[0].item).sha256.S == aws_lambda_function.this["findings"].environment[0].variables.SUPPRESSIONS_SHA256
    )
    error_message = "The environment must carry the SHA-256 of the stored document (a change reaches warm functions)."
  }
  assert {
    condition     = aws_lambda_function.this["findings"].environment[0].variables.FINDINGS_IN_NOTIFICATION == "50"
    error_message = "findings_in_notification must reach the function."
  }
  assert {
    condition     = aws_sns_topic.chat[0].name == "ecr-scan-reporter-chat" && aws_sns_topic.chat[0].kms_master_key_id == "alias/aws/sns"
    error_message = "The chat topic is <prefix>-chat, encrypted like the notification topic."
  }
  assert {
    # The same statement as the notification topic's (one local), on the chat topic.
    condition = jsondecode(aws_sns_topic_policy.chat[0].policy).Statement == [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "sns:Publish"
      Resource  = var.chat_arn
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }] && contains(jsondecode(aws_sns_topic_policy.this[0].policy).Statement, merge(jsondecode(aws_sns_topic_policy.chat[0].policy).Statement[0], { Resource = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-notifications" }))
    error_message = "The chat topic's policy must deny publishing without TLS, with the notification topic's statement."
  }
  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement :
      try(s.Action == ["sns:Publish"] && s.Resource == [var.chat_arn], false)
    ])
    error_message = "The findings function may publish to the chat topic."
  }
}

# Lambda's 4 KB limit (names and values of all variables together), with 300 suppressions and the longest names the
# module allows: the suppressions add one 64-character hash to the environment, whatever their number.
run "environment_size_with_300_suppressions" {
  command = plan

  variables {
    name_prefix       = "abcdefghijklmnopqrstuvwxyz012345"
    sns_topic_arn     = "arn:aws:sns:eu-west-1:123456789012:${join("", [for i in range(256) : "t"])}"
    create_sns_topic  = false
    create_chat_topic = true
    suppressions = [
      for i in range(300) : {
        vulnerability_id = format("CVE-2024-%05d", i)
        repository_regex = "^team-${i}/"
        expires          = "2027-12-31"
        reason           = "Accepted by the security team after review ${i}: the vulnerable code path is not reachable in this image."
      }
    ]
  }

  assert {
    condition     = sum([for k, v in aws_lambda_function.this["findings"].environment[0].variables : length(k) + length(v)]) < 4096
    error_message = "With 300 suppressions the findings function's environment must stay under Lambda's 4 KB."
  }
  assert {
    condition     = length(aws_lambda_function.this["findings"].environment[0].variables.SUPPRESSIONS_SHA256) == 64
    error_message = "The suppressions take one SHA-256 in the environment."
  }
}

run "empty_regex_means_every_repository" {
  command = plan

  variables {
    suppressions = [{ vulnerability_id = " CVE-2024-1 ", repository_regex = "", expires = "2026-02-28", reason = " ok " }]
  }

  assert {
    condition = jsondecode(jsondecode(aws_dynamodb_table_item.suppressions[0].item).document.S) == [
      { vulnerability_id = "CVE-2024-1", repository_regex = null, expires = "2026-02-28", reason = "ok" }
    ]
    error_message = "Entries are stored trimmed, an empty regex as null (every repository)."
  }
}

# The document the findings function reads and hashes: the same text, character for character, that Python's
# suppressions.document renders for these entries (tests/unit/alerts/test_suppressions.py reads the same file).
run "suppressions_document_is_the_one_python_renders" {
  command = plan

  variables {
    suppressions = jsondecode(file("tests/unit/fixtures/suppressions_document.json")).suppressions
  }

  assert {
    condition     = jsondecode(aws_dynamodb_table_item.suppressions[0].item).document.S == jsondecode(file("tests/unit/fixtures/suppressions_document.json")).document
    error_message = "The stored document must be exactly the fixture's (what Python renders and hashes for the same entries)."
  }
  assert {
    condition = (
      jsondecode(aws_dynamodb_table_item.suppressions[0].item).sha256.S == jsondecode(file("tests/unit/fixtures/suppressions_document.json")).sha256 &&
      aws_lambda_function.this["findings"].environment[0].variables.SUPPRESSIONS_SHA256 == jsondecode(file("tests/unit/fixtures/suppressions_document.json")).sha256
    )
    error_message = "The stored and the environment's hash must be the fixture's."
  }
}

run "suppression_without_repository_regex_or_with_null_is_accepted" {
  command = plan
  variables {
    suppressions = [
      { vulnerability_id = "CVE-2024-1", expires = "2026-01-01", reason = "r" },
      { vulnerability_id = "ALAS2-2024-2401", repository_regex = null, expires = "2026-01-01", reason = "r" },
    ]
  }
  assert {
    condition     = [for s in jsondecode(jsondecode(aws_dynamodb_table_item.suppressions[0].item).document.S) : s.repository_regex] == [null, null]
    error_message = "Without repository_regex (or null) an entry applies to every repository."
  }
}

# --- bad values: every validation of the new variables fails on its own bad value -----------------------------------

# A misspelt key used to be dropped by the object type: `repository` instead of `repository_regex` made the entry
# one for every repository. Unknown keys are refused, naming the accepted ones.
run "bad_suppression_misspelt_repository_regex" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1", repository = "^team/sandbox$", expires = "2026-01-01", reason = "r" }]
  }
  expect_failures = [var.suppressions]
}

run "bad_suppression_extra_key_beside_the_right_ones" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1", repository_regex = "^team/", expires = "2026-01-01", expiry = "2027-01-01", reason = "r" }]
  }
  expect_failures = [var.suppressions]
}

run "bad_suppression_misspelt_expires" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1", expire = "2026-01-01", reason = "r" }]
  }
  expect_failures = [var.suppressions]
}

run "bad_suppression_missing_reason_key" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1", expires = "2026-01-01" }]
  }
  expect_failures = [var.suppressions]
}

run "bad_suppression_null_vulnerability_id" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = null, expires = "2026-01-01", reason = "r" }]
  }
  expect_failures = [var.suppressions]
}

# Ids are compared for equality: a pattern would pass the plan and never match a finding.
run "bad_suppression_wildcard_id" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-*", expires = "2026-01-01", reason = "r" }]
  }
  expect_failures = [var.suppressions]
}

run "bad_suppression_single_character_wildcard_id" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-123?", expires = "2026-01-01", reason = "r" }]
  }
  expect_failures = [var.suppressions]
}

run "bad_suppression_character_class_id" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-[0-9]", expires = "2026-01-01", reason = "r" }]
  }
  expect_failures = [var.suppressions]
}

run "suppression_ids_of_every_scanner_are_accepted" {
  command = plan
  variables {
    suppressions = [for id in ["CVE-2024-1234", "GHSA-jfh8-c2jp-5v3q", "ALAS2-2024-2401", "RHSA-2024:1234", "DSA-5678-1", "cve-2023-4911"] : { vulnerability_id = id, expires = "2026-01-01", reason = "r" }]
  }
  assert {
    condition     = jsondecode(aws_dynamodb_table_item.suppressions[0].item).count.N == "6"
    error_message = "Ids with dashes, colons and lower case are plain ids, not patterns."
  }
}

run "bad_findings_in_notification_high" {
  command = plan
  variables {
    findings_in_notification = 51
  }
  expect_failures = [var.findings_in_notification]
}

run "bad_findings_in_notification_negative" {
  command = plan
  variables {
    findings_in_notification = -1
  }
  expect_failures = [var.findings_in_notification]
}

run "bad_findings_in_notification_fraction" {
  command = plan
  variables {
    findings_in_notification = 2.5
  }
  expect_failures = [var.findings_in_notification]
}

run "bad_suppression_empty_id" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "  ", expires = "2026-01-01", reason = "r" }]
  }
  expect_failures = [var.suppressions]
}

run "bad_suppression_id_with_spaces" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1 CVE-2024-2", expires = "2026-01-01", reason = "r" }]
  }
  expect_failures = [var.suppressions]
}

run "bad_suppression_date_format" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1", expires = "31/12/2026", reason = "r" }]
  }
  expect_failures = [var.suppressions]
}

run "bad_suppression_date_not_real" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1", expires = "2026-02-30", reason = "r" }]
  }
  expect_failures = [var.suppressions]
}

run "bad_suppression_month_13" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1", expires = "2026-13-01", reason = "r" }]
  }
  expect_failures = [var.suppressions]
}

run "bad_suppression_no_reason" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1", expires = "2026-01-01", reason = " " }]
  }
  expect_failures = [var.suppressions]
}

run "bad_suppression_regex" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1", repository_regex = "team-(a", expires = "2026-01-01", reason = "r" }]
  }
  expect_failures = [var.suppressions]
}

run "bad_suppression_regex_re2_only" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1", repository_regex = "^[[:alpha:]]+$", expires = "2026-01-01", reason = "r" }]
  }
  expect_failures = [var.suppressions]
}

run "bad_suppressions_too_large" {
  command = plan
  variables {
    suppressions = [for i in range(400) : { vulnerability_id = "CVE-${i}", expires = "2026-01-01", reason = join("", [for j in range(1000) : "x"]) }]
  }
  expect_failures = [var.suppressions]
}

run "leap_day_is_a_real_date" {
  command = plan
  variables {
    suppressions = [{ vulnerability_id = "CVE-2024-1", expires = "2028-02-29", reason = "r" }]
  }
  assert {
    condition     = length(aws_dynamodb_table_item.suppressions) == 1
    error_message = "2028-02-29 is a real date."
  }
}
