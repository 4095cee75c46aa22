# Metrics namespace, dashboard, the report function's schedule, policy and bucket: plan assertions and the
# validations of their variables (make tf-test; the AWS provider is mocked, nothing is created).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  kms_key_arn = null
}

run "defaults" {
  command = plan

  assert {
    condition     = alltrue([for f in aws_lambda_function.this : f.environment[0].variables.METRICS_NAMESPACE == "ECRScanReporter"])
    error_message = "Every function must get METRICS_NAMESPACE (default ECRScanReporter)."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this["report"].policy).Statement : s.Resource if s.Sid == "ReadLedger"]) == ["arn:aws:dynamodb:eu-west-1:123456789012:table/ecr-scan-reporter-ledger"]
    error_message = "The report function may scan the module's ledger table only."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this["report"].policy).Statement : s.Condition if s.Sid == "ReadSuppressions"]) == { "ForAllValues:StringEquals" = { "dynamodb:LeadingKeys" = ["config#suppressions"] } }
    error_message = "The report function may get the suppressions item only, no image record."
  }
  assert {
    condition     = aws_lambda_function.this["report"].environment[0].variables.LEDGER_TABLE_NAME == "ecr-scan-reporter-ledger"
    error_message = "The report function must get the ledger's name."
  }
  assert {
    condition     = aws_lambda_function.this["report"].handler == "ecr_scan_reporter.handlers.report.handler" && aws_lambda_function.this["report"].environment[0].variables.REPORT_BUCKET_NAME == ""
    error_message = "The report function runs handlers.report, with no bucket by default."
  }
  assert {
    condition     = aws_cloudwatch_event_rule.report[0].schedule_expression == "cron(0 6 ? * MON *)" && aws_cloudwatch_event_rule.report[0].name == "ecr-scan-reporter-report"
    error_message = "The report runs weekly by default (Mondays 06:00 UTC)."
  }
  assert {
    condition     = aws_cloudwatch_event_target.this["report"].rule == "ecr-scan-reporter-report" && aws_lambda_permission.events["report"].function_name == "ecr-scan-reporter-report"
    error_message = "The report rule must invoke the report function."
  }
  assert {
    condition     = length(aws_s3_bucket.report) == 0 && length(aws_s3_bucket_policy.report) == 0 && length(aws_s3_bucket_public_access_block.report) == 0
    error_message = "No bucket without report_bucket_name."
  }
  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this["report"].policy).Statement : [s.Sid, s.Action] if s.Sid != "WriteOwnLogs"
      ] == [
      ["ListRepositories", ["ecr:DescribeRepositories"]],
      ["PublishReport", ["sns:Publish"]],
      ["ReportFailedInvocations", ["sqs:SendMessage"]],
      ["ReadLedger", ["dynamodb:Scan"]],
      ["ReadSuppressions", ["dynamodb:GetItem"]],
    ]
    error_message = "Without a bucket the report function may publish, report failures and read the ledger, nothing more (plus its logs)."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this["report"].policy).Statement : s.Resource if s.Sid == "PublishReport"]) == ["arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-notifications"]
    error_message = "The report function may publish to the module's topic only."
  }

  # --- the dashboard ---------------------------------------------------------------------------------------------

  assert {
    condition     = aws_cloudwatch_dashboard.this[0].dashboard_name == "ecr-scan-reporter-eu-west-1"
    error_message = "The dashboard name must carry the region (dashboards are global to the account)."
  }
  assert {
    condition = toset(flatten([
      for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
        for m in try(w.properties.metrics, []) : m[1] if length(m) > 2
      ]
      ])) == toset([
      "RepositoriesQueued", "ImagesConsidered", "ScansStarted", "ScansRefusedByDailyLimit", "ImagesNotScannable",
      "NotificationsHeldBack",
      "FindingsSuppressed", "RepositoriesNotFound", "ReportsNotStored", "SuppressionsNotApplied", "OwnersUndecided",
      "HubReportsNotStored", "SecurityHubExportFailures",
      # The scan budget's figures (the repositories function, once per sweep).
      "ScanBudget", "ScansPlanned", "ScansSpent", "ScansNeededPerDay", "ImagesPushedLastDay", "ScansRefusedByQuota",
      "ImagesInUse", "ImagesNeverScanned", "ImagesPastExpiryInUse", "ImagesPastExpiryNotInUse",
      "InUseImagesPastExpiryPlusOneDay", "InUseScanAgeP50", "InUseScanAgeP95", "InUseScanAgeMax", "ScanAgeP95",
      "QuotaNeededPercent", "AffordableExpiryDays",
      "ApproximateNumberOfMessagesVisible", "Errors", "Throttles",
    ])
    error_message = "The dashboard must graph every plain metric, queue depths and function errors."
  }
  assert {
    condition     = length(regexall("MetricName=\\\\\"(NotificationsSent|ImagesInBreach|RegistryImagesInBreach)\\\\\"", jsonencode(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body)))) == 3
    error_message = "The dashboard must search the metrics that have a second dimension (type, severity)."
  }
  assert {
    condition = toset(flatten([
      for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
        for m in try(w.properties.metrics, []) : m[3] if length(m) > 2 && try(m[0], "") == "AWS/SQS"
      ]
    ])) == toset(["ecr-scan-reporter-work", "ecr-scan-reporter-work-dlq", "ecr-scan-reporter-failed-events"])
    error_message = "The dashboard must show the depth of the three queues."
  }
  assert {
    condition = toset(flatten([
      for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
        for m in try(w.properties.metrics, []) : m[3] if length(m) > 2 && try(m[0], "") == "AWS/Lambda"
      ]
    ])) == toset([for key in ["repositories", "images", "findings", "report"] : "ecr-scan-reporter-${key}"])
    error_message = "The dashboard must show every function's errors."
  }
  assert {
    condition     = alltrue([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.type == "text" || try(w.properties.region, "") == "eu-west-1"])
    error_message = "Every graph must name the module's region."
  }
}

run "switched_off" {
  command = plan

  variables {
    create_dashboard           = false
    report_schedule_expression = null
    metrics_namespace          = "Platform/ECR"
  }

  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 0 && output.dashboard_name == null
    error_message = "create_dashboard = false: no dashboard."
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.report) == 0 && !contains(keys(aws_cloudwatch_event_target.this), "report") && !contains(keys(aws_lambda_permission.events), "report")
    error_message = "report_schedule_expression = null: no report rule, target or permission."
  }
  assert {
    condition     = length(aws_lambda_function.this) == 4
    error_message = "The report function exists without a schedule (it can be invoked)."
  }
  assert {
    condition     = alltrue([for f in aws_lambda_function.this : f.environment[0].variables.METRICS_NAMESPACE == "Platform/ECR"])
    error_message = "metrics_namespace must reach every function."
  }
}

run "report_bucket_with_kms" {
  command = plan

  variables {
    create_report_bucket       = true
    report_bucket_name         = "acme-ecr-reports-eu-west-1"
    kms_key_arn                = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    create_topic_kms_key       = false
    report_schedule_expression = "rate(7 days)"
  }

  assert {
    condition     = aws_s3_bucket.report[0].bucket == "acme-ecr-reports-eu-west-1" && aws_s3_bucket.report[0].force_destroy == false
    error_message = "The bucket must be created with the given name, and destroy must not delete reports by default."
  }
  assert {
    condition = (
      aws_s3_bucket_public_access_block.report[0].block_public_acls && aws_s3_bucket_public_access_block.report[0].block_public_policy &&
      aws_s3_bucket_public_access_block.report[0].ignore_public_acls && aws_s3_bucket_public_access_block.report[0].restrict_public_buckets
    )
    error_message = "Every public access must be blocked."
  }
  assert {
    condition     = aws_s3_bucket_ownership_controls.report[0].rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }
  assert {
    condition = (
      one(aws_s3_bucket_server_side_encryption_configuration.report[0].rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      one(aws_s3_bucket_server_side_encryption_configuration.report[0].rule).apply_server_side_encryption_by_default[0].kms_master_key_id == var.kms_key_arn &&
      one(aws_s3_bucket_server_side_encryption_configuration.report[0].rule).bucket_key_enabled
    )
    error_message = "With kms_key_arn the bucket must be encrypted with that key (bucket key on)."
  }
  assert {
    condition     = aws_s3_bucket_versioning.report[0].versioning_configuration[0].status == "Enabled"
    error_message = "The bucket must be versioned."
  }
  assert {
    condition = (
      aws_s3_bucket_lifecycle_configuration.report[0].rule[0].expiration[0].days == 365 &&
      aws_s3_bucket_lifecycle_configuration.report[0].rule[0].noncurrent_version_expiration[0].noncurrent_days == 30 &&
      aws_s3_bucket_lifecycle_configuration.report[0].rule[0].filter[0].prefix == "exposure-report/" &&
      aws_s3_bucket_lifecycle_configuration.report[0].rule[1].abort_incomplete_multipart_upload[0].days_after_initiation == 7
    )
    error_message = "Reports expire after report_retention_days, replaced versions after 30 days, incomplete uploads after 7."
  }
  assert {
    condition     = aws_lambda_function.this["report"].environment[0].variables.REPORT_BUCKET_NAME == "acme-ecr-reports-eu-west-1"
    error_message = "The report function must get the bucket name."
  }
  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this["report"].policy).Statement : [s.Action, s.Resource] if s.Sid == "WriteReports"
    ] == [[["s3:PutObject"], ["arn:aws:s3:::acme-ecr-reports-eu-west-1/exposure-report/*"]]]
    error_message = "The report function may only put objects under the report prefix."
  }
  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_role_policy.this["report"].policy).Statement :
      s.Action == ["kms:GenerateDataKey"] && s.Resource == [var.kms_key_arn] && try(s.Condition.StringEquals["kms:ViaService"] == "s3.eu-west-1.amazonaws.com", false)
    ])
    error_message = "The report function must be able to use the key that encrypts the bucket, through S3 (PutObject: GenerateDataKey)."
  }
  assert {
    condition     = aws_cloudwatch_event_rule.report[0].schedule_expression == "rate(7 days)"
    error_message = "report_schedule_expression must reach the rule."
  }
}

run "report_bucket_policy_denies_insecure_transport" {
  command = apply # the policy names the bucket's ARN, computed by the (mocked) provider

  variables {
    create_report_bucket        = true
    report_bucket_name          = "acme-ecr-reports"
    report_retention_days       = null
    report_bucket_force_destroy = true
  }

  override_resource {
    target = aws_s3_bucket.report[0]
    values = { arn = "arn:aws:s3:::acme-ecr-reports", id = "acme-ecr-reports" }
  }

  assert {
    condition = [
      for s in jsondecode(aws_s3_bucket_policy.report[0].policy).Statement : [s.Effect, s.Principal, s.Action, s.Condition]
      ] == [
      ["Deny", "*", "s3:*", { Bool = { "aws:SecureTransport" = "false" } }],
      ["Deny", "*", "s3:*", { NumericLessThan = { "s3:TlsVersion" = "1.2" } }],
    ]
    error_message = "The bucket policy must deny every request without TLS, or with TLS older than 1.2."
  }
  assert {
    condition     = alltrue([for s in jsondecode(aws_s3_bucket_policy.report[0].policy).Statement : s.Resource == ["arn:aws:s3:::acme-ecr-reports", "arn:aws:s3:::acme-ecr-reports/*"]])
    error_message = "The policy must cover the bucket and every object."
  }
  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.report[0].rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"
    error_message = "Without kms_key_arn the bucket must use SSE-S3."
  }
  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.report[0].rule[0].expiration) == 0 && aws_s3_bucket.report[0].force_destroy
    error_message = "report_retention_days = null keeps reports; report_bucket_force_destroy reaches the bucket."
  }
  assert {
    condition     = output.report_bucket_name == "acme-ecr-reports" && output.report_bucket_arn == "arn:aws:s3:::acme-ecr-reports"
    error_message = "The bucket outputs must name the bucket."
  }
}

# --- validations ------------------------------------------------------------------------------------------------

run "bad_values_round_1" {
  command = plan
  variables {
    metrics_namespace          = "AWS/ECR" # reserved
    report_schedule_expression = "weekly"  # not an expression
    create_report_bucket       = true
    report_bucket_name         = "Acme-Reports" # upper case
    report_retention_days      = 0              # below 1
  }
  expect_failures = [var.metrics_namespace, var.report_schedule_expression, var.report_bucket_name, var.report_retention_days]
}

run "bad_values_round_2" {
  command = plan
  variables {
    metrics_namespace          = ""             # empty
    report_schedule_expression = "rate(1 week)" # weeks are not a unit
    create_report_bucket       = true
    report_bucket_name         = "ab" # shorter than 3
    report_retention_days      = 3651 # above 3650
  }
  expect_failures = [var.metrics_namespace, var.report_schedule_expression, var.report_bucket_name, var.report_retention_days]
}

run "bad_values_round_3" {
  command = plan
  variables {
    metrics_namespace          = "Team ECR"          # space
    report_schedule_expression = "cron(0 6 * * MON)" # five fields
    create_report_bucket       = true
    report_bucket_name         = "acme..reports" # adjacent dots
    report_retention_days      = 1.5             # not whole
  }
  expect_failures = [var.metrics_namespace, var.report_schedule_expression, var.report_bucket_name, var.report_retention_days]
}

run "bad_values_round_4" {
  command = plan
  variables {
    metrics_namespace          = "x${join("", [for i in range(255) : "y"])}" # 256 characters
    report_schedule_expression = "rate(2 day)"                               # plural required
    create_report_bucket       = true
    report_bucket_name         = "192.168.10.20" # an IP address
  }
  expect_failures = [var.metrics_namespace, var.report_schedule_expression, var.report_bucket_name]
}

run "bad_bucket_names" {
  command = plan
  variables {
    create_report_bucket = true
    report_bucket_name   = "xn--reports" # reserved prefix
  }
  expect_failures = [var.report_bucket_name]
}

run "bad_bucket_suffix" {
  command = plan
  variables {
    create_report_bucket = true
    report_bucket_name   = "reports-s3alias" # reserved suffix
  }
  expect_failures = [var.report_bucket_name]
}

run "bad_bucket_edge" {
  command = plan
  variables {
    create_report_bucket = true
    report_bucket_name   = "-reports" # must begin with a letter or digit
  }
  expect_failures = [var.report_bucket_name]
}

run "valid_edge_values_are_accepted" {
  command = plan
  variables {
    metrics_namespace          = "Team/ECR.scan_reporter#1:prod"
    report_schedule_expression = "rate(1 day)"
    create_report_bucket       = true
    report_bucket_name         = "a.b-c"
    report_retention_days      = 3650
  }
}

run "create_false_creates_no_report_resource" {
  command = plan

  variables {
    create               = false
    create_report_bucket = true
    report_bucket_name   = "acme-ecr-reports"
  }

  assert {
    condition = (
      length(aws_cloudwatch_dashboard.this) == 0 && length(aws_cloudwatch_event_rule.report) == 0 &&
      length(aws_s3_bucket.report) == 0 && length(aws_s3_bucket_policy.report) == 0 &&
      length(aws_s3_bucket_lifecycle_configuration.report) == 0 && !contains(keys(aws_lambda_function.this), "report")
    )
    error_message = "create = false: no dashboard, report rule, bucket or report function."
  }
}

run "report_bucket_name_without_create_report_bucket_is_refused" {
  command = plan
  variables {
    report_bucket_name = "acme-ecr-reports"
  }
  expect_failures = [aws_lambda_function.this]
}

run "create_report_bucket_without_a_name_is_refused" {
  command = plan
  variables {
    create_report_bucket = true
  }
  expect_failures = [aws_lambda_function.this]
}
