# The hub's own alarms (create_alarms), notifying the central topic, and its dashboard (create_dashboard).

locals {
  alarms = !var.create_alarms ? {} : {
    org_report_errors = {
      name        = "${var.name_prefix}-org-report-errors"
      description = "The organization report function ${local.names.function} failed (an error or a timeout; the failed invocation was also published to the topic after Lambda's retries). Read its logs (${aws_cloudwatch_log_group.this.name})."
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      statistic   = "Sum"
      missing     = "notBreaching"
    }
    silent_spokes = {
      name        = "${var.name_prefix}-silent-spokes"
      description = "At least one expected spoke has not reported for more than two report periods (${2 * var.spoke_report_period_hours} hours), or never: the organization report names them (silent_spokes). Check the spoke's report function, its HubReportsNotStored alarm and this bucket's policy."
      namespace   = var.metrics_namespace
      metric_name = "SilentSpokes"
      statistic   = "Maximum"
      missing     = "ignore" # one datapoint per report: the state holds until the next report
    }
    org_report_not_stored = {
      name        = "${var.name_prefix}-org-report-not-stored"
      description = "S3 refused to store the organization report in ${var.report_bucket_name} (it was published all the same). Read the function's logs (report_not_stored)."
      namespace   = var.metrics_namespace
      metric_name = "ReportsNotStored"
      statistic   = "Maximum"
      missing     = "ignore"
    }
    org_report_not_published = {
      name        = "${var.name_prefix}-org-report-not-published"
      description = "A destination refused the organization report (the central topic, the chat topic or a team's topic: its policy, its key, the topic gone); the report was stored in ${var.report_bucket_name} first and the other destinations received it. Lambda retries the invocation, which publishes only to the destinations that failed. Read the function's logs (organization_report_not_published: the destination and SNS's error)."
      namespace   = var.metrics_namespace
      metric_name = "OrganizationReportsNotPublished"
      statistic   = "Maximum"
      missing     = "ignore" # one datapoint per invocation: the state holds until the next one
    }
  }

  ns = var.metrics_namespace
  fn = local.names.function
  dashboard_widgets = [
    {
      type = "text", x = 0, y = 0, width = 24, height = 2
      properties = {
        markdown = "## ecr-scan-reporter hub (${var.name_prefix}, ${local.region})\nThe organization report: spokes reporting and silent, the organization's images in breach (namespace `${local.ns}`); a silent spoke needs a look."
      }
    },
    {
      type = "metric", x = 0, y = 2, width = 12, height = 6
      properties = {
        title  = "Spokes reporting and silent"
        region = local.region, view = "timeSeries", stacked = false, stat = "Maximum", period = 3600
        metrics = [
          [local.ns, "SpokesReporting", "FunctionName", local.fn, { label = "SpokesReporting" }],
          [local.ns, "SilentSpokes", "FunctionName", local.fn, { label = "SilentSpokes" }],
        ]
      }
    },
    {
      type = "metric", x = 12, y = 2, width = 12, height = 6
      properties = {
        title   = "Images in breach across the organization, by severity"
        region  = local.region, view = "timeSeries", stacked = false, stat = "Maximum", period = 86400
        metrics = [[{ expression = "SEARCH('{${local.ns},FunctionName,Severity} MetricName=\"OrganizationImagesInBreach\" FunctionName=\"${local.fn}\"', 'Maximum', 86400)", id = "exposed", label = "" }]]
      }
    },
    {
      type = "metric", x = 0, y = 8, width = 12, height = 6
      properties = {
        title  = "Organization reports sent, not stored, not published"
        region = local.region, view = "timeSeries", stacked = false, stat = "Sum", period = 3600
        metrics = [
          [{ expression = "SEARCH('{${local.ns},EventType,FunctionName} MetricName=\"NotificationsSent\" FunctionName=\"${local.fn}\"', 'Sum', 3600)", id = "sent", label = "" }],
          [local.ns, "ReportsNotStored", "FunctionName", local.fn, { label = "ReportsNotStored" }],
          [local.ns, "OrganizationReportsNotPublished", "FunctionName", local.fn, { label = "OrganizationReportsNotPublished" }],
        ]
      }
    },
    {
      type = "metric", x = 12, y = 8, width = 12, height = 6
      properties = {
        title  = "The organization report function: invocations, errors, throttles"
        region = local.region, view = "timeSeries", stacked = false, stat = "Sum", period = 3600
        metrics = [
          for name in ["Invocations", "Errors", "Throttles"] : ["AWS/Lambda", name, "FunctionName", local.fn, { label = name }]
        ]
      }
    },
  ]
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = each.value.name
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = { FunctionName = local.names.function }
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = each.value.missing

  alarm_actions = [aws_sns_topic.this.arn]
  ok_actions    = [aws_sns_topic.this.arn]
  tags          = local.tags

  depends_on = [aws_sns_topic_policy.this]
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  dashboard_name = local.names.dashboard
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
