# The alarms for lost work and the topic they notify: `terraform test` (make tf-test), offline with a mocked provider.
# Alarm names, metrics, dimensions and actions are known at plan time (built from names); runs that look at values
# AWS would compute (the created key's ARN) use `command = apply`, which with the mock provider creates nothing.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  topic = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-notifications"
}

run "default_alarms_notify_the_module_topic" {
  command = apply

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.this)) == toset(["dead_letter_queue", "failed_events_queue", "repositories_errors", "images_errors", "findings_errors", "report_errors", "sweep_missing", "in_use_images_stale"])
    error_message = "Expected alarms on both queues, on each function's errors, on the sweep and on stale in-use images, got ${jsonencode(keys(aws_cloudwatch_metric_alarm.this))}."
  }
  assert {
    condition     = alltrue([for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_actions == toset([var.topic]) && alarm.ok_actions == toset([var.topic])])
    error_message = "Every alarm must notify the module's topic on ALARM and on OK."
  }
  assert {
    condition     = alltrue([for alarm in aws_cloudwatch_metric_alarm.this : startswith(alarm.alarm_name, "ecr-scan-reporter-") && alarm.tags["terraform-module"] == "ecr-scan-reporter"])
    error_message = "Alarm names carry the prefix (the topic policy admits ecr-scan-reporter-* alarms) and the module's tag."
  }

  # --- queues ---------------------------------------------------------------------------------------------------
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["dead_letter_queue"].namespace == "AWS/SQS" &&
      aws_cloudwatch_metric_alarm.this["dead_letter_queue"].metric_name == "ApproximateNumberOfMessagesVisible" &&
      aws_cloudwatch_metric_alarm.this["dead_letter_queue"].dimensions == tomap({ QueueName = "ecr-scan-reporter-work-dlq" }) &&
      aws_cloudwatch_metric_alarm.this["failed_events_queue"].dimensions == tomap({ QueueName = "ecr-scan-reporter-failed-events" })
    )
    error_message = "The queue alarms must watch the visible messages of the dead-letter and failed-events queues."
  }
  assert {
    condition = alltrue([
      for key in ["dead_letter_queue", "failed_events_queue"] :
      aws_cloudwatch_metric_alarm.this[key].comparison_operator == "GreaterThanThreshold" && aws_cloudwatch_metric_alarm.this[key].threshold == 0 &&
      aws_cloudwatch_metric_alarm.this[key].statistic == "Maximum" && aws_cloudwatch_metric_alarm.this[key].treat_missing_data == "ignore"
    ])
    error_message = "A queue alarm fires on one message and keeps its state when SQS stops sending metrics for an idle queue."
  }

  # --- functions ------------------------------------------------------------------------------------------------
  assert {
    condition = alltrue([
      for key in ["repositories", "images", "findings"] :
      aws_cloudwatch_metric_alarm.this["${key}_errors"].namespace == "AWS/Lambda" &&
      aws_cloudwatch_metric_alarm.this["${key}_errors"].metric_name == "Errors" &&
      aws_cloudwatch_metric_alarm.this["${key}_errors"].dimensions == tomap({ FunctionName = "ecr-scan-reporter-${key}" }) &&
      aws_cloudwatch_metric_alarm.this["${key}_errors"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.this["${key}_errors"].treat_missing_data == "notBreaching"
    ])
    error_message = "Each function's Errors must be alarmed, on the function's own name."
  }

  # --- the sweep: rate(1 day) => no invocation for 48 hours -----------------------------------------------------
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["sweep_missing"].metric_name == "Invocations" &&
      aws_cloudwatch_metric_alarm.this["sweep_missing"].dimensions == tomap({ FunctionName = "ecr-scan-reporter-repositories" }) &&
      aws_cloudwatch_metric_alarm.this["sweep_missing"].period == 3600 &&
      aws_cloudwatch_metric_alarm.this["sweep_missing"].evaluation_periods == 48 &&
      aws_cloudwatch_metric_alarm.this["sweep_missing"].comparison_operator == "LessThanThreshold" &&
      aws_cloudwatch_metric_alarm.this["sweep_missing"].threshold == 1 &&
      aws_cloudwatch_metric_alarm.this["sweep_missing"].treat_missing_data == "breaching"
    )
    error_message = "The sweep alarm must fire after 48 hours (twice rate(1 day)) without an invocation of the repositories function."
  }

  # --- the topic: a customer-managed key CloudWatch may use, a policy letting the alarms in -----------------------
  assert {
    condition     = length(aws_kms_key.topic) == 1 && aws_sns_topic.this[0].kms_master_key_id == aws_kms_key.topic[0].arn
    error_message = "Alarms cannot publish to a topic under alias/aws/sns: the default topic must use the module's own key."
  }
  assert {
    condition     = aws_kms_key.topic[0].enable_key_rotation && aws_kms_alias.topic[0].name == "alias/ecr-scan-reporter-notifications"
    error_message = "The topic key rotates and has an alias naming the deployment."
  }
  assert {
    condition = anytrue([
      for statement in jsondecode(aws_kms_key.topic[0].policy).Statement :
      try(statement.Effect == "Allow" && statement.Principal.Service == "cloudwatch.amazonaws.com" &&
        toset(statement.Action) == toset(["kms:Decrypt", "kms:GenerateDataKey*"]) &&
      statement.Condition.StringEquals["aws:SourceAccount"] == "123456789012", false)
    ])
    error_message = "The key policy must let this account's CloudWatch alarms use the key (kms:Decrypt, kms:GenerateDataKey*)."
  }
  assert {
    condition = anytrue([
      for statement in jsondecode(aws_kms_key.topic[0].policy).Statement :
      try(statement.Effect == "Allow" && statement.Principal.AWS == ["arn:aws:iam::123456789012:role/ecr-scan-reporter-eu-west-1-findings", "arn:aws:iam::123456789012:role/ecr-scan-reporter-eu-west-1-report"] &&
      statement.Condition.StringEquals["kms:ViaService"] == "sns.eu-west-1.amazonaws.com", false)
    ])
    error_message = "The key policy must let the publishing functions (findings, report) use the key through SNS only."
  }
  assert {
    condition = alltrue([
      for statement in jsondecode(aws_kms_key.topic[0].policy).Statement :
      length(setintersection(toset(statement.Action), toset(["kms:*", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]))) == 0
      if try(statement.Principal.AWS, "") == "arn:aws:iam::123456789012:root"
    ])
    error_message = "The account administers the key but gets no data use from the key policy."
  }
  assert {
    condition = anytrue([
      for statement in jsondecode(aws_sns_topic_policy.this[0].policy).Statement :
      try(statement.Effect == "Allow" && statement.Principal.Service == "cloudwatch.amazonaws.com" && statement.Action == "sns:Publish" &&
      statement.Condition.ArnLike["aws:SourceArn"] == "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:ecr-scan-reporter-*", false)
    ])
    error_message = "The topic policy must let the module's alarms publish."
  }
  assert {
    condition = anytrue([
      for statement in jsondecode(aws_sns_topic_policy.this[0].policy).Statement :
      try(statement.Effect == "Deny" && statement.Principal == "*" && statement.Action == "sns:Publish" && statement.Condition.Bool["aws:SecureTransport"] == "false", false)
    ])
    error_message = "The topic policy must deny publishing without TLS."
  }
  assert {
    condition     = output.alarm_arns == { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.arn } && output.topic_kms_key_arn == aws_kms_key.topic[0].arn
    error_message = "alarm_arns must map every alarm to its ARN; topic_kms_key_arn the created key."
  }
}

run "alarms_to_a_given_topic" {
  command = plan

  variables {
    alarm_topic_arn         = "arn:aws:sns:eu-west-1:210987654321:central-alarms"
    alarms_notify_sns_topic = false
  }

  assert {
    condition     = alltrue([for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_actions == toset([var.alarm_topic_arn]) && alarm.ok_actions == toset([var.alarm_topic_arn])])
    error_message = "With alarm_topic_arn every alarm must notify it."
  }
  assert {
    condition     = length(aws_kms_key.topic) == 0 && aws_sns_topic.this[0].kms_master_key_id == "alias/aws/sns"
    error_message = "Alarms elsewhere: the notification topic keeps alias/aws/sns, no key is created."
  }
  assert {
    condition     = [for statement in jsondecode(aws_sns_topic_policy.this[0].policy).Statement : statement.Sid] == ["DenyInsecureTransport"]
    error_message = "Alarms elsewhere: the topic policy only denies non-TLS publishing."
  }
}

run "alarms_to_the_given_notification_topic" {
  command = plan

  variables {
    sns_topic_arn    = "arn:aws:sns:eu-west-1:123456789012:security-alerts"
    create_sns_topic = false
  }

  assert {
    condition     = alltrue([for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_actions == toset([var.sns_topic_arn])])
    error_message = "With sns_topic_arn the alarms notify that topic."
  }
  assert {
    condition     = length(aws_kms_key.topic) == 0 && length(aws_sns_topic.this) == 0 && length(aws_sns_topic_policy.this) == 0
    error_message = "With sns_topic_arn the module creates no topic, topic policy or key."
  }
}

run "alarms_with_the_customer_key" {
  command = plan

  variables {
    kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    create_topic_kms_key = false
  }

  assert {
    condition     = length(aws_kms_key.topic) == 0 && aws_sns_topic.this[0].kms_master_key_id == var.kms_key_arn
    error_message = "With kms_key_arn the topic uses it (its policy must let CloudWatch use it) and no key is created."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 8
    error_message = "With kms_key_arn the alarms are still created."
  }
}

run "no_alarms" {
  command = plan

  variables {
    create_alarms = false
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0 && length(aws_kms_key.topic) == 0 && length(aws_kms_alias.topic) == 0
    error_message = "create_alarms = false: no alarm and no key."
  }
  assert {
    condition     = aws_sns_topic.this[0].kms_master_key_id == "alias/aws/sns" && length(aws_sns_topic_policy.this) == 1
    error_message = "create_alarms = false: the topic keeps alias/aws/sns and its TLS-only policy."
  }
}

# --- the sweep alarm's window per schedule -------------------------------------------------------------------------

run "sweep_every_minute" {
  command = plan
  variables {
    schedule_expression = "rate(1 minute)"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["sweep_missing"].period == 60 && aws_cloudwatch_metric_alarm.this["sweep_missing"].evaluation_periods == 2
    error_message = "rate(1 minute): two 1-minute periods."
  }
}

run "sweep_every_12_hours" {
  command = plan
  variables {
    schedule_expression = "rate(12 hours)"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["sweep_missing"].period == 60 && aws_cloudwatch_metric_alarm.this["sweep_missing"].evaluation_periods == 1440
    error_message = "rate(12 hours): 24 hours of 1-minute periods (CloudWatch's limit for periods under an hour)."
  }
}

run "sweep_every_3_days" {
  command = plan
  variables {
    schedule_expression = "rate(3 days)"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["sweep_missing"].period == 3600 && aws_cloudwatch_metric_alarm.this["sweep_missing"].evaluation_periods == 144
    error_message = "rate(3 days): 144 hours, within CloudWatch's 7-day limit."
  }
}

run "sweep_every_4_days_cannot_be_alarmed" {
  command = plan
  variables {
    schedule_expression = "rate(4 days)"
  }
  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.this), "sweep_missing") && length(aws_cloudwatch_metric_alarm.this) == 7
    error_message = "rate(4 days): 8 days exceed CloudWatch's 7-day evaluation limit, no sweep alarm (the other alarms stay)."
  }
}

run "sweep_daily_cron" {
  command = plan
  variables {
    schedule_expression = "cron(0 5 * * ? *)"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["sweep_missing"].period == 3600 && aws_cloudwatch_metric_alarm.this["sweep_missing"].evaluation_periods == 48
    error_message = "cron(0 5 * * ? *) fires daily: 48 hours."
  }
}

run "sweep_cron_office_hours" {
  command = plan
  variables {
    # Every 15 minutes from 08:00 to 17:45: the longest gap is 17:45 -> 08:00, 14 h 15 min; twice that is 28.5 h.
    schedule_expression = "cron(0/15 8-17 * * ? *)"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["sweep_missing"].period == 3600 && aws_cloudwatch_metric_alarm.this["sweep_missing"].evaluation_periods == 29
    error_message = "cron(0/15 8-17 * * ? *): 29 hours (28.5 rounded up)."
  }
}

run "sweep_cron_lists" {
  command = plan
  variables {
    # 01:00, 01:30, 13:00, 13:30: the longest gap is 13:30 -> 01:00, 11.5 h; twice that is 23 h.
    schedule_expression = "cron(0,30 1,13 * * ? *)"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["sweep_missing"].period == 60 && aws_cloudwatch_metric_alarm.this["sweep_missing"].evaluation_periods == 1380
    error_message = "cron(0,30 1,13 * * ? *): 23 hours of 1-minute periods."
  }
}

run "sweep_weekday_cron" {
  command = plan
  variables {
    # Weekdays at 06:00: the longest gap is Friday -> Monday, 3 days; twice that is 6 days (144 hours).
    schedule_expression = "cron(0 6 ? * MON-FRI *)"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["sweep_missing"].period == 3600 && aws_cloudwatch_metric_alarm.this["sweep_missing"].evaluation_periods == 144
    error_message = "cron(0 6 ? * MON-FRI *): 144 hours."
  }
}

run "sweep_weekday_numbers_and_lists" {
  command = plan
  variables {
    # Sunday (1) and Wednesday (4) at 00:00 and 12:00: the longest gap is Wednesday 12:00 -> Sunday 00:00, 3.5 days.
    schedule_expression = "cron(0 0,12 ? * 1,4 *)"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["sweep_missing"].period == 3600 && aws_cloudwatch_metric_alarm.this["sweep_missing"].evaluation_periods == 168
    error_message = "cron(0 0,12 ? * 1,4 *): 7 days, CloudWatch's limit exactly."
  }
}

run "sweep_weekly_cron_is_not_alarmed" {
  command = plan
  variables {
    schedule_expression = "cron(0 6 ? * MON *)"
  }
  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.this), "sweep_missing") && length(aws_cloudwatch_metric_alarm.this) == 7
    error_message = "A weekly cron (14 days) exceeds CloudWatch's 7-day limit: no sweep alarm."
  }
}

run "sweep_day_of_month_cron_is_not_alarmed" {
  command = plan
  variables {
    schedule_expression = "cron(0 6 1,15 * ? *)"
  }
  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.this), "sweep_missing") && length(aws_cloudwatch_metric_alarm.this) == 7
    error_message = "A cron on days of the month has gaps that vary with the month: no sweep alarm."
  }
}

# --- bad input -----------------------------------------------------------------------------------------------------

run "alarm_topic_arn_bad_shape" {
  command = plan
  variables {
    alarm_topic_arn         = "arn:aws:sns:eu-west-1:123456789012:alarms.fifo"
    alarms_notify_sns_topic = false
  }
  expect_failures = [var.alarm_topic_arn]
}

run "alarm_topic_arn_not_an_arn" {
  command = plan
  variables {
    alarm_topic_arn         = "ops-alarms"
    alarms_notify_sns_topic = false
  }
  expect_failures = [var.alarm_topic_arn]
}

run "alarm_topic_arn_other_region" {
  command = plan
  variables {
    alarm_topic_arn         = "arn:aws:sns:us-east-1:123456789012:ops-alarms"
    alarms_notify_sns_topic = false
  }
  expect_failures = [aws_cloudwatch_metric_alarm.this]
}

run "alarm_topic_arn_other_partition" {
  command = plan
  variables {
    alarm_topic_arn         = "arn:aws-cn:sns:eu-west-1:123456789012:ops-alarms"
    alarms_notify_sns_topic = false
  }
  expect_failures = [aws_cloudwatch_metric_alarm.this]
}

run "alarm_topic_without_alarms_warns" {
  command = plan
  variables {
    create_alarms           = false
    alarm_topic_arn         = "arn:aws:sns:eu-west-1:123456789012:ops-alarms"
    alarms_notify_sns_topic = false
  }
  expect_failures = [check.alarm_topic_without_alarms]
}

run "alarms_on_the_modules_own_metrics" {
  command = plan

  variables {
    create_report_bucket = true
    report_bucket_name   = "acme-ecr-reports"
    metrics_namespace    = "Acme/ECRScans"
    suppressions         = [{ vulnerability_id = "CVE-2024-1234", expires = "2099-01-01", reason = "not reachable" }]
  }

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.this)) == toset(["dead_letter_queue", "failed_events_queue", "repositories_errors", "images_errors", "findings_errors", "report_errors", "sweep_missing", "in_use_images_stale", "report_not_stored", "suppressions_not_applied"])
    error_message = "With a report bucket and suppressions, a report not stored and suppressions not applied are alarms too, got ${jsonencode(keys(aws_cloudwatch_metric_alarm.this))}."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["report_not_stored"].namespace == "Acme/ECRScans" &&
      aws_cloudwatch_metric_alarm.this["report_not_stored"].metric_name == "ReportsNotStored" &&
      aws_cloudwatch_metric_alarm.this["report_not_stored"].dimensions == tomap({ FunctionName = "ecr-scan-reporter-report" }) &&
      aws_cloudwatch_metric_alarm.this["report_not_stored"].statistic == "Maximum" &&
      aws_cloudwatch_metric_alarm.this["report_not_stored"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.this["report_not_stored"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.this["report_not_stored"].treat_missing_data == "ignore"
    )
    error_message = "report_not_stored watches the report function's ReportsNotStored in the module's namespace, and holds its state between weekly reports."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["suppressions_not_applied"].namespace == "Acme/ECRScans" &&
      aws_cloudwatch_metric_alarm.this["suppressions_not_applied"].metric_name == "SuppressionsNotApplied" &&
      aws_cloudwatch_metric_alarm.this["suppressions_not_applied"].dimensions == tomap({ FunctionName = "ecr-scan-reporter-findings" }) &&
      aws_cloudwatch_metric_alarm.this["suppressions_not_applied"].statistic == "Sum" &&
      aws_cloudwatch_metric_alarm.this["suppressions_not_applied"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.this["suppressions_not_applied"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.this["suppressions_not_applied"].treat_missing_data == "notBreaching"
    )
    error_message = "suppressions_not_applied watches the findings function's SuppressionsNotApplied in the module's namespace."
  }
}

run "in_use_images_stale_alarm_follows_the_scan_budget" {
  command = plan

  variables {
    metrics_namespace = "Acme/ECRScans"
    scan_expiry_days  = 14
    in_use_days       = 45
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["in_use_images_stale"].namespace == "Acme/ECRScans" &&
      aws_cloudwatch_metric_alarm.this["in_use_images_stale"].metric_name == "InUseImagesPastExpiryPlusOneDay" &&
      aws_cloudwatch_metric_alarm.this["in_use_images_stale"].dimensions == tomap({ FunctionName = "ecr-scan-reporter-repositories" }) &&
      aws_cloudwatch_metric_alarm.this["in_use_images_stale"].statistic == "Maximum" &&
      aws_cloudwatch_metric_alarm.this["in_use_images_stale"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.this["in_use_images_stale"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.this["in_use_images_stale"].treat_missing_data == "ignore"
    )
    error_message = "in_use_images_stale fires on one in-use image unscanned for the expiry + 1 day (the repositories function's metric), and holds its state between sweeps."
  }
  assert {
    condition     = strcontains(aws_cloudwatch_metric_alarm.this["in_use_images_stale"].alarm_description, "(15 days)") && strcontains(aws_cloudwatch_metric_alarm.this["in_use_images_stale"].alarm_description, "within 45 days")
    error_message = "The description names the window (scan_expiry_days + 1) and what in use means."
  }
}

run "no_scan_budget_no_stale_in_use_alarm" {
  command = plan

  variables {
    daily_scan_budget = null
  }

  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.this), "in_use_images_stale") && length(aws_cloudwatch_metric_alarm.this) == 7
    error_message = "Without a scan budget the repositories function counts no staleness: no alarm on it."
  }
}

run "owners_undecided_alarm_with_teams" {
  command = plan

  variables {
    metrics_namespace = "Acme/ECRScans"
    teams             = [{ name = "payments", repository_regex = "^payments/" }]
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["owners_undecided"].alarm_name == "ecr-scan-reporter-owners-undecided" &&
      aws_cloudwatch_metric_alarm.this["owners_undecided"].namespace == "Acme/ECRScans" &&
      aws_cloudwatch_metric_alarm.this["owners_undecided"].metric_name == "OwnersUndecided" &&
      aws_cloudwatch_metric_alarm.this["owners_undecided"].dimensions == tomap({ FunctionName = "ecr-scan-reporter-findings" }) &&
      aws_cloudwatch_metric_alarm.this["owners_undecided"].statistic == "Sum" &&
      aws_cloudwatch_metric_alarm.this["owners_undecided"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.this["owners_undecided"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.this["owners_undecided"].treat_missing_data == "notBreaching"
    )
    error_message = "owners_undecided watches the findings function's OwnersUndecided (results retried because their owner could not be decided) in the module's namespace."
  }
}

run "no_teams_no_owners_undecided_alarm" {
  command = plan

  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.this), "owners_undecided")
    error_message = "Without teams every result goes to the module's topic: no owner to decide, no alarm."
  }
}
