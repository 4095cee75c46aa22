# Naming and shared values, the schedule rule, the scan-event rules and the notification topic.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  # hashicorp/aws 6.x names the region "region" and deprecates "name", 5.x only has "name": lookup() reads
  # whichever exists, without a deprecation warning on either.
  region    = lookup(data.aws_region.current, "region", lookup(data.aws_region.current, "name", null))
  partition = data.aws_partition.current.partition

  # Module tag last: always present, whatever var.tags holds.
  tags = merge(var.tags, { "terraform-module" = "ecr-scan-reporter" })

  # Regional resources are named "<prefix>-<purpose>"; IAM roles, which are global to the account, also carry the
  # region ("<prefix>-<region>-<function>"), so two workspaces applying this module to two regions never collide.
  names = {
    work_queue          = "${var.name_prefix}-work"
    dead_letter_queue   = "${var.name_prefix}-work-dlq"
    failed_events_queue = "${var.name_prefix}-failed-events"
    topic               = "${var.name_prefix}-notifications"
    schedule_rule       = "${var.name_prefix}-schedule"
    ecr_scan_rule       = "${var.name_prefix}-ecr-image-scan"
    inspector_scan_rule = "${var.name_prefix}-inspector2-scan"
    report_rule         = "${var.name_prefix}-report"
  }

  # Every ECR repository of this account in this region: what the functions may read and scan.
  repository_arns = "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/*"

  # The ARNs of the module's own resources, built from their names: every policy document (and the redrive
  # wiring) is then known at plan time, so a reviewer, `terraform test` and terraform-compliance read the real
  # policies in the plan instead of "(known after apply)". Where AWS checks at creation that a named resource
  # exists, the resource also depends on it explicitly.
  arns = {
    work_queue          = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.names.work_queue}"
    dead_letter_queue   = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.names.dead_letter_queue}"
    failed_events_queue = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.names.failed_events_queue}"
    topic               = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${local.names.topic}"
    roles               = { for key in local.function_keys : key => "arn:${local.partition}:iam::${local.account_id}:role/${local.role_names[key]}" }
    log_groups          = { for key in local.function_keys : key => "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.function_names[key]}" }
    rules = {
      for rule in ["schedule", "ecr_scan", "inspector_scan", "report"] :
      rule => "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.names["${rule}_rule"]}"
    }
  }

  create_topic = var.sns_topic_arn == null
  # For wiring (subscriptions, the function's environment): the created topic itself, or the given one.
  topic_arn = local.create_topic ? aws_sns_topic.this[0].arn : var.sns_topic_arn
  # For the policy: the same ARN, known at plan time.
  topic_policy_arn = local.create_topic ? local.arns.topic : var.sns_topic_arn

  # Environment values follow lambda/ecr_scan_reporter/config.py: "" means unset, booleans are "true"/"false".
  severity_thresholds_json = jsonencode({
    CRITICAL = var.severity_thresholds.critical
    HIGH     = var.severity_thresholds.high
    MEDIUM   = var.severity_thresholds.medium
    LOW      = var.severity_thresholds.low
  })

  # The scan statuses that reach the findings function.
  ecr_scan_statuses = var.notify_on_scan_failure ? ["COMPLETE", "FAILED"] : ["COMPLETE"]

  # The rules whose events invoke a function (rule key => function key); each target also dead-letters.
  event_targets = {
    for rule, function in {
      schedule       = "repositories"
      ecr_scan       = "findings"
      inspector_scan = "findings"
      report         = "report"
    } : rule => function if(rule != "inspector_scan" || var.enable_inspector_events) && (rule != "report" || local.report_scheduled)
  }
  event_rule_names = {
    schedule       = aws_cloudwatch_event_rule.schedule.name
    ecr_scan       = aws_cloudwatch_event_rule.ecr_scan.name
    inspector_scan = one(aws_cloudwatch_event_rule.inspector_scan[*].name)
    report         = one(aws_cloudwatch_event_rule.report[*].name)
  }
  event_rule_arns = {
    schedule       = aws_cloudwatch_event_rule.schedule.arn
    ecr_scan       = aws_cloudwatch_event_rule.ecr_scan.arn
    inspector_scan = one(aws_cloudwatch_event_rule.inspector_scan[*].arn)
    report         = one(aws_cloudwatch_event_rule.report[*].arn)
  }
}

# --- the sweep: a schedule starts the repositories function --------------------------------------------------------

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = local.names.schedule_rule
  description         = "Starts the ecr-scan-reporter sweep of every ECR repository (${var.name_prefix})."
  schedule_expression = var.schedule_expression
  tags                = local.tags
}

# --- scan results: ECR basic scanning and Amazon Inspector enhanced scanning invoke the findings function ---------

resource "aws_cloudwatch_event_rule" "ecr_scan" {
  name        = local.names.ecr_scan_rule
  description = "ECR basic-scanning results, reported by ecr-scan-reporter (${var.name_prefix})."
  event_pattern = jsonencode({
    source      = ["aws.ecr"]
    detail-type = ["ECR Image Scan"]
    detail = {
      scan-status = local.ecr_scan_statuses
    }
  })
  tags = local.tags
}

resource "aws_cloudwatch_event_rule" "inspector_scan" {
  count = var.enable_inspector_events ? 1 : 0

  name        = local.names.inspector_scan_rule
  description = "Amazon Inspector enhanced-scanning results for ECR images, reported by ecr-scan-reporter (${var.name_prefix})."
  event_pattern = jsonencode({
    source      = ["aws.inspector2"]
    detail-type = ["Inspector2 Scan"]
  })
  tags = local.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.event_targets

  rule      = local.event_rule_names[each.key]
  target_id = "${var.name_prefix}-${each.value}"
  arn       = aws_lambda_function.this[each.value].arn

  # Events EventBridge cannot deliver after its retries (24 hours by default: throttling, a missing permission) go
  # to the failed-events queue instead of being dropped.
  dead_letter_config {
    arn = aws_sqs_queue.failed_events.arn
  }
}

# --- notifications -------------------------------------------------------------------------------------------------

# Encrypted with kms_key_arn, else with the module's own key when the alarms notify this topic (kms.tf: alarms
# cannot publish to a topic under alias/aws/sns), else with alias/aws/sns.
resource "aws_sns_topic" "this" {
  count = local.create_topic ? 1 : 0

  name              = local.names.topic
  display_name      = "ECR scan reporter"
  kms_master_key_id = coalesce(var.kms_key_arn, one(aws_kms_key.topic[*].arn), "alias/aws/sns")
  tags              = local.tags
}

# Replaces SNS's default topic policy: publishing needs TLS (as for the queues), and the module's alarms may publish
# (CloudWatch is a service principal, which IAM policies cannot grant). The account's IAM principals, the findings
# function among them, keep what their IAM policies give them.
resource "aws_sns_topic_policy" "this" {
  count = local.create_topic ? 1 : 0

  arn = aws_sns_topic.this[0].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      local.alarms_notify_module_topic ? [{
        Sid       = "ModuleAlarmsPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = local.arns.topic
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = local.alarm_arn_pattern }
        }
      }] : [],
      [{
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sns:Publish"
        Resource  = local.arns.topic
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }],
    )
  })
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.email_subscriptions)

  topic_arn = local.topic_arn
  protocol  = "email"
  endpoint  = each.value
}
