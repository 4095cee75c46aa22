# The four functions, their log groups, the SQS event source mapping, invoke permissions and async configuration.

locals {
  lambda_zip = "${path.module}/lambda/dist/ecr-scan-reporter.zip"

  function_keys = toset(["repositories", "images", "findings", "report"])
  # The functions (and their roles, policies, log groups) this deployment creates: none with create = false.
  created_functions = var.create ? local.function_keys : toset([])
  function_names    = { for key in local.function_keys : key => "${var.name_prefix}-${key}" }

  # The functions' LOG_LEVEL spelled as Lambda's JSON-log filter spells it (WARNING is WARN there).
  application_log_level = { DEBUG = "DEBUG", INFO = "INFO", WARNING = "WARN", ERROR = "ERROR" }[var.log_level]

  # The scan budget (docs/budget.md): "in use" defaults to the deprecated pull filter's window, else 30 days.
  in_use_days       = coalesce(var.in_use_days, var.only_images_pulled_within_days, 30)
  daily_scan_budget = var.daily_scan_budget == null ? "" : tostring(var.daily_scan_budget)

  # Handlers and environment per docs/DESIGN.md; variable names and forms per lambda/ecr_scan_reporter/core/config.py.
  functions = {
    repositories = {
      description = "ecr-scan-reporter: lists the ECR repositories to sweep and queues one work message per repository."
      handler     = "ecr_scan_reporter.handlers.repositories.handler"
      timeout     = 300
      memory_size = 256 # the default of each function; lambda_memory_size overrides it
      environment = tomap({
        QUEUE_URL                = one(aws_sqs_queue.work[*].url)
        REPOSITORY_INCLUDE_REGEX = var.repository_include_regex
        REPOSITORY_EXCLUDE_REGEX = var.repository_exclude_regex == null ? "" : var.repository_exclude_regex
        LEDGER_TABLE_NAME        = one(aws_dynamodb_table.ledger[*].name)
        DAILY_SCAN_BUDGET        = local.daily_scan_budget
        SCAN_EXPIRY_DAYS         = tostring(var.scan_expiry_days)
        LOG_LEVEL                = var.log_level
      })
    }
    images = {
      description = "ecr-scan-reporter: rescans the images of one repository whose scan is missing or expired."
      handler     = "ecr_scan_reporter.handlers.images.handler"
      timeout     = var.images_timeout_seconds
      memory_size = 256
      environment = tomap({
        QUEUE_URL                      = one(aws_sqs_queue.work[*].url)
        SCAN_EXPIRY_DAYS               = tostring(var.scan_expiry_days)
        ONLY_IMAGES_PULLED_WITHIN_DAYS = var.only_images_pulled_within_days == null ? "" : tostring(var.only_images_pulled_within_days)
        MAX_IMAGES_PER_REPOSITORY      = var.max_images_per_repository == null ? "" : tostring(var.max_images_per_repository)
        IN_USE_DAYS                    = tostring(local.in_use_days)
        DAILY_SCAN_BUDGET              = local.daily_scan_budget
        LEDGER_TABLE_NAME              = one(aws_dynamodb_table.ledger[*].name)
        LOG_LEVEL                      = var.log_level
      })
    }
    findings = {
      description = "ecr-scan-reporter: turns a finished image scan into a notification when findings cross the thresholds."
      handler     = "ecr_scan_reporter.handlers.findings.handler"
      timeout     = 60
      memory_size = 256
      environment = tomap({
        SNS_TOPIC_ARN            = local.topic_policy_arn # built from names: the plan shows it
        SEVERITY_THRESHOLDS      = local.severity_thresholds_json
        NOTIFY_ON_SCAN_FAILURE   = tostring(var.notify_on_scan_failure)
        REPOSITORY_INCLUDE_REGEX = var.repository_include_regex
        REPOSITORY_EXCLUDE_REGEX = var.repository_exclude_regex == null ? "" : var.repository_exclude_regex
        LEDGER_TABLE_NAME        = one(aws_dynamodb_table.ledger[*].name)
        NOTIFY_ON                = var.notify_on
        NOTIFY_ON_RESOLVED       = tostring(var.notify_on_resolved)
        RENOTIFY_AFTER_DAYS      = var.renotify_after_days == null ? "never" : tostring(var.renotify_after_days)
        SCAN_EXPIRY_DAYS         = tostring(var.scan_expiry_days)
        FINDINGS_IN_NOTIFICATION = tostring(var.findings_in_notification)
        SUPPRESSIONS_SHA256      = local.suppressions_sha256
        CHAT_TOPIC_ARN           = local.chat_topic_arn
        TEAMS_SHA256             = local.teams_sha256 # teams.tf: the teams item of the ledger table
        TEAM_TAG_CACHE_SECONDS   = tostring(var.team_tag_cache_seconds)
        SECURITY_HUB_PRODUCT_ARN = local.securityhub_environment
        LOG_LEVEL                = var.log_level
      })
    }
    report = {
      description = "ecr-scan-reporter: builds the exposure report from the scan ledger and publishes it."
      handler     = "ecr_scan_reporter.handlers.report.handler"
      timeout     = 300
      memory_size = 512
      environment = tomap({
        SNS_TOPIC_ARN          = local.topic_arn
        SEVERITY_THRESHOLDS    = local.severity_thresholds_json
        SCAN_EXPIRY_DAYS       = tostring(var.scan_expiry_days)
        REPORT_BUCKET_NAME     = local.report_bucket ? var.report_bucket_name : ""
        LEDGER_TABLE_NAME      = one(aws_dynamodb_table.ledger[*].name)
        SUPPRESSIONS_SHA256    = local.suppressions_sha256
        TEAMS_SHA256           = local.teams_sha256
        TEAM_TAG_CACHE_SECONDS = tostring(var.team_tag_cache_seconds)
        LOG_LEVEL              = var.log_level
        # hub_report.tf: a spoke of an organization hub also writes there.
        HUB_REPORT_BUCKET_NAME = local.hub_report ? var.hub_report_bucket_name : ""
        HUB_REPORT_PREFIX      = local.hub_report ? local.hub_report_prefix : ""
        HUB_REPORT_KMS_KEY_ARN = local.hub_report ? var.hub_kms_key_arn : ""
      })
    }
  }

  # Every function: the namespace of its Embedded Metric Format lines.
  common_environment = { METRICS_NAMESPACE = var.metrics_namespace }

  # Invoked asynchronously (EventBridge): failed invocations go to the failed-events queue after Lambda's retries.
  async_functions = var.create ? toset(["repositories", "findings", "report"]) : toset([])
}

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.created_functions
  #checkov:skip=CKV_AWS_338:Retention is log_retention_days (default 30 days, any of CloudWatch's values up to 10 years): operational logs, not an audit trail; the scan results themselves live in ECR and Inspector.

  # Created before the function (which names it in logging_config), so Lambda never creates it without retention.
  name              = "/aws/lambda/${local.function_names[each.key]}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

resource "aws_lambda_function" "this" {
  for_each = { for key, function in local.functions : key => function if var.create }
  #checkov:skip=CKV_AWS_116:No Lambda DLQ by design: the asynchronously invoked functions send failed events to the failed-events queue through on-failure destinations (richer records than a DLQ), the images function's messages are dead-lettered by the work queue's redrive policy; both queues are alarmed.
  #checkov:skip=CKV_AWS_117:The functions only call AWS APIs (ECR, SQS, SNS) and reach nothing in a VPC; a VPC would add NAT or interface endpoints and no protection.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is opt-in (reserved_concurrent_executions): reserving fails in accounts at the default limit of 10, and the sweep is already capped by the event source's maximum_concurrency (max_scan_concurrency).
  #checkov:skip=CKV_AWS_272:The code is the module's own zip, pinned by source_code_hash; code signing needs a Signer profile of the user's, which the module cannot assume.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (names, ARNs, thresholds) and Lambda encrypts it at rest with an AWS-managed key; kms_key_arn, when set, encrypts it with the customer key.

  function_name    = local.function_names[each.key]
  description      = each.value.description
  role             = aws_iam_role.this[each.key].arn
  filename         = local.lambda_zip
  source_code_hash = filebase64sha256(local.lambda_zip)
  handler          = each.value.handler
  runtime          = var.lambda_runtime
  architectures    = [var.lambda_architecture]
  timeout          = each.value.timeout
  memory_size      = coalesce(lookup(var.lambda_memory_size, each.key, null), each.value.memory_size)
  kms_key_arn      = var.kms_key_arn # the environment; null: Lambda's AWS-managed key

  # -1: no reservation.
  reserved_concurrent_executions = coalesce(lookup(var.reserved_concurrent_executions, each.key, null), -1)

  environment {
    variables = merge(each.value.environment, local.common_environment)
  }

  # X-Ray: PassThrough (Lambda's default) or Active, tracing_mode.
  tracing_config {
    mode = var.tracing_mode
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this[each.key].name
    application_log_level = local.application_log_level
    system_log_level      = "INFO"
  }

  tags = local.tags

  # The policy is in place before the first invocation can happen; the topics named in the environment (and the
  # teams' document) exist.
  depends_on = [aws_iam_role_policy.this, aws_sns_topic.this, aws_sns_topic.team, aws_sns_topic.team_chat, aws_dynamodb_table_item.teams]

  lifecycle {
    precondition {
      condition     = each.key != "images" || coalesce(lookup(var.reserved_concurrent_executions, "images", null), var.max_scan_concurrency) >= var.max_scan_concurrency
      error_message = "reserved_concurrent_executions.images (${coalesce(lookup(var.reserved_concurrent_executions, "images", null), -1)}) is below max_scan_concurrency (${var.max_scan_concurrency}): the work queue's event source would be throttled and messages dead-lettered. Reserve at least max_scan_concurrency, or lower it."
    }
    precondition {
      condition     = each.key != "report" || !var.create_report_bucket || var.report_bucket_name != null
      error_message = "create_report_bucket = true needs report_bucket_name: the name of the bucket to create (bucket names are global: include the region and the account)."
    }
    precondition {
      condition     = each.key != "report" || var.create_report_bucket || var.report_bucket_name == null
      error_message = "report_bucket_name ${coalesce(var.report_bucket_name, "-")} is given but create_report_bucket is false (the default): set create_report_bucket = true to write the reports there, or remove report_bucket_name."
    }
    precondition {
      condition     = each.key != "report" || var.hub_report_bucket_name == null || var.hub_kms_key_arn != null
      error_message = "hub_report_bucket_name ${coalesce(var.hub_report_bucket_name, "-")} needs hub_kms_key_arn: the hub's key (the hub module's output kms_key_arn), which its bucket policy requires."
    }
    precondition {
      condition     = each.key != "report" || var.hub_report_bucket_name != null || var.hub_report_prefix == null
      error_message = "hub_report_prefix ${coalesce(var.hub_report_prefix, "-")} is given but hub_report_bucket_name is null: give the hub's bucket (the hub module's output report_bucket_name), or remove it."
    }
    # hub_kms_key_arn (hub_report.tf): a key of this partition, and something of the hub's to use it for. A check on
    # an ARN still unknown (the hub created in the same configuration) is made when applying.
    precondition {
      condition     = each.key != "findings" || var.hub_kms_key_arn == null || try(local.hub_key[1] == local.partition, false)
      error_message = "hub_kms_key_arn ${coalesce(var.hub_kms_key_arn, "-")} is in partition ${try(local.hub_key[1], "-")}, but this deployment is in ${local.deployment}: a key of another partition can never be used."
    }
    precondition {
      condition     = each.key != "findings" || var.hub_kms_key_arn == null || var.hub_report_bucket_name != null || length(local.hub_topic_arns) > 0
      error_message = "hub_kms_key_arn ${coalesce(var.hub_kms_key_arn, "-")} is given, but nothing this deployment writes or publishes to is the hub's: no hub_report_bucket_name, and no topic it publishes to without creating it (sns_topic_arn, chat_topic_arn, a team's sns_topic_arn) is in the key's account and region (${try("${local.hub_key[4]}, ${local.hub_key[3]}", "-")}), where the hub's topics are. Give the hub's topic (the hub module's output topic_arn) as sns_topic_arn, with create_sns_topic = false and allow_external_sns_topic = true, or hub_report_bucket_name; or remove hub_kms_key_arn."
    }
    precondition {
      condition     = each.key != "findings" || !(var.create_chat_topic && var.chat_topic_arn != null)
      error_message = "create_chat_topic = true and chat_topic_arn (${coalesce(var.chat_topic_arn, "-")}) are both set: the chat form goes to one topic. Set create_chat_topic = false to use your topic, or chat_topic_arn = null to let the module create one."
    }
    precondition {
      condition = each.key != "findings" || var.chat_topic_arn == null || try(
        local.given_chat_topic_arn[1] == local.partition && local.given_chat_topic_arn[3] == local.region && local.given_chat_topic_arn[4] == local.account_id,
        false
      )
      error_message = "chat_topic_arn ${coalesce(var.chat_topic_arn, "-")} is in ${try("partition ${local.given_chat_topic_arn[1]}, region ${local.given_chat_topic_arn[3]}, account ${local.given_chat_topic_arn[4]}", "-")}, but this deployment is in ${local.deployment}: give a topic of this partition, region and account (the findings function publishes there), or null."
    }
    precondition {
      condition     = each.key != "findings" || var.team_tag_key == null || length(local.teams) > 0
      error_message = "team_tag_key (${coalesce(var.team_tag_key, "-")}) is set but teams is empty: the tag names a team of teams. Give the teams, or set team_tag_key = null."
    }
    precondition {
      condition     = each.key != "findings" || var.chat_topic_arn == null || var.chat_topic_arn != local.topic_policy_arn
      error_message = "chat_topic_arn is the notification topic (${coalesce(local.topic_policy_arn, "-")}): its subscribers would get every notification twice, once as a chat message. Give a topic of its own, or null."
    }
  }
}

# --- images: fed by the work queue --------------------------------------------------------------------------------

resource "aws_lambda_event_source_mapping" "images" {
  count = var.create ? 1 : 0

  event_source_arn = aws_sqs_queue.work[0].arn
  function_name    = aws_lambda_function.this["images"].arn
  batch_size       = var.images_batch_size

  # The function reports the messages it could not finish; only those are retried (then dead-lettered).
  function_response_types = ["ReportBatchItemFailures"]

  # Caps the sweep's concurrency, so ECR's API rate limits are respected however many repositories are queued.
  scaling_config {
    maximum_concurrency = var.max_scan_concurrency
  }

  tags = local.tags

  # AWS checks at creation that the role may receive from the queue.
  depends_on = [aws_iam_role_policy.this]
}

# --- repositories and findings: invoked by EventBridge ------------------------------------------------------------

resource "aws_lambda_permission" "events" {
  for_each = local.event_targets

  statement_id  = "AllowEventBridge-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.value].function_name
  principal     = "events.amazonaws.com"
  source_arn    = local.event_rule_arns[each.key]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  for_each = local.async_functions

  function_name                = aws_lambda_function.this[each.key].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600

  # No event is silently lost: what still fails after the retries lands in the failed-events queue.
  destination_config {
    on_failure {
      destination = aws_sqs_queue.failed_events[0].arn
    }
  }

  # AWS checks at creation that the role may send to the destination.
  depends_on = [aws_iam_role_policy.this]
}
