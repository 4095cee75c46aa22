# The module with every feature that stores something under kms_key_arn, planned by tests/terraform/test_kms_grants.py
# against moto's STS (the plan reads only the caller identity). The key ARN is a literal variable, so every attribute
# that carries it shows it in the plan (a key created in the same plan would be "known after apply").
#
# With hub_kms_key_arn the module is also a spoke of an organization hub (docs/organization.md): the root plans the
# hub's side as the security account holds it (its topic, a chat topic, a team's topic and its report bucket, all
# encrypted with the hub's key) and points the module at them, so the plan shows every key a role uses, the hub's
# through SNS and S3 included. The hub is in the same account here (moto has one): only the key's ARN links the two.

terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

provider "aws" {}

variable "kms_key_arn" {
  description = "A key of the account and region moto answers for."
  type        = string
}

variable "hub_kms_key_arn" {
  description = "The hub's key (of the same account and region), or null: no hub."
  type        = string
  default     = null
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  hub = var.hub_kms_key_arn != null
  # The hub's topics, by name; their ARNs built from the names (known at plan time, as the hub module's outputs are
  # when the hub is applied first).
  hub_topics = local.hub ? toset(["hub-notifications", "hub-chat", "hub-platform", "hub-platform-chat"]) : toset([])
  hub_sns    = "arn:aws:sns:${lookup(data.aws_region.current, "region", lookup(data.aws_region.current, "name", null))}:${data.aws_caller_identity.current.account_id}"
  hub_bucket = "kms-grants-hub-reports"
}

# --- the hub's side (modules/hub, in the security account) ------------------------------------------------------

resource "aws_sns_topic" "hub" {
  for_each = local.hub_topics

  name              = each.key
  kms_master_key_id = var.hub_kms_key_arn
}

resource "aws_s3_bucket" "hub" {
  #checkov:skip=CKV_AWS_18:only planned (never applied) for the key-grant analysis; modules/hub's bucket is the hardened one
  #checkov:skip=CKV_AWS_21:only planned (never applied) for the key-grant analysis; modules/hub's bucket is the hardened one
  #checkov:skip=CKV_AWS_144:only planned (never applied) for the key-grant analysis; modules/hub's bucket is the hardened one
  #checkov:skip=CKV_AWS_145:only planned (never applied) for the key-grant analysis; modules/hub's bucket is the hardened one
  #checkov:skip=CKV2_AWS_6:only planned (never applied) for the key-grant analysis; modules/hub's bucket is the hardened one
  #checkov:skip=CKV2_AWS_61:only planned (never applied) for the key-grant analysis; modules/hub's bucket is the hardened one
  #checkov:skip=CKV2_AWS_62:only planned (never applied) for the key-grant analysis; modules/hub's bucket is the hardened one
  count = local.hub ? 1 : 0

  bucket = local.hub_bucket
}

resource "aws_s3_bucket_server_side_encryption_configuration" "hub" {
  count = local.hub ? 1 : 0

  bucket = aws_s3_bucket.hub[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.hub_kms_key_arn
    }
  }
}

# --- the module (a spoke, with hub_kms_key_arn) -----------------------------------------------------------------

module "ecr_scan_reporter" {
  source = "../../.."

  name_prefix             = "kms-grants"
  kms_key_arn             = var.kms_key_arn
  create_topic_kms_key    = false # the topic is encrypted with kms_key_arn
  enable_inspector_events = true
  # A spoke publishes to the hub's topic and chat topic instead of creating its own.
  create_sns_topic           = !local.hub
  sns_topic_arn              = local.hub ? "${local.hub_sns}:hub-notifications" : null
  allow_external_sns_topic   = local.hub
  create_chat_topic          = !local.hub
  chat_topic_arn             = local.hub ? "${local.hub_sns}:hub-chat" : null
  create_alarms              = true
  create_dashboard           = true
  email_subscriptions        = ["security@example.com"]
  create_report_bucket       = true
  report_bucket_name         = "kms-grants-exposure-reports"
  report_schedule_expression = "rate(7 days)"
  tracing_mode               = "Active"
  suppressions               = [{ vulnerability_id = "CVE-2024-1234", expires = "2099-01-01", reason = "not reachable" }]
  # The teams' topics and chat topics are under the key too; their publishers are the findings and report roles.
  # A spoke's team may publish to a topic and chat topic of the hub's (platform, as modules/hub's spoke_teams gives
  # it); the others get topics of their own here, which a spoke of a central topic creates only when asked.
  create_team_topics = true
  team_tag_key       = "team"
  teams = [
    for team in [
      { name = "payments", repository_regex = "^payments/", create_chat_topic = true, email_subscriptions = ["payments@example.com"] },
      { name = "tools", repository_regex = "^tools/" },
      { name = "platform", repository_regex = "^platform/", sns_topic_arn = "${local.hub_sns}:hub-platform", chat_topic_arn = "${local.hub_sns}:hub-platform-chat" },
    ] : team if local.hub || team.name != "platform"
  ]

  # The hub's bucket and key (the hub module's outputs report_bucket_name and kms_key_arn).
  hub_report_bucket_name = local.hub ? local.hub_bucket : null
  hub_kms_key_arn        = var.hub_kms_key_arn
}
