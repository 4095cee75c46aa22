# Alerts people act on: accepted risks (suppressions) stored where hundreds fit, the chat topic, and the buffer
# that turns bursts of Inspector2 Finding events into at most one report per image per batch.

locals {
  # --- suppressions ------------------------------------------------------------------------------------------------
  # Lambda allows 4 KB of environment variables in all, and 300 suppressions take ~60 KB: the list lives in one item
  # of the scan ledger table (pk "config#suppressions", which every reader of image records skips). The function's
  # environment only carries the SHA-256 of the stored text, so a change of the list changes the function's
  # configuration and reaches warm execution environments at once; the function checks the item it reads against
  # that hash. An empty list writes no item and an empty hash (nothing to read).
  # The entries are maps (variables.tf: unknown keys refused); each is stored as these four fields, the document
  # suppressions.py parses.
  suppressions = [
    for s in var.suppressions : {
      vulnerability_id = trimspace(s.vulnerability_id)
      repository_regex = lookup(s, "repository_regex", null) == "" ? null : lookup(s, "repository_regex", null)
      expires          = s.expires
      reason           = trimspace(s.reason)
    }
  ]
  suppressions_document = jsonencode(local.suppressions)
  suppressions_sha256   = length(local.suppressions) == 0 ? "" : sha256(local.suppressions_document)
  suppressions_key      = { pk = "config#suppressions", digest = "document" }

  # --- the chat topic ----------------------------------------------------------------------------------------------
  chat_topic_name       = "${var.name_prefix}-chat"
  chat_topic_policy_arn = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${local.chat_topic_name}"
  # Where the findings function posts the chat form: the created topic (its ARN built from the name, like the
  # policies, so the function's environment is known at plan time), chat_topic_arn, or nowhere ("").
  chat_topic_arn = var.create_chat_topic ? local.chat_topic_policy_arn : (var.chat_topic_arn == null ? "" : var.chat_topic_arn)
  # chat_topic_arn split like main.tf's given_arns, for the findings function's preconditions (lambda.tf).
  given_chat_topic_arn = var.chat_topic_arn == null ? null : split(":", var.chat_topic_arn)

  # --- Inspector2 Finding events -----------------------------------------------------------------------------------
  # EventBridge -> buffer queue -> the findings function in batches (up to 60 s or 1,000 events): a burst of events
  # about one image becomes one report of that image's active findings (the ledger remembers what was notified, so
  # a burst spread over several batches notifies only what changed).
  inspector_findings = {
    rule_name  = "${var.name_prefix}-inspector2-finding"
    queue_name = "${var.name_prefix}-inspector-findings"
    dlq_name   = "${var.name_prefix}-inspector-findings-dlq"
  }
  inspector_findings_arns = {
    rule  = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.inspector_findings.rule_name}"
    queue = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.inspector_findings.queue_name}"
    dlq   = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.inspector_findings.dlq_name}"
  }
  inspector_findings_batching_window_seconds = 60

  # What the findings function may do for these features, besides its own policy (iam.tf).
  alerts_statements = {
    repositories = []
    images       = []
    findings = concat(
      var.create_chat_topic || var.chat_topic_arn != null ? [{
        Sid      = "NotifyChat"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = [local.chat_topic_arn]
      }] : [],
      var.enable_inspector_events ? [
        {
          # ListFindings has no resource type in the Service Authorization Reference: AWS only accepts "*". It is
          # read-only, and the function filters it to one image (registry, repository, digest, active findings).
          Sid      = "ReadInspectorFindings"
          Effect   = "Allow"
          Action   = ["inspector2:ListFindings"]
          Resource = ["*"]
        },
        {
          Sid    = "ConsumeInspectorFindingEvents"
          Effect = "Allow"
          Action = [
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
          ]
          Resource = [local.inspector_findings_arns.queue]
        },
      ] : [],
    )
  }
}

# --- suppressions: one item of the ledger table --------------------------------------------------------------------

resource "aws_dynamodb_table_item" "suppressions" {
  count = var.create && length(local.suppressions) > 0 ? 1 : 0

  table_name = aws_dynamodb_table.ledger[0].name
  hash_key   = aws_dynamodb_table.ledger[0].hash_key
  range_key  = aws_dynamodb_table.ledger[0].range_key
  item = jsonencode({
    pk       = { S = local.suppressions_key.pk }
    digest   = { S = local.suppressions_key.digest }
    document = { S = local.suppressions_document }
    sha256   = { S = local.suppressions_sha256 }
    count    = { N = tostring(length(local.suppressions)) }
  })
}

# --- the chat topic (Amazon Q Developer in chat applications) ------------------------------------------------------

resource "aws_sns_topic" "chat" {
  count = var.create && var.create_chat_topic ? 1 : 0

  name              = local.chat_topic_name
  display_name      = "ECR scan reporter (chat)"
  kms_master_key_id = coalesce(var.kms_key_arn, "alias/aws/sns")
  tags              = local.tags
}

# Replaces SNS's default topic policy, like the notification topic's (main.tf): publishing needs TLS. The account's
# IAM principals, the findings function among them, keep what their IAM policies give them.
resource "aws_sns_topic_policy" "chat" {
  count = length(aws_sns_topic.chat)

  arn = aws_sns_topic.chat[0].arn
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [merge(local.sns_deny_insecure_transport, { Resource = local.chat_topic_policy_arn })]
  })
}

# --- Inspector2 Finding events: buffered, then reported per image --------------------------------------------------

resource "aws_cloudwatch_event_rule" "inspector_finding" {
  count = var.create && var.enable_inspector_events ? 1 : 0

  name        = local.inspector_findings.rule_name
  description = "Amazon Inspector finding changes on ECR images (continuous enhanced scanning), reported by ecr-scan-reporter (${var.name_prefix})."
  event_pattern = jsonencode({
    source      = ["aws.inspector2"]
    detail-type = ["Inspector2 Finding"]
    detail = {
      resources = { type = ["AWS_ECR_CONTAINER_IMAGE"] }
    }
  })
  tags = local.tags
}

resource "aws_sqs_queue" "inspector_findings_dlq" {
  count = var.create && var.enable_inspector_events ? 1 : 0

  name                      = local.inspector_findings.dlq_name
  message_retention_seconds = 1209600 # 14 days: time to investigate and redrive
  sqs_managed_sse_enabled   = local.sqs_managed_sse
  kms_master_key_id         = var.kms_key_arn

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [local.inspector_findings_arns.queue]
  })

  tags = local.tags
}

resource "aws_sqs_queue" "inspector_findings" {
  count = var.create && var.enable_inspector_events ? 1 : 0

  name = local.inspector_findings.queue_name
  # Six times the function's timeout plus the batching window, as AWS recommends for a Lambda event source.
  visibility_timeout_seconds = 6 * local.functions.findings.timeout + local.inspector_findings_batching_window_seconds
  message_retention_seconds  = 345600 # 4 days
  sqs_managed_sse_enabled    = local.sqs_managed_sse
  kms_master_key_id          = var.kms_key_arn

  redrive_policy = jsonencode({
    deadLetterTargetArn = local.inspector_findings_arns.dlq
    maxReceiveCount     = var.max_receive_count
  })

  tags = local.tags

  depends_on = [aws_sqs_queue.inspector_findings_dlq]
}

resource "aws_sqs_queue_policy" "inspector_findings" {
  count = var.create && var.enable_inspector_events ? 1 : 0

  queue_url = aws_sqs_queue.inspector_findings[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "RuleSendsFindingEvents"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = local.inspector_findings_arns.queue
        Condition = { ArnEquals = { "aws:SourceArn" = local.inspector_findings_arns.rule } }
      },
      {
        Sid       = "FindingsConsumesFindingEvents"
        Effect    = "Allow"
        Principal = { AWS = local.arns.roles["findings"] }
        Action = [
          "sqs:ChangeMessageVisibility",
          "sqs:DeleteMessage",
          "sqs:GetQueueAttributes",
          "sqs:ReceiveMessage",
        ]
        Resource = local.inspector_findings_arns.queue
      },
      merge(local.deny_insecure_transport, { Resource = local.inspector_findings_arns.queue }),
    ]
  })

  depends_on = [aws_iam_role.this]
}

resource "aws_sqs_queue_policy" "inspector_findings_dlq" {
  count = var.create && var.enable_inspector_events ? 1 : 0

  queue_url = aws_sqs_queue.inspector_findings_dlq[0].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [merge(local.deny_insecure_transport, { Resource = local.inspector_findings_arns.dlq })]
  })
}

resource "aws_cloudwatch_event_target" "inspector_finding" {
  count = var.create && var.enable_inspector_events ? 1 : 0

  rule      = aws_cloudwatch_event_rule.inspector_finding[0].name
  target_id = "${var.name_prefix}-inspector-findings"
  arn       = aws_sqs_queue.inspector_findings[0].arn

  dead_letter_config {
    arn = aws_sqs_queue.failed_events[0].arn
  }
}

resource "aws_lambda_event_source_mapping" "inspector_findings" {
  count = var.create && var.enable_inspector_events ? 1 : 0

  event_source_arn                   = aws_sqs_queue.inspector_findings[0].arn
  function_name                      = aws_lambda_function.this["findings"].arn
  batch_size                         = 1000
  maximum_batching_window_in_seconds = local.inspector_findings_batching_window_seconds

  # Images the function could not report are retried (their messages only), then dead-lettered.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = 2 # AWS's minimum: a burst is read by few invocations, so per-image grouping works
  }

  tags = local.tags

  depends_on = [aws_iam_role_policy.this, aws_sqs_queue_policy.inspector_findings]
}
