# One deployment per region, one Terraform workspace per region: the workspace name is the region.
#
#   terraform init
#   terraform workspace new eu-west-1 && terraform apply
#   terraform workspace new us-east-1 && terraform apply
#
# The "default" workspace deploys to var.default_region. IAM role names carry the region, so the deployments
# of one account never collide. See README.md.

terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.73.0, < 7.0.0"
    }
  }

  # Each workspace keeps its own state. With a shared backend (recommended), for example S3:
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "ecr-scan-reporter/terraform.tfstate" # workspaces are stored under env:/<workspace>/
  #   region       = "eu-west-1"
  #   use_lockfile = true
  # }
}

locals {
  region = terraform.workspace == "default" ? var.default_region : terraform.workspace
  tags   = merge(var.tags, { region = local.region })
}

provider "aws" {
  region = local.region
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# KMS keys are regional: each workspace (region) creates its own key for its queues, topic and logs, so no
# region's deployment depends on another region (the module refuses a kms_key_arn from another region). Besides
# the account (whose IAM policies, including the functions' own, then decide), the key policy lets the services
# that encrypt on the module's behalf use it: CloudWatch Logs for the log groups, EventBridge for the events it
# dead-letters to the failed-events queue, CloudWatch alarms for their notifications to the encrypted topic.
resource "aws_kms_key" "reporter" {
  description             = "ecr-scan-reporter (${local.region}): queues, topic and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersKeyThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsTheLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.${data.aws_partition.current.dns_suffix}" }
        Action    = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${local.region}:${data.aws_caller_identity.current.account_id}:log-group:/aws/lambda/${var.name_prefix}-*"
          }
        }
      },
      {
        Sid       = "EventBridgeDeadLettersToTheEncryptedQueue"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        }
      },
      {
        Sid       = "CloudWatchAlarmsNotifyTheEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        }
      },
    ]
  })

  tags = local.tags
}

resource "aws_kms_alias" "reporter" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.reporter.key_id
}

module "ecr_scan_reporter" {
  source = "../.."

  name_prefix         = var.name_prefix
  schedule_expression = var.schedule_expression
  email_subscriptions = var.notification_emails
  kms_key_arn         = aws_kms_key.reporter.arn
  # The key above encrypts the topic too: the module creates no key of its own for it. A boolean, because the
  # key's ARN is unknown until the key exists.
  create_topic_kms_key = false
  tags                 = local.tags
}
