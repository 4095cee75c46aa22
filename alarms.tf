# CloudWatch alarms for lost work (create_alarms): messages waiting in the dead-letter and failed-events queues,
# errors of each function, the sweep not running, a report not stored, suppressions not applied and owners undecided. They notify the notification topic (or alarm_topic_arn, with
# alarms_notify_sns_topic = false) on ALARM and again when back to OK. Why the default topic gets its own KMS key: kms.tf.

locals {
  alarm_topic_arn = var.alarms_notify_sns_topic ? local.topic_policy_arn : var.alarm_topic_arn
  # The module's own topic receives the alarms: it then needs a key CloudWatch may use and a policy letting it in.
  # Booleans only: alarm_topic_arn may be a topic created in the same configuration, unknown at plan time.
  alarms_notify_module_topic = var.create_alarms && var.alarms_notify_sns_topic && local.create_topic
  # Every alarm of this deployment, for the topic policy's aws:SourceArn condition.
  alarm_arn_pattern = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name_prefix}-*"

  # --- the schedule's period, where it can be computed soundly --------------------------------------------------
  # rate(N unit): N units. cron(...): only a schedule that repeats every day (day-of-month, month, day-of-week and
  # year all "*" or "?") or every week (day-of-month "?", month and year "*", days of the week as numbers 1-7 or
  # SUN-SAT), whose fields are numbers, lists, ranges and steps: its period is then the longest gap between two
  # consecutive firings of the day or week (wrapping to the next). Anything else (a day of the month, L, W, #)
  # gets no sweep alarm: its gaps vary with the month and are not computed here.
  rate_parts = try(regex("^rate\\(([0-9]+) (minute|hour|day)s?\\)$", var.schedule_expression), null)
  rate_period_seconds = local.rate_parts == null ? null : (
    tonumber(local.rate_parts[0]) * { minute = 60, hour = 3600, day = 86400 }[local.rate_parts[1]]
  )

  cron_fields = try(regex("^cron\\(([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+)\\)$", var.schedule_expression), null)
  cron_every_day = local.cron_fields == null ? false : (
    contains(["*", "?"], local.cron_fields[2]) && local.cron_fields[3] == "*" &&
    contains(["*", "?"], local.cron_fields[4]) && local.cron_fields[5] == "*"
  )
  cron_weekly = local.cron_fields == null || local.cron_every_day ? false : (
    local.cron_fields[2] == "?" && local.cron_fields[3] == "*" && local.cron_fields[5] == "*"
  )
  # Day-of-week names as EventBridge numbers them (SUN = 1).
  cron_days_field = local.cron_weekly ? replace(replace(replace(replace(replace(replace(replace(
    upper(local.cron_fields[4]), "SUN", "1"), "MON", "2"), "TUE", "3"), "WED", "4"), "THU", "5"), "FRI", "6"), "SAT", "7"
  ) : "1"
  # minute / hour / day => the sorted values the field selects, or null when it is not in the supported subset.
  cron_values = {
    for unit, field in {
      minute = { text = try(local.cron_fields[0], ""), min = 0, max = 59 }
      hour   = { text = try(local.cron_fields[1], ""), min = 0, max = 23 }
      day    = { text = local.cron_days_field, min = 1, max = 7 }
      } : unit => try(
      [for value in sort(distinct(flatten([
        for token in split(",", field.text) : [
          for parts in [regex("^(?:(\\*)|([0-9]+)(?:-([0-9]+))?)(?:/([1-9][0-9]*))?$", token)] : [
            # Zero-padded so that sort(), which compares strings, orders them as numbers.
            for value in range(
              parts[0] != null ? field.min : tonumber(parts[1]),
              (parts[0] != null ? field.max : parts[2] != null ? tonumber(parts[2]) : parts[3] != null ? field.max : tonumber(parts[1])) + 1,
              parts[3] != null ? tonumber(parts[3]) : 1,
            ) : format("%04d", value)
          ]
        ]
      ]))) : tonumber(value) if tonumber(value) >= field.min && tonumber(value) <= field.max],
      null,
    ) if local.cron_every_day || local.cron_weekly
  }
  # Firing times as minutes of the cycle (a day, or a week from Sunday 00:00), sorted.
  cron_cycle_minutes = local.cron_weekly ? 7 * 1440 : 1440
  cron_times = try(
    [for text in sort(flatten([
      for day in local.cron_values.day : [
        for hour in local.cron_values.hour : [
          for minute in local.cron_values.minute : format("%05d", (day - 1) * 1440 + hour * 60 + minute)
        ]
      ]
    ])) : tonumber(text)],
    [],
  )
  cron_period_seconds = length(local.cron_times) == 0 ? null : 60 * max([
    for index, time in local.cron_times :
    (index + 1 < length(local.cron_times) ? local.cron_times[index + 1] : local.cron_times[0] + local.cron_cycle_minutes) - time
  ]...)

  schedule_period_seconds = coalesce(local.rate_period_seconds, local.cron_period_seconds, -1)
  # The alarm fires after twice the period without an invocation. CloudWatch evaluates at most 1 day of periods
  # shorter than an hour and at most 7 days of longer ones: 1-minute periods up to a day, then 1-hour periods.
  sweep_window_seconds = 2 * local.schedule_period_seconds
  sweep_alarm_period   = local.sweep_window_seconds <= 86400 ? 60 : 3600
  sweep_alarm_periods  = ceil(local.sweep_window_seconds / local.sweep_alarm_period)
  sweep_alarm_possible = local.schedule_period_seconds > 0 && local.sweep_alarm_periods * local.sweep_alarm_period <= 604800

  # --- the alarms -----------------------------------------------------------------------------------------------
  queue_alarms = {
    dead_letter_queue = {
      queue       = local.names.dead_letter_queue
      description = "Repositories whose sweep failed ${var.max_receive_count} times are waiting in ${local.names.dead_letter_queue}: their images are not being rescanned. Read the messages and the images function's logs, fix the cause, then redrive the messages to ${local.names.work_queue}."
    }
    failed_events_queue = {
      queue       = local.names.failed_events_queue
      description = "Invocations of the repositories or findings function failed after Lambda's retries, or EventBridge could not deliver an event: they are waiting in ${local.names.failed_events_queue} (a sweep did not run, or a scan result was never reported). Read the messages and the functions' logs."
    }
  }

  alarms = !var.create || !var.create_alarms ? {} : merge(
    {
      for key, alarm in local.queue_alarms : key => {
        name        = "${var.name_prefix}-${replace(key, "_", "-")}-messages"
        description = alarm.description
        namespace   = "AWS/SQS"
        metric_name = "ApproximateNumberOfMessagesVisible"
        dimensions  = { QueueName = alarm.queue }
        statistic   = "Maximum"
        period      = 300
        periods     = 1
        comparison  = "GreaterThanThreshold"
        threshold   = 0
        # SQS stops sending metrics for a queue nobody has called for 6 hours, even with messages in it: missing
        # data keeps the alarm's state instead of declaring the messages gone.
        missing = "ignore"
      }
    },
    {
      for key in sort(tolist(local.function_keys)) : "${key}_errors" => {
        name        = "${var.name_prefix}-${key}-errors"
        description = "The ${local.function_names[key]} function failed (an error or a timeout). Read its CloudWatch logs (${aws_cloudwatch_log_group.this[key].name})."
        namespace   = "AWS/Lambda"
        metric_name = "Errors"
        dimensions  = { FunctionName = local.function_names[key] }
        statistic   = "Sum"
        period      = 300
        periods     = 1
        comparison  = "GreaterThanThreshold"
        threshold   = 0
        missing     = "notBreaching" # no invocation, no error
      }
    },
    # The module's own metrics (Embedded Metric Format, core/metrics.py) for what fails without failing the
    # function: a report S3 refused to store (published all the same), suppressions not applied (every finding
    # counted). Each only where it can happen: a report bucket, a suppressions list.
    !local.report_bucket ? {} : {
      report_not_stored = {
        name        = "${var.name_prefix}-report-not-stored"
        description = "S3 refused to store the exposure report in ${coalesce(var.report_bucket_name, "-")} (it was published to the topic all the same). Read the report function's logs (report_not_stored: the key and S3's error code), fix the bucket's policy or the key's grants; the next report clears the alarm."
        namespace   = var.metrics_namespace
        metric_name = "ReportsNotStored"
        dimensions  = { FunctionName = local.function_names["report"] }
        statistic   = "Maximum"
        period      = 300
        periods     = 1
        comparison  = "GreaterThanThreshold"
        threshold   = 0
        missing     = "ignore" # one datapoint per report: the state holds until the next report says 0
      }
    },
    !local.hub_report ? {} : {
      hub_report_not_stored = {
        name        = "${var.name_prefix}-hub-report-not-stored"
        description = "The organization hub's bucket ${coalesce(var.hub_report_bucket_name, "-")} refused the exposure report (it was stored locally and published all the same). Read the report function's logs (hub_report_not_stored: the key and S3's error code): the hub's bucket policy (prefix ${local.hub_report_prefix}), its key policy (hub_kms_key_arn) or this account's membership of the organization; the next report clears the alarm."
        namespace   = var.metrics_namespace
        metric_name = "HubReportsNotStored"
        dimensions  = { FunctionName = local.function_names["report"] }
        statistic   = "Maximum"
        period      = 300
        periods     = 1
        comparison  = "GreaterThanThreshold"
        threshold   = 0
        missing     = "ignore" # one datapoint per report: the state holds until the next report says 0
      }
    },
    length(local.suppressions) == 0 ? {} : {
      suppressions_not_applied = {
        name        = "${var.name_prefix}-suppressions-not-applied"
        description = "The findings function applied no accepted risk: the stored suppressions could not be read or are not the version it was deployed with (every finding counted, so more alerts than usual). Read its logs (suppressions_version_mismatch, suppressions_unavailable); during a deployment this settles by itself, otherwise the config#suppressions item was changed outside Terraform: apply again."
        namespace   = var.metrics_namespace
        metric_name = "SuppressionsNotApplied"
        dimensions  = { FunctionName = local.function_names["findings"] }
        statistic   = "Sum"
        period      = 300
        periods     = 1
        comparison  = "GreaterThanThreshold"
        threshold   = 0
        missing     = "notBreaching" # no evaluation, nothing missed
      }
    },
    # Teams (docs/teams.md): results whose owner could not be decided are retried, never sent as if unowned.
    length(local.teams) == 0 ? {} : {
      owners_undecided = {
        name        = "${var.name_prefix}-owners-undecided"
        description = "The findings function could not decide who owns some scan results and retried them instead of alerting anyone: the stored teams are not the version it was deployed with, or ECR throttled or refused ecr:ListTagsForResource. Read its logs (owner_undecided: reason and hint). During a deployment or a burst this settles by itself; tags_denied needs the permission, then a redrive of the failed-events queue (a batch of Inspector findings: the inspector-findings dead-letter queue); a teams item changed outside Terraform needs an apply."
        namespace   = var.metrics_namespace
        metric_name = "OwnersUndecided"
        dimensions  = { FunctionName = local.function_names["findings"] }
        statistic   = "Sum"
        period      = 300
        periods     = 1
        comparison  = "GreaterThanThreshold"
        threshold   = 0
        missing     = "notBreaching" # no result, nothing undecided
      }
    },
    # The scan budget (daily_scan_budget): in-use images whose last scan is older than the expiry + 1 day, as the
    # repositories function counts them once per sweep from the sweep markers.
    var.daily_scan_budget == null ? {} : {
      in_use_images_stale = {
        name        = "${var.name_prefix}-in-use-images-stale"
        description = "In-use images (pulled within ${local.in_use_days} days) have gone unscanned for more than scan_expiry_days + 1 day (${var.scan_expiry_days + 1} days): the daily scan budget (${coalesce(var.daily_scan_budget, 0)}) or ECR's registry quota did not reach them. Read the repositories function's scan_budget_planned log line (the plan by class, the headroom) and the dashboard's scan budget panels; raise daily_scan_budget, lengthen scan_expiry_days or find what else uses the quota."
        namespace   = var.metrics_namespace
        metric_name = "InUseImagesPastExpiryPlusOneDay"
        dimensions  = { FunctionName = local.function_names["repositories"] }
        statistic   = "Maximum"
        period      = 300
        periods     = 1
        comparison  = "GreaterThanThreshold"
        threshold   = 0
        missing     = "ignore" # one datapoint per sweep: the state holds until the next sweep says 0
      }
    },
    !local.sweep_alarm_possible ? {} : {
      sweep_missing = {
        name        = "${var.name_prefix}-sweep-missing"
        description = "The repositories function was not invoked for ${local.sweep_alarm_periods} ${local.sweep_alarm_period == 60 ? "minutes" : "hours"}, twice the period of its schedule (${var.schedule_expression}): images are not being rescanned. Check the ${local.names.schedule_rule} rule, its target and the failed-events queue. (After a fresh apply this alarm is in ALARM until the first scheduled sweep.)"
        namespace   = "AWS/Lambda"
        metric_name = "Invocations"
        dimensions  = { FunctionName = local.function_names["repositories"] }
        statistic   = "Sum"
        period      = local.sweep_alarm_period
        periods     = local.sweep_alarm_periods
        comparison  = "LessThanThreshold"
        threshold   = 1
        missing     = "breaching" # Lambda sends no Invocations datapoint when nothing invoked it
      }
    },
  )
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = each.value.name
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = each.value.periods
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  treat_missing_data  = each.value.missing

  alarm_actions = [local.alarm_topic_arn]
  ok_actions    = [local.alarm_topic_arn]

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.alarms_notify_sns_topic || var.alarm_topic_arn != null
      error_message = "alarms_notify_sns_topic is false but alarm_topic_arn is null: give the topic the alarms notify as alarm_topic_arn, or set alarms_notify_sns_topic = true to notify the notification topic."
    }
    precondition {
      condition     = !var.alarms_notify_sns_topic || var.alarm_topic_arn == null
      error_message = "alarm_topic_arn ${coalesce(var.alarm_topic_arn, "-")} is given but alarms_notify_sns_topic is true (the default): set alarms_notify_sns_topic = false to notify that topic, or remove alarm_topic_arn."
    }
    precondition {
      # The topic the alarms notify, whichever it is (alarm_topic_arn, or a notification topic of another region
      # given with allow_external_sns_topic). Unknown until applied when created in the same configuration.
      condition = local.alarm_topic_arn == null || try(
        split(":", local.alarm_topic_arn)[1] == local.partition && split(":", local.alarm_topic_arn)[3] == local.region, false
      )
      error_message = "The alarms would notify ${coalesce(local.alarm_topic_arn, "-")}, which must be in this deployment's partition and region (${local.partition}, ${local.region}): CloudWatch alarms notify topics of their own region only. Give alarm_topic_arn (with alarms_notify_sns_topic = false) in this region, or set create_alarms = false."
    }
  }

  # The alarms notify as soon as they exist: the topic's policy (and key) must let them.
  depends_on = [aws_sns_topic_policy.this]
}

# Not an error (toggling the alarms off for a while keeps the rest of the configuration), but worth a warning.
check "alarm_topic_without_alarms" {
  assert {
    condition     = var.create_alarms || var.alarms_notify_sns_topic
    error_message = "alarms_notify_sns_topic is false (the alarms notify alarm_topic_arn) but create_alarms is false: no alarm is created, nothing will notify ${coalesce(var.alarm_topic_arn, "-")}."
  }
}
