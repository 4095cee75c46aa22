# The work queue (repositories -> images, images -> itself for continuations), its dead-letter queue, the
# failed-events queue (async invocations and EventBridge deliveries that failed), and their queue policies.
# Encryption: SQS-managed SSE by default, the customer key when kms_key_arn is set.

locals {
  # sqs_managed_sse_enabled and kms_master_key_id are mutually exclusive: set exactly one.
  sqs_managed_sse = var.kms_key_arn == null ? true : null

  deny_insecure_transport = {
    Sid       = "DenyInsecureTransport"
    Effect    = "Deny"
    Principal = "*"
    Action    = "sqs:*"
    Condition = { Bool = { "aws:SecureTransport" = "false" } }
  }
}

resource "aws_sqs_queue" "dead_letter" {
  count = var.create ? 1 : 0

  name                      = local.names.dead_letter_queue
  message_retention_seconds = 1209600 # 14 days, the maximum: time to investigate and redrive
  sqs_managed_sse_enabled   = local.sqs_managed_sse
  kms_master_key_id         = var.kms_key_arn

  # Only the work queue may use this queue as its dead-letter queue.
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [local.arns.work_queue]
  })

  tags = local.tags
}

resource "aws_sqs_queue" "work" {
  count = var.create ? 1 : 0

  name = local.names.work_queue
  # At least six times the consumer's timeout, as AWS recommends for a Lambda event source: a message is never
  # handed to a second invocation while the first may still be working on it.
  visibility_timeout_seconds = 6 * var.images_timeout_seconds
  message_retention_seconds  = 345600 # 4 days; the next scheduled sweep queues every repository again anyway
  sqs_managed_sse_enabled    = local.sqs_managed_sse
  kms_master_key_id          = var.kms_key_arn

  redrive_policy = jsonencode({
    deadLetterTargetArn = local.arns.dead_letter_queue
    maxReceiveCount     = var.max_receive_count
  })

  tags = local.tags

  # SQS checks that the dead-letter queue exists.
  depends_on = [aws_sqs_queue.dead_letter]

  lifecycle {
    # KMS keys are regional and SQS, SNS and CloudWatch Logs use only a key of their own region.
    precondition {
      condition = var.kms_key_arn == null || try(
        local.given_arns.kms_key_arn[1] == local.partition && local.given_arns.kms_key_arn[3] == local.region && local.given_arns.kms_key_arn[4] == local.account_id,
        false
      )
      error_message = "kms_key_arn ${coalesce(var.kms_key_arn, "-")} is in ${local.given_arn_places.kms_key_arn}, but this deployment is in ${local.deployment}: give a key of this partition, region and account (KMS keys are regional: one key, or one replica of a multi-Region key, per region), or null."
    }
  }
}

resource "aws_sqs_queue" "failed_events" {
  count = var.create ? 1 : 0

  name                      = local.names.failed_events_queue
  message_retention_seconds = 1209600 # 14 days
  sqs_managed_sse_enabled   = local.sqs_managed_sse
  kms_master_key_id         = var.kms_key_arn

  # A terminal queue: Lambda destinations and EventBridge dead-letter events land here; no queue redrives into it.
  redrive_allow_policy = jsonencode({
    redrivePermission = "denyAll"
  })

  tags = local.tags
}

# --- queue policies: only this module's functions (and, for failed events, this module's rules) -------------------

resource "aws_sqs_queue_policy" "work" {
  count = var.create ? 1 : 0

  queue_url = aws_sqs_queue.work[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "RepositoriesQueueWork"
        Effect    = "Allow"
        Principal = { AWS = local.arns.roles["repositories"] }
        Action    = "sqs:SendMessage"
        Resource  = local.arns.work_queue
      },
      {
        Sid       = "ImagesConsumeWork"
        Effect    = "Allow"
        Principal = { AWS = local.arns.roles["images"] }
        Action = [
          "sqs:ChangeMessageVisibility",
          "sqs:DeleteMessage",
          "sqs:GetQueueAttributes",
          "sqs:ReceiveMessage",
          "sqs:SendMessage",
        ]
        Resource = local.arns.work_queue
      },
      merge(local.deny_insecure_transport, { Resource = local.arns.work_queue }),
    ]
  })

  # SQS checks that the principals exist.
  depends_on = [aws_iam_role.this]
}

resource "aws_sqs_queue_policy" "dead_letter" {
  count = var.create ? 1 : 0

  queue_url = aws_sqs_queue.dead_letter[0].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [merge(local.deny_insecure_transport, { Resource = local.arns.dead_letter_queue })]
  })
}

resource "aws_sqs_queue_policy" "failed_events" {
  count = var.create ? 1 : 0

  queue_url = aws_sqs_queue.failed_events[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AsyncFunctionsReportFailures"
        Effect    = "Allow"
        Principal = { AWS = [for key in sort(tolist(local.async_functions)) : local.arns.roles[key]] }
        Action    = "sqs:SendMessage"
        Resource  = local.arns.failed_events_queue
      },
      {
        Sid       = "RulesDeadLetterEvents"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = local.arns.failed_events_queue
        Condition = {
          ArnEquals = { "aws:SourceArn" = concat([for rule in sort(keys(local.event_targets)) : local.arns.rules[rule]], var.enable_inspector_events ? [local.inspector_findings_arns.rule] : []) }
        }
      },
      merge(local.deny_insecure_transport, { Resource = local.arns.failed_events_queue }),
    ]
  })

  depends_on = [aws_iam_role.this]
}
