# The whole organization in one view (docs/organization.md): a hub in the security account and two spokes, in
# two regions (in real use, in other accounts: give each provider the role to assume). One root for the three, so
# the spokes read the hub's outputs directly; with one state per account, pass them as variables instead.
#
#   terraform init && terraform apply

terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.73.0, < 7.0.0"
    }
  }
}

# --- one provider per account and region, as a user writes them ---------------------------------------------

provider "aws" {
  alias  = "security"
  region = var.hub_region

  dynamic "assume_role" {
    for_each = var.security_account_role_arn == null ? [] : [var.security_account_role_arn]
    content {
      role_arn = assume_role.value
    }
  }
}

provider "aws" {
  alias  = "spoke_eu"
  region = "eu-west-1"

  dynamic "assume_role" {
    for_each = var.spoke_account_role_arn == null ? [] : [var.spoke_account_role_arn]
    content {
      role_arn = assume_role.value
    }
  }
}

provider "aws" {
  alias  = "spoke_us"
  region = "us-east-1"

  dynamic "assume_role" {
    for_each = var.spoke_account_role_arn == null ? [] : [var.spoke_account_role_arn]
    content {
      role_arn = assume_role.value
    }
  }
}

data "aws_caller_identity" "security" {
  provider = aws.security
}

data "aws_caller_identity" "spoke" {
  provider = aws.spoke_eu
}

locals {
  spoke_account = data.aws_caller_identity.spoke.account_id
  spokes        = ["${local.spoke_account}/eu-west-1", "${local.spoke_account}/us-east-1"]
}

# --- the hub, in the security account ---------------------------------------------------------------------

module "hub" {
  source = "../../modules/hub"
  providers = {
    aws = aws.security
  }

  # Every account of the organization may publish and write its prefix; without Organizations, list the accounts.
  organization_id   = var.organization_id
  spoke_account_ids = var.organization_id == null ? [local.spoke_account] : []
  spoke_regions     = ["eu-west-1", "us-east-1"]

  report_bucket_name          = "${var.name_prefix}-hub-reports-${data.aws_caller_identity.security.account_id}"
  report_bucket_force_destroy = true # false in production
  # A third spoke that is expected but not deployed here: the organization report names it silent.
  expected_spokes     = concat(local.spokes, var.more_expected_spokes)
  email_subscriptions = var.email_subscriptions

  name_prefix = "${var.name_prefix}-hub"
  tags        = var.tags
}

# --- the spokes: the module as it is, pointed at the hub ------------------------------------------------------

# CloudWatch alarms notify topics of their own region and account only: each spoke keeps a local topic for its
# alarms, under a key CloudWatch may use.
module "spoke_eu" {
  source = "../.."
  providers = {
    aws = aws.spoke_eu
  }

  name_prefix = var.name_prefix

  create_sns_topic         = false
  sns_topic_arn            = module.hub.topic_arn
  allow_external_sns_topic = true
  alarms_notify_sns_topic  = false
  alarm_topic_arn          = aws_sns_topic.alarms_eu.arn

  hub_report_bucket_name = module.hub.report_bucket_name
  hub_kms_key_arn        = module.hub.kms_key_arn

  # The local copy, kept whatever the hub answers.
  create_report_bucket        = true
  report_bucket_name          = "${var.name_prefix}-reports-${local.spoke_account}-eu-west-1"
  report_bucket_force_destroy = true

  tags = var.tags
}

module "spoke_us" {
  source = "../.."
  providers = {
    aws = aws.spoke_us
  }

  name_prefix = var.name_prefix

  create_sns_topic         = false
  sns_topic_arn            = module.hub.topic_arn
  allow_external_sns_topic = true
  alarms_notify_sns_topic  = false
  alarm_topic_arn          = aws_sns_topic.alarms_us.arn

  hub_report_bucket_name = module.hub.report_bucket_name
  hub_kms_key_arn        = module.hub.kms_key_arn

  tags = var.tags
}

# One key and one topic per spoke region for its alarms.
locals {
  alarm_key_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${local.spoke_account}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "AlarmsNotifyTheEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.spoke_account } }
      },
    ]
  })
  alarm_topic_policy = {
    for key, topic in { eu = aws_sns_topic.alarms_eu.arn, us = aws_sns_topic.alarms_us.arn } : key => jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid       = "AlarmsPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = topic
        Condition = { StringEquals = { "aws:SourceAccount" = local.spoke_account } }
      }]
    })
  }
}

resource "aws_kms_key" "alarms_eu" {
  provider = aws.spoke_eu

  description         = "${var.name_prefix}: the spoke's alarm topic (eu-west-1)"
  enable_key_rotation = true
  policy              = local.alarm_key_policy
}

resource "aws_kms_key" "alarms_us" {
  provider = aws.spoke_us

  description         = "${var.name_prefix}: the spoke's alarm topic (us-east-1)"
  enable_key_rotation = true
  policy              = local.alarm_key_policy
}

resource "aws_sns_topic" "alarms_eu" {
  provider = aws.spoke_eu

  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.alarms_eu.arn
}

resource "aws_sns_topic" "alarms_us" {
  provider = aws.spoke_us

  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.alarms_us.arn
}

resource "aws_sns_topic_policy" "alarms_eu" {
  provider = aws.spoke_eu

  arn    = aws_sns_topic.alarms_eu.arn
  policy = local.alarm_topic_policy["eu"]
}

resource "aws_sns_topic_policy" "alarms_us" {
  provider = aws.spoke_us

  arn    = aws_sns_topic.alarms_us.arn
  policy = local.alarm_topic_policy["us"]
}
