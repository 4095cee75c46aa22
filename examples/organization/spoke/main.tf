# A spoke of the organization hub (../hub; docs/organization.md): the module in one workload account, one
# Terraform workspace per region, reading the hub's outputs. One configuration for every workload account: each
# account has its own state (its backend configuration), and within it a workspace per region.
#
#   terraform init -reconfigure -backend-config=workspace_dir=state/111111111111   # this account's states (local)
#   terraform workspace new eu-west-1 && terraform apply -var role_arn=arn:aws:iam::111111111111:role/terraform
#   terraform workspace new us-east-1 && terraform apply -var role_arn=arn:aws:iam::111111111111:role/terraform
#
# The teams are not written here: they are the hub's (its output spoke_inputs.spoke_teams), so every spoke of
# every account publishes each team's alerts to that team's one topic on the hub, and creates no team topic.

terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.73.0, < 7.0.0"
    }
  }

  # One state per account (-backend-config), one workspace per region inside it. With S3, per account:
  #   terraform init -backend-config=bucket=acme-terraform-111111111111 -backend-config=key=ecr-scan-reporter/spoke.tfstate
  # backend "s3" {
  #   region       = "eu-west-1"
  #   use_lockfile = true
  # }
  backend "local" {}
}

locals {
  region = terraform.workspace == "default" ? var.default_region : terraform.workspace
  # The hub's outputs (../hub: output spoke_inputs).
  hub = data.terraform_remote_state.hub.outputs.spoke_inputs
}

provider "aws" {
  region = local.region

  dynamic "assume_role" {
    for_each = var.role_arn == null ? [] : [var.role_arn]
    content {
      role_arn = assume_role.value
    }
  }
}

data "aws_caller_identity" "current" {}

# The hub's state: by default the local state of ../hub; with the hub's state in S3, for example
#   -var 'hub_state={ backend = "s3", config = { bucket = "acme-security-terraform-state", key = "ecr-scan-reporter/hub.tfstate", region = "eu-west-1" } }'
data "terraform_remote_state" "hub" {
  backend = var.hub_state.backend
  config  = var.hub_state.config
}

module "ecr_scan_reporter" {
  source = "../../.."

  name_prefix = var.name_prefix

  # Every alert and report to the hub's central topic: the security team's view (module_topic_notifications =
  # "all", the default, includes the teams' alerts).
  create_sns_topic         = false
  sns_topic_arn            = local.hub.topic_arn
  allow_external_sns_topic = true

  # The teams, as the hub defines them, on the hub's team topics: each team's alerts from every spoke on its one
  # topic, with one subscription there; no team topic in this account.
  teams        = local.hub.spoke_teams
  team_tag_key = "team" # a repository tagged team = <name> is that team's, whatever the regexes say

  # The report to the hub's bucket as well, SSE-KMS with the hub's key (which also encrypts its topics).
  hub_report_bucket_name = local.hub.report_bucket_name
  hub_kms_key_arn        = local.hub.kms_key_arn

  # CloudWatch alarms notify topics of their own account and region only: a local topic for this spoke's alarms.
  alarms_notify_sns_topic = false
  alarm_topic_arn         = aws_sns_topic.alarms.arn

  tags = merge(var.tags, { region = local.region })
}

# --- this spoke's alarms: a topic of its own account and region, under a key CloudWatch may use ---------------------

resource "aws_kms_key" "alarms" {
  description         = "${var.name_prefix}: the spoke's alarm topic (${local.region})"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "AlarmsNotifyTheEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
      },
    ]
  })
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn
  tags              = var.tags
}

resource "aws_sns_topic_policy" "alarms" {
  arn = aws_sns_topic.alarms.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AlarmsPublish"
      Effect    = "Allow"
      Principal = { Service = "cloudwatch.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = aws_sns_topic.alarms.arn
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
}

resource "aws_sns_topic_subscription" "alarms" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}
