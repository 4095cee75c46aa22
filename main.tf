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
    # securityhub.tf: images deleted from ECR (enable_security_hub_export).
    ecr_image_deleted_rule = "${var.name_prefix}-ecr-image-deleted"
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
      for rule in ["schedule", "ecr_scan", "inspector_scan", "report", "ecr_image_deleted"] :
      rule => "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.names["${rule}_rule"]}"
    }
  }

  # The ARNs given as inputs, split into arn:<partition>:<service>:<region>:<account>:<resource>, for the
  # preconditions that keep them in this deployment's partition, account and (KMS, SNS) region: one tfvars file
  # feeding every region's workspace must not point a region's deployment at another region's key or topic.
  given_arns = {
    kms_key_arn              = var.kms_key_arn == null ? null : split(":", var.kms_key_arn)
    sns_topic_arn            = var.sns_topic_arn == null ? null : split(":", var.sns_topic_arn)
    permissions_boundary_arn = var.permissions_boundary_arn == null ? null : split(":", var.permissions_boundary_arn)
  }
  deployment = "partition ${local.partition}, region ${local.region}, account ${local.account_id}"
  given_arn_places = {
    for name, parts in local.given_arns : name => parts == null ? "" : "partition ${parts[1]}, region ${parts[3] == "" ? "(none: global)" : parts[3]}, account ${parts[4]}"
  }

  # What is created is decided by booleans only (create_sns_topic, create_topic_kms_key, alarms_notify_sns_topic),
  # never by whether an ARN input is null: an ARN the caller creates in the same configuration is unknown when
  # planning, and a count or for_each that depended on it could not be planned ("Invalid count argument").
  create_topic = var.create && var.create_sns_topic
  # For wiring (subscriptions, the function's environment): the created topic itself, or the given one.
  topic_arn = local.create_topic ? aws_sns_topic.this[0].arn : var.sns_topic_arn
  # For the policy: the same ARN, known at plan time when the module creates the topic (also with create = false,
  # where nothing uses it).
  topic_policy_arn = var.create_sns_topic ? local.arns.topic : var.sns_topic_arn

  # Environment values follow lambda/ecr_scan_reporter/core/config.py: "" means unset, booleans are "true"/"false".
  # Every severity present, upper case: a key left out of var.severity_thresholds is null (ignored).
  severity_thresholds_json = jsonencode({
    CRITICAL = lookup(var.severity_thresholds, "critical", null)
    HIGH     = lookup(var.severity_thresholds, "high", null)
    MEDIUM   = lookup(var.severity_thresholds, "medium", null)
    LOW      = lookup(var.severity_thresholds, "low", null)
  })

  # A deployment that can never notify: every severity ignored and scan failures not reported either.
  can_notify = var.notify_on_scan_failure || anytrue([for threshold in values(var.severity_thresholds) : threshold != null])

  # The scan statuses that reach the findings function.
  ecr_scan_statuses = var.notify_on_scan_failure ? ["COMPLETE", "FAILED"] : ["COMPLETE"]

  # The rules whose events invoke a function (rule key => function key); each target also dead-letters.
  event_targets = {
    for rule, function in {
      schedule       = "repositories"
      ecr_scan       = "findings"
      inspector_scan = "findings"
      report         = "report"
      # securityhub.tf: the exported findings of an image deleted from ECR are resolved.
      ecr_image_deleted = "findings"
    } : rule => function if var.create && (rule != "inspector_scan" || var.enable_inspector_events) && (rule != "report" || local.report_scheduled) && (rule != "ecr_image_deleted" || var.enable_security_hub_export)
  }
  event_rule_names = {
    schedule       = one(aws_cloudwatch_event_rule.schedule[*].name)
    ecr_scan       = one(aws_cloudwatch_event_rule.ecr_scan[*].name)
    inspector_scan = one(aws_cloudwatch_event_rule.inspector_scan[*].name)
    report         = one(aws_cloudwatch_event_rule.report[*].name)
    # securityhub.tf
    ecr_image_deleted = one(aws_cloudwatch_event_rule.ecr_image_deleted[*].name)
  }
  event_rule_arns = {
    schedule       = one(aws_cloudwatch_event_rule.schedule[*].arn)
    ecr_scan       = one(aws_cloudwatch_event_rule.ecr_scan[*].arn)
    inspector_scan = one(aws_cloudwatch_event_rule.inspector_scan[*].arn)
    report         = one(aws_cloudwatch_event_rule.report[*].arn)
    # securityhub.tf
    ecr_image_deleted = one(aws_cloudwatch_event_rule.ecr_image_deleted[*].arn)
  }
}

# --- the sweep: a schedule starts the repositories function --------------------------------------------------------

resource "aws_cloudwatch_event_rule" "schedule" {
  count = var.create ? 1 : 0

  name                = local.names.schedule_rule
  description         = "Starts the ecr-scan-reporter sweep of every ECR repository (${var.name_prefix})."
  schedule_expression = var.schedule_expression
  tags                = local.tags
}

# --- scan results: ECR basic scanning and Amazon Inspector enhanced scanning invoke the findings function ---------

resource "aws_cloudwatch_event_rule" "ecr_scan" {
  count = var.create ? 1 : 0

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

  # Checks on where notifications go, on the rule that starts every notification.
  lifecycle {
    precondition {
      condition     = local.can_notify
      error_message = "This configuration can never notify: every severity_thresholds value is null (ignored) and notify_on_scan_failure is false. Set a threshold for at least one severity (critical, high, medium, low) or set notify_on_scan_failure = true."
    }
    # Which topic: the booleans say, the ARN follows. A condition on an ARN that is still unknown (created in
    # the same configuration) is unknown too: Terraform then checks it when applying, before creating the rule.
    precondition {
      condition     = var.create_sns_topic || var.sns_topic_arn != null
      error_message = "create_sns_topic is false but sns_topic_arn is null: give the topic to publish to as sns_topic_arn, or set create_sns_topic = true to let the module create one."
    }
    precondition {
      condition     = !var.create_sns_topic || var.sns_topic_arn == null
      error_message = "sns_topic_arn ${coalesce(var.sns_topic_arn, "-")} is given but create_sns_topic is true (the default): set create_sns_topic = false to publish to that topic, or remove sns_topic_arn to let the module create one."
    }
    precondition {
      condition = var.create_sns_topic || var.sns_topic_arn == null || try(
        local.given_arns.sns_topic_arn[1] == local.partition,
        false
      )
      error_message = "sns_topic_arn ${coalesce(var.sns_topic_arn, "-")} is in ${local.given_arn_places.sns_topic_arn}, but this deployment is in ${local.deployment}: a topic of another partition can never be published to (not even with allow_external_sns_topic)."
    }
    precondition {
      condition = var.create_sns_topic || var.sns_topic_arn == null || var.allow_external_sns_topic || try(
        local.given_arns.sns_topic_arn[3] == local.region && local.given_arns.sns_topic_arn[4] == local.account_id,
        false
      )
      error_message = "sns_topic_arn ${coalesce(var.sns_topic_arn, "-")} is in ${local.given_arn_places.sns_topic_arn}, but this deployment is in ${local.deployment}: give the topic of this region and account, or, for a central topic in another account or region on purpose, set allow_external_sns_topic = true (its owner must let the publishing roles publish, see the README)."
    }
  }
}

resource "aws_cloudwatch_event_rule" "inspector_scan" {
  count = var.create && var.enable_inspector_events ? 1 : 0

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
    arn = aws_sqs_queue.failed_events[0].arn
  }
}

# --- notifications -------------------------------------------------------------------------------------------------

# Encrypted with kms_key_arn, else with the module's own key when the alarms notify this topic (kms.tf: alarms
# cannot publish to a topic under alias/aws/sns), else with alias/aws/sns.
resource "aws_sns_topic" "this" {
  count = local.create_topic ? 1 : 0

  name              = local.names.topic
  display_name      = "ECR scan reporter"
  kms_master_key_id = local.create_topic_key ? aws_kms_key.topic[0].arn : coalesce(var.kms_key_arn, "alias/aws/sns")
  tags              = local.tags

  lifecycle {
    precondition {
      condition     = !(local.create_topic_key && var.kms_key_arn != null)
      error_message = "kms_key_arn ${coalesce(var.kms_key_arn, "-")} is given but create_topic_kms_key is true (the default): set create_topic_kms_key = false, and the topic is encrypted with kms_key_arn (whose key policy must let cloudwatch.amazonaws.com use it, for the alarms)."
    }
    precondition {
      condition     = local.create_topic_key || !local.alarms_notify_module_topic || var.kms_key_arn != null
      error_message = "The alarms notify the module's topic, but create_topic_kms_key is false and no kms_key_arn is given: the topic would be encrypted with alias/aws/sns, to which CloudWatch alarms cannot publish. Give kms_key_arn, set create_topic_kms_key = true, or send the alarms elsewhere (alarms_notify_sns_topic = false with alarm_topic_arn)."
    }
  }
}

locals {
  # Every topic the module creates refuses publishing without TLS (the chat topic too, alerts.tf).
  sns_deny_insecure_transport = {
    Sid       = "DenyInsecureTransport"
    Effect    = "Deny"
    Principal = "*"
    Action    = "sns:Publish"
    Condition = { Bool = { "aws:SecureTransport" = "false" } }
  }
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
      [merge(local.sns_deny_insecure_transport, { Resource = local.arns.topic })],
    )
  })
}

resource "aws_sns_topic_subscription" "email" {
  for_each = var.create ? toset(var.email_subscriptions) : toset([])

  topic_arn = local.topic_arn
  protocol  = "email"
  endpoint  = each.value
}

# subscriptions: keyed by the caller's names (known at plan time, whatever the endpoints are), on the same topic as
# the email subscriptions: the created one, or sns_topic_arn.
resource "aws_sns_topic_subscription" "this" {
  for_each = var.create ? var.subscriptions : {}

  topic_arn             = local.topic_arn
  protocol              = each.value.protocol
  endpoint              = each.value.endpoint
  filter_policy         = lookup(each.value, "filter_policy", null)
  filter_policy_scope   = lookup(each.value, "filter_policy_scope", null)
  raw_message_delivery  = tobool(lookup(each.value, "raw_message_delivery", "false"))
  subscription_role_arn = lookup(each.value, "subscription_role_arn", null)

  lifecycle {
    precondition {
      # SNS FIFO topics deliver to SQS queues only (standard or FIFO).
      condition     = !endswith(local.topic_policy_arn, ".fifo") || each.value.protocol == "sqs"
      error_message = "subscriptions.${each.key}: the notification topic ${local.topic_policy_arn} is a FIFO topic, which delivers to sqs subscriptions only (not ${each.value.protocol})."
    }
  }
}
