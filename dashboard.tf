# The CloudWatch dashboard (create_dashboard): the functions' own metrics (Embedded Metric Format, namespace
# var.metrics_namespace, metric names from lambda/ecr_scan_reporter/core/metrics.py), the queues' depths and the
# functions' errors. Dashboards are global to the account: the name carries the region.

locals {
  dashboard_name = "${var.name_prefix}-${local.region}"
  ns             = var.metrics_namespace
  fn             = local.function_names

  # One metric line of the module's namespace: [namespace, name, "FunctionName", function, options].
  own_metric = {
    for pair in [
      ["repositories", "RepositoriesQueued"],
      ["images", "ImagesConsidered"],
      ["images", "ScansStarted"],
      ["images", "ScansRefusedByDailyLimit"],
      ["images", "ImagesNotScannable"],
      ["findings", "NotificationsHeldBack"],
      ["findings", "FindingsSuppressed"],
      ["images", "RepositoriesNotFound"],
      ["report", "ReportsNotStored"],
      ["findings", "SuppressionsNotApplied"],
      ["findings", "OwnersUndecided"],
      ["report", "HubReportsNotStored"],
      ["findings", "SecurityHubExportFailures"],
      # The scan budget (repositories function, once per sweep): lambda/ecr_scan_reporter/sweep/budget.py.
      ["repositories", "ScanBudget"],
      ["repositories", "ScansPlanned"],
      ["repositories", "ScansSpent"],
      ["repositories", "ScansNeededPerDay"],
      ["repositories", "ImagesPushedLastDay"],
      ["repositories", "ScansRefusedByQuota"],
      ["repositories", "QuotaNeededPercent"],
      ["repositories", "AffordableExpiryDays"],
      ["repositories", "ImagesInUse"],
      ["repositories", "ImagesNeverScanned"],
      ["repositories", "ImagesPastExpiryInUse"],
      ["repositories", "ImagesPastExpiryNotInUse"],
      ["repositories", "InUseImagesPastExpiryPlusOneDay"],
      ["repositories", "InUseScanAgeP50"],
      ["repositories", "InUseScanAgeP95"],
      ["repositories", "InUseScanAgeMax"],
      ["repositories", "ScanAgeP95"],
    ] : pair[1] => [local.ns, pair[1], "FunctionName", local.fn[pair[0]], { label = pair[1] }]
  }

  # Metrics with a second dimension are found by a search, so every severity and notification type appears.
  search = {
    notifications    = "SEARCH('{${local.ns},EventType,FunctionName} MetricName=\"NotificationsSent\" FunctionName=(\"${local.fn["findings"]}\" OR \"${local.fn["report"]}\")', 'Sum', 3600)"
    breach_events    = "SEARCH('{${local.ns},FunctionName,Severity} MetricName=\"ImagesInBreach\" FunctionName=\"${local.fn["findings"]}\"', 'Sum', 3600)"
    registry_exposed = "SEARCH('{${local.ns},FunctionName,Severity} MetricName=\"RegistryImagesInBreach\" FunctionName=\"${local.fn["report"]}\"', 'Maximum', 86400)"
    # With teams, the functions also emit these three by Team (a team's name, or unowned for the repositories no team
    # owns) besides the FunctionName every metric carries: one line per team, whatever teams there are.
    team_notifications = "SEARCH('{${local.ns},FunctionName,Team} MetricName=\"NotificationsSent\" FunctionName=\"${local.fn["findings"]}\"', 'Sum', 3600)"
    team_breach_events = "SEARCH('{${local.ns},FunctionName,Team} MetricName=\"ImagesInBreach\" FunctionName=\"${local.fn["findings"]}\"', 'Sum', 3600)"
    team_exposed       = "SEARCH('{${local.ns},FunctionName,Team} MetricName=\"RegistryImagesInBreach\" FunctionName=\"${local.fn["report"]}\"', 'Maximum', 86400)"
  }

  queue_names = {
    "work queue"          = local.names.work_queue
    "dead-letter queue"   = local.names.dead_letter_queue
    "failed-events queue" = local.names.failed_events_queue
  }

  dashboard_widgets = concat(local.dashboard_rows, length(local.teams) == 0 ? [] : local.dashboard_team_row)

  # The teams (teams.tf), below the rest.
  dashboard_team_row = [
    {
      type = "metric", x = 0, y = 26, width = 8, height = 6
      properties = {
        title   = "Teams: notifications sent, by team"
        region  = local.region, view = "timeSeries", stacked = true, stat = "Sum", period = 3600
        metrics = [[{ expression = local.search.team_notifications, id = "team_notifications", label = "" }]]
      }
    },
    {
      type = "metric", x = 8, y = 26, width = 8, height = 6
      properties = {
        title   = "Teams: scan results in breach, by team"
        region  = local.region, view = "timeSeries", stacked = true, stat = "Sum", period = 3600
        metrics = [[{ expression = local.search.team_breach_events, id = "team_breaches", label = "" }]]
      }
    },
    {
      type = "metric", x = 16, y = 26, width = 8, height = 6
      properties = {
        title   = "Teams: images in breach in the registry (exposure report), by team"
        region  = local.region, view = "timeSeries", stacked = false, stat = "Maximum", period = 86400
        metrics = [[{ expression = local.search.team_exposed, id = "team_exposed", label = "" }]]
      }
    },
  ]

  dashboard_rows = [
    {
      type = "text", x = 0, y = 0, width = 24, height = 2
      properties = {
        markdown = "## ecr-scan-reporter (${var.name_prefix}, ${local.region})\nSweep, notifications and exposure from the functions' metrics (namespace `${local.ns}`); queues and function errors from AWS. Messages in the dead-letter or failed-events queue need a look."
      }
    },
    {
      type = "metric", x = 0, y = 2, width = 12, height = 6
      properties = {
        title   = "Sweep: repositories queued, images considered, scans started and refused, artifacts ECR cannot scan"
        region  = local.region, view = "timeSeries", stacked = false, stat = "Sum", period = 3600
        metrics = [for name in ["RepositoriesQueued", "ImagesConsidered", "ScansStarted", "ScansRefusedByDailyLimit", "ImagesNotScannable"] : local.own_metric[name]]
      }
    },
    {
      type = "metric", x = 12, y = 2, width = 12, height = 6
      properties = {
        title   = "Notifications sent, by type"
        region  = local.region, view = "timeSeries", stacked = true, stat = "Sum", period = 3600
        metrics = [[{ expression = local.search.notifications, id = "notifications", label = "" }]]
      }
    },
    {
      type = "metric", x = 0, y = 8, width = 8, height = 6
      properties = {
        title   = "Scan results in breach, by severity"
        region  = local.region, view = "timeSeries", stacked = true, stat = "Sum", period = 3600
        metrics = [[{ expression = local.search.breach_events, id = "breaches", label = "" }]]
      }
    },
    {
      type = "metric", x = 8, y = 8, width = 8, height = 6
      properties = {
        title   = "Images in breach in the registry (exposure report), by severity"
        region  = local.region, view = "timeSeries", stacked = false, stat = "Maximum", period = 86400
        metrics = [[{ expression = local.search.registry_exposed, id = "exposed", label = "" }]]
      }
    },
    {
      type = "metric", x = 16, y = 8, width = 8, height = 6
      properties = {
        title   = "Held back (already notified) and suppressed findings"
        region  = local.region, view = "timeSeries", stacked = false, stat = "Sum", period = 3600
        metrics = [for name in ["NotificationsHeldBack", "FindingsSuppressed"] : local.own_metric[name]]
      }
    },
    {
      type = "metric", x = 0, y = 14, width = 12, height = 6
      properties = {
        title  = "Queue depths (messages visible)"
        region = local.region, view = "timeSeries", stacked = false, stat = "Maximum", period = 300
        metrics = [
          for label, queue in local.queue_names : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue, { label = label }]
        ]
      }
    },
    {
      type = "metric", x = 12, y = 14, width = 12, height = 6
      properties = {
        title  = "Function errors and throttles"
        region = local.region, view = "timeSeries", stacked = false, stat = "Sum", period = 300
        metrics = concat(
          [for key in sort(tolist(local.function_keys)) : ["AWS/Lambda", "Errors", "FunctionName", local.fn[key], { label = "${key} errors" }]],
          [for key in sort(tolist(local.function_keys)) : ["AWS/Lambda", "Throttles", "FunctionName", local.fn[key], { label = "${key} throttles" }]],
        )
      }
    },
    {
      type = "metric", x = 0, y = 20, width = 24, height = 6
      properties = {
        title   = "Handled, but worth a look: repositories gone mid-sweep, reports S3 (or the hub) refused, accepted risks not applied, owners undecided (retried), Security Hub exports failed"
        region  = local.region, view = "timeSeries", stacked = false, stat = "Sum", period = 3600
        metrics = [for name in ["RepositoriesNotFound", "ReportsNotStored", "SuppressionsNotApplied", "OwnersUndecided", "HubReportsNotStored", "SecurityHubExportFailures"] : local.own_metric[name]]
      }
    },
    {
      type = "metric", x = 0, y = 26, width = 8, height = 6
      properties = {
        title   = "Scan budget: today's budget and plan, the last sweep's scans, what the registry needs a day"
        region  = local.region, view = "timeSeries", stacked = false, stat = "Maximum", period = 86400
        metrics = [for name in ["ScanBudget", "ScansPlanned", "ScansSpent", "ScansNeededPerDay", "ImagesPushedLastDay", "ScansRefusedByQuota"] : local.own_metric[name]]
      }
    },
    {
      type = "metric", x = 8, y = 26, width = 8, height = 6
      properties = {
        title   = "Images in use, past expiry (in use or not), never scanned; in use past expiry + 1 day (alarm)"
        region  = local.region, view = "timeSeries", stacked = false, stat = "Maximum", period = 86400
        metrics = [for name in ["ImagesInUse", "ImagesNeverScanned", "ImagesPastExpiryInUse", "ImagesPastExpiryNotInUse", "InUseImagesPastExpiryPlusOneDay"] : local.own_metric[name]]
      }
    },
    {
      type = "metric", x = 16, y = 26, width = 8, height = 6
      properties = {
        title   = "Scan age (days): in-use p50, p95, max; all images p95; quota needed (%), affordable expiry (days)"
        region  = local.region, view = "timeSeries", stacked = false, stat = "Maximum", period = 86400
        metrics = [for name in ["InUseScanAgeP50", "InUseScanAgeP95", "InUseScanAgeMax", "ScanAgeP95", "QuotaNeededPercent", "AffordableExpiryDays"] : local.own_metric[name]]
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create && var.create_dashboard ? 1 : 0

  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
