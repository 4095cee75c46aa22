# The organization hub (docs/organization.md), for the security account: the central topic and its key, which
# only the spokes' publishing roles may publish to (and encrypt with, through SNS; the report roles through S3 too);
# teams.tf: the teams' topics (one per team for every spoke, the same publishers) and the spoke_teams output;
# bucket.tf: the central report bucket; function.tf: the organization report; alarms.tf: the hub's alarms and
# dashboard.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  # hashicorp/aws 6.x names the region "region", 5.x "name" (as the root module reads it).
  region     = lookup(data.aws_region.current, "region", lookup(data.aws_region.current, "name", null))
  partition  = data.aws_partition.current.partition
  dns_suffix = data.aws_partition.current.dns_suffix
  tags       = merge(var.tags, { "terraform-module" = "ecr-scan-reporter-hub" })

  names = {
    topic      = "${var.name_prefix}-notifications"
    chat_topic = "${var.name_prefix}-chat"
    key_alias  = "alias/${var.name_prefix}"
    function   = "${var.name_prefix}-org-report"
    role       = "${var.name_prefix}-${local.region}-org-report" # IAM is global: the region keeps two hubs apart
    rule       = "${var.name_prefix}-org-report"
    dashboard  = "${var.name_prefix}-${local.region}"
  }
  # Built from names: every policy document is known at plan time (terraform test and reviewers read them).
  arns = {
    topic      = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${local.names.topic}"
    chat_topic = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${local.names.chat_topic}"
    bucket     = "arn:${local.partition}:s3:::${var.report_bucket_name}"
    log_group  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.names.function}"
    alarms     = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name_prefix}-*"
  }

  # Who the spokes are: the organization (aws:PrincipalOrgID) or the listed accounts (aws:PrincipalAccount). A map
  # of lists either way, so it merges into any StringEquals condition.
  by_organization  = var.organization_id != null
  spoke_principals = local.by_organization ? tomap({ "aws:PrincipalOrgID" = [coalesce(var.organization_id, "-")] }) : tomap({ "aws:PrincipalAccount" = var.spoke_account_ids })
  spokes_chosen    = local.by_organization != (length(var.spoke_account_ids) > 0)

  # Which principals of the spokes: their roles that publish, by the names the root module gives them
  # (<prefix>-<region>-findings: alerts; <prefix>-<region>-report: reports; a failed invocation's record is sent by
  # the function's own role), for each spoke region, as the bucket policy names the report roles (bucket.tf); and
  # additional_publisher_arns. Matched with ArnLike on aws:PrincipalArn, beside the organization (or accounts)
  # condition: a sandbox role of the organization may neither publish nor use the key.
  spoke_role_patterns = {
    for function in ["findings", "report"] : function => [for region in var.spoke_regions : "arn:${local.partition}:iam::*:role/*-${region}-${function}"]
  }
  publisher_arn_patterns = concat(
    flatten([for region in var.spoke_regions : [for function in ["findings", "report"] : "arn:${local.partition}:iam::*:role/*-${region}-${function}"]]),
    var.additional_publisher_arns,
  )
  # Who may publish to the hub's topics, the central one and every team's (teams.tf): one condition for all.
  spokes_publish_condition = {
    StringEquals = local.spoke_principals
    ArnLike      = { "aws:PrincipalArn" = local.publisher_arn_patterns }
  }
}

# --- the key: the topic's and the bucket's -------------------------------------------------------------------

resource "aws_kms_key" "this" {
  description             = "ecr-scan-reporter hub (${var.name_prefix}): the central topic and report bucket."
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # The hub's account administers the key; its own roles use it through their IAM policies.
        Sid       = "HubAccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # The hub's alarms notify the encrypted topic.
        Sid       = "HubAlarmsNotifyTheTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
      {
        # A spoke's functions publish to the topic: SNS asks for a data key with the publisher's credentials.
        Sid       = "SpokesPublishThroughSNS"
        Effect    = "Allow"
        Principal = { AWS = "*" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
        Condition = {
          StringEquals = merge(local.spoke_principals, { "kms:ViaService" = ["sns.${local.region}.${local.dns_suffix}"] })
          ArnLike      = { "aws:PrincipalArn" = local.publisher_arn_patterns }
        }
      },
      {
        # A spoke's report function writes its report SSE-KMS: encrypt only (no Decrypt: it cannot read the
        # bucket back), through S3 only, for this bucket only, by the report roles only (as the bucket policy).
        Sid       = "SpokesEncryptThroughS3"
        Effect    = "Allow"
        Principal = { AWS = "*" }
        Action    = ["kms:GenerateDataKey"]
        Resource  = "*"
        Condition = {
          StringEquals = merge(local.spoke_principals, { "kms:ViaService" = ["s3.${local.region}.${local.dns_suffix}"] })
          StringLike   = { "kms:EncryptionContext:aws:s3:arn" = [local.arns.bucket, "${local.arns.bucket}/*"] }
          ArnLike      = { "aws:PrincipalArn" = local.spoke_role_patterns["report"] }
        }
      },
    ]
  })
  tags = local.tags
}

resource "aws_kms_alias" "this" {
  name          = local.names.key_alias
  target_key_id = aws_kms_key.this.key_id
}

# --- the central topic ---------------------------------------------------------------------------------------

resource "aws_sns_topic" "this" {
  name              = local.names.topic
  kms_master_key_id = aws_kms_key.this.arn
  tags              = local.tags
}

resource "aws_sns_topic_policy" "this" {
  arn = aws_sns_topic.this.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # The spokes' publishing roles (and additional_publisher_arns) of the organization or the listed accounts.
        Sid       = "SpokesPublish"
        Effect    = "Allow"
        Principal = { AWS = "*" }
        Action    = "sns:Publish"
        Resource  = local.arns.topic
        Condition = local.spokes_publish_condition
      },
      {
        Sid       = "HubAlarmsPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = local.arns.topic
        Condition = { ArnLike = { "aws:SourceArn" = local.arns.alarms } }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sns:Publish"
        Resource  = local.arns.topic
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })

  lifecycle {
    precondition {
      condition     = local.spokes_chosen
      error_message = "Give exactly one of organization_id (every account of the organization is a spoke) and spoke_account_ids (the listed accounts are): ${local.by_organization ? "both are given" : "neither is given"}."
    }
  }
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.email_subscriptions)

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_sns_topic_subscription" "this" {
  for_each = var.subscriptions

  topic_arn             = aws_sns_topic.this.arn
  protocol              = each.value.protocol
  endpoint              = each.value.endpoint
  filter_policy         = lookup(each.value, "filter_policy", null)
  filter_policy_scope   = lookup(each.value, "filter_policy_scope", null)
  raw_message_delivery  = tobool(lookup(each.value, "raw_message_delivery", "false"))
  subscription_role_arn = lookup(each.value, "subscription_role_arn", null)
}

# The chat form of the organization report (Amazon Q Developer in chat applications custom notifications).
resource "aws_sns_topic" "chat" {
  count = var.create_chat_topic ? 1 : 0

  name              = local.names.chat_topic
  kms_master_key_id = aws_kms_key.this.arn
  tags              = local.tags
}

resource "aws_sns_topic_policy" "chat" {
  count = var.create_chat_topic ? 1 : 0

  arn = aws_sns_topic.chat[0].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "sns:Publish"
      Resource  = local.arns.chat_topic
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}
