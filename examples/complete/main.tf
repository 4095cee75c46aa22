# Every feature of the module: a customer-managed KMS key for the queues, topic and logs, an email subscription,
# repository filters, custom thresholds and sweep limits.
#
#   terraform init && terraform apply -var 'notification_email=security@example.com'

terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.73.0, < 7.0.0"
    }
  }
}

provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  name       = "ecr-scan-reporter-demo"
  tags = {
    project     = "ecr-scan-reporter"
    environment = "example"
  }
}

# One key for everything the module stores. Besides the account (whose IAM policies, including the functions'
# own, then decide), the key policy lets the services that encrypt on the module's behalf use it:
# CloudWatch Logs for the log groups, EventBridge for the events it dead-letters to the failed-events queue,
# CloudWatch alarms for the notifications they publish to the topic.
resource "aws_kms_key" "reporter" {
  description             = "ecr-scan-reporter: queues, topic and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 7

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # The default key policy: delegate to IAM in this account.
        Sid       = "AccountAdministersKeyThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsTheLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.${data.aws_partition.current.dns_suffix}" }
        Action    = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${local.name}-*"
          }
        }
      },
      {
        # The module's alarms notify the topic this key encrypts: CloudWatch must be able to use the key.
        Sid       = "CloudWatchAlarmsNotifyTheEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
      {
        Sid       = "EventBridgeDeadLettersToTheEncryptedQueue"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  })

  tags = local.tags
}

resource "aws_kms_alias" "reporter" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.reporter.key_id
}

module "ecr_scan_reporter" {
  source = "../.."

  name_prefix         = local.name
  schedule_expression = "cron(0 5 * * ? *)" # 05:00 UTC every day

  # Sweep and report on the teams' repositories, never the sandboxes.
  repository_include_regex = "^(team-a|team-b)/"
  repository_exclude_regex = "(^|/)sandbox-"

  # Rescan weekly, only images someone pulled in the last 90 days, at most 50 per repository and sweep.
  scan_expiry_days               = 7
  only_images_pulled_within_days = 90
  max_images_per_repository      = 50

  # Any critical finding notifies; more than 5 high findings notify; medium and low are ignored.
  severity_thresholds = {
    critical = 0
    high     = 5
  }
  notify_on_scan_failure  = true
  enable_inspector_events = true

  # Each notification lists its 10 most severe findings; accepted risks stop counting until they expire.
  findings_in_notification = 10
  suppressions = [
    {
      vulnerability_id = "CVE-2023-4911"
      repository_regex = "^team-a/"
      expires          = "2026-06-30"
      reason           = "glibc's dynamic loader is not reachable in team-a's distroless images (SEC-1234)"
    },
  ]
  # A second topic in the Amazon Q Developer in chat applications format, to connect to a Slack channel.
  create_chat_topic = true

  max_scan_concurrency   = 5
  images_batch_size      = 5
  images_timeout_seconds = 300
  max_receive_count      = 5

  email_subscriptions = [var.notification_email]
  kms_key_arn         = aws_kms_key.reporter.arn
  # The key above encrypts the topic too: the module creates no key of its own for it. A boolean, because the
  # key's ARN is unknown until the key exists.
  create_topic_kms_key = false

  lambda_runtime      = "python3.13"
  lambda_architecture = "arm64"
  log_retention_days  = 90
  log_level           = "INFO"

  tags = local.tags
}
