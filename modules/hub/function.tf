# The organization report: on a schedule, one function (the root module's zip, handler handlers/org_report.py)
# reads every spoke's <account>/<region>/latest.json, merges them (report/org.py), writes the organization
# report's JSON and HTML under organization-report/, then publishes it once a period to the central topic, the chat
# topic and each team's topic (markers under organization-report/published/, report/org_delivery.py).

locals {
  # The root module's zip: this folder is modules/hub of the same repository (a git source fetches it whole).
  lambda_zip = "${path.module}/../../lambda/dist/ecr-scan-reporter.zip"

  environment = {
    SNS_TOPIC_ARN             = local.arns.topic
    REPORT_BUCKET_NAME        = var.report_bucket_name
    EXPECTED_SPOKES           = join(",", var.expected_spokes)
    SPOKE_REPORT_PERIOD_HOURS = tostring(var.spoke_report_period_hours)
    CHAT_TOPIC_ARN            = var.create_chat_topic ? local.arns.chat_topic : ""
    # Each team's own organization-wide report goes to TEAM_TOPIC_ARN_PREFIX + its name (both empty: no teams).
    TEAM_NAMES            = join(",", local.team_names)
    TEAM_TOPIC_ARN_PREFIX = length(local.team_names) > 0 ? local.team_topic_arn_prefix : ""
    METRICS_NAMESPACE     = var.metrics_namespace
    LOG_LEVEL             = var.log_level
  }
  # What Lambda counts against its 4 KB: every name and value.
  environment_bytes = sum(concat([0], [for name, value in local.environment : length(name) + length(value)]))

  # The teams' topics, <name_prefix>-<team> in the hub's account and region: the function publishes each team's
  # report there, and may publish to exactly those topics.
  team_names            = [for team in local.teams : team.name] # teams.tf: the organization's teams
  team_topic_arn_prefix = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${var.name_prefix}-"
  team_topic_arns       = [for name in local.team_names : "${local.team_topic_arn_prefix}${name}"]
  application_log_level = { DEBUG = "DEBUG", INFO = "INFO", WARNING = "WARN", ERROR = "ERROR" }[var.log_level]

  policy_statements = concat(
    [
      {
        # The account prefixes, then each account's region prefixes (ListObjectsV2 with a delimiter).
        Sid      = "ListSpokes"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = [local.arns.bucket]
      },
      {
        Sid      = "ReadSpokeReports"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = ["${local.arns.bucket}/*/latest.json"]
      },
      {
        # Which destinations a period's report already reached (report/org_delivery.py: HeadObject of its markers).
        Sid      = "ReadPublicationMarkers"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = ["${local.arns.bucket}/${local.org_report_prefix}published/*"]
      },
      {
        Sid      = "WriteOrganizationReport"
        Effect   = "Allow"
        Action   = ["s3:PutObject"]
        Resource = ["${local.arns.bucket}/${local.org_report_prefix}*"]
      },
      {
        # The report, and (the function's on-failure destination) a failed invocation.
        Sid      = "Publish"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = concat([local.arns.topic], var.create_chat_topic ? [local.arns.chat_topic] : [])
      },
      {
        Sid      = "UseHubKeyThroughS3AndSNS"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = [aws_kms_key.this.arn]
        Condition = { StringEquals = { "kms:ViaService" = [
          "s3.${local.region}.${local.dns_suffix}", "sns.${local.region}.${local.dns_suffix}",
        ] } }
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${local.arns.log_group}:*"]
      },
    ],
    # Each team's organization-wide report, on its topic: exactly the teams' topics, no wildcard.
    length(local.team_names) == 0 ? [] : [{
      Sid      = "PublishTeamReports"
      Effect   = "Allow"
      Action   = ["sns:Publish"]
      Resource = local.team_topic_arns
    }],
    # tracing_mode = "Active": X-Ray's write actions support no resource-level permission ("*" only).
    var.tracing_mode != "Active" ? [] : [{
      Sid      = "WriteTraces"
      Effect   = "Allow"
      Action   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
      Resource = ["*"]
    }],
  )
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is log_retention_days (default 30 days): operational logs; the reports themselves are in the bucket.
  #checkov:skip=CKV_AWS_158:Operational logs of one function, encrypted by CloudWatch Logs; the reports are under the hub's key.
  name              = "/aws/lambda/${local.names.function}"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

resource "aws_iam_role" "this" {
  name        = local.names.role
  description = "Execution role of the ecr-scan-reporter organization report (${var.name_prefix}, ${local.region})."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = local.tags

  lifecycle {
    precondition {
      condition     = length(local.names.role) <= 64
      error_message = "The IAM role name ${local.names.role} is longer than IAM's 64 characters: shorten name_prefix."
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "least-privilege"
  role   = aws_iam_role.this.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.policy_statements })
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Asynchronously invoked: a failed invocation goes to the central topic (on-failure destination), where people read it.
  #checkov:skip=CKV_AWS_117:The function only calls AWS APIs (S3, SNS).
  #checkov:skip=CKV_AWS_115:One scheduled invocation a period.
  #checkov:skip=CKV_AWS_272:The module's own zip, pinned by source_code_hash.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (names, ARNs, account ids).
  function_name    = local.names.function
  description      = "ecr-scan-reporter hub: merges the spokes' latest exposure reports into the organization report."
  role             = aws_iam_role.this.arn
  filename         = local.lambda_zip
  source_code_hash = filebase64sha256(local.lambda_zip)
  handler          = "ecr_scan_reporter.handlers.org_report.handler"
  runtime          = var.lambda_runtime
  architectures    = [var.lambda_architecture]
  timeout          = 300
  memory_size      = 512

  environment {
    variables = local.environment
  }

  # X-Ray: PassThrough (Lambda's default) or Active, tracing_mode.
  tracing_config {
    mode = var.tracing_mode
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this.name
    application_log_level = local.application_log_level
    system_log_level      = "INFO"
  }

  tags       = local.tags
  depends_on = [aws_iam_role_policy.this]

  lifecycle {
    precondition {
      # Lambda's 4 KB limit on the whole environment: about 140 spokes of 25 characters.
      condition     = length(local.environment.EXPECTED_SPOKES) <= 3500
      error_message = "expected_spokes is ${length(local.environment.EXPECTED_SPOKES)} characters joined, over the 3,500 that fit the function's environment (Lambda's 4 KB): list fewer (a spoke not listed is still counted when it reports)."
    }
    precondition {
      condition     = local.environment_bytes <= 4096
      error_message = "The organization report function's environment takes ${local.environment_bytes} bytes, over Lambda's 4 KB: expected_spokes takes ${length(local.environment.EXPECTED_SPOKES)} characters joined and the teams' names ${length(local.environment.TEAM_NAMES)}; list fewer expected spokes (a spoke not listed is still counted when it reports)."
    }
  }
}

resource "aws_cloudwatch_event_rule" "this" {
  name                = local.names.rule
  description         = "Builds the ecr-scan-reporter organization report (${var.name_prefix})."
  schedule_expression = var.report_schedule_expression
  tags                = local.tags
}

resource "aws_cloudwatch_event_target" "this" {
  rule = aws_cloudwatch_event_rule.this.name
  arn  = aws_lambda_function.this.arn
}

resource "aws_lambda_permission" "events" {
  statement_id  = "AllowEventBridge"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this.arn
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600

  # After Lambda's retries, the failed invocation is published to the central topic: its subscribers see it.
  destination_config {
    on_failure {
      destination = aws_sns_topic.this.arn
    }
  }

  depends_on = [aws_iam_role_policy.this]
}
