# The organization hub, in the security account: one configuration, one state (docs/organization.md). It defines
# the organization's teams once (teams.auto.tfvars.json): one topic per team, with the team's subscriptions and
# chat channel, here; the spokes (../spoke) read this configuration's outputs and publish to those topics.
#
#   terraform init && terraform apply -var organization_id=o-a1b2c3d4e5

terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.73.0, < 7.0.0"
    }
  }

  # The spokes read this state's outputs (terraform_remote_state): keep it where their deployment roles may read
  # it, for example in the security account's state bucket (the outputs hold ARNs and names, no secret):
  # backend "s3" {
  #   bucket       = "acme-security-terraform-state"
  #   key          = "ecr-scan-reporter/hub.tfstate"
  #   region       = "eu-west-1"
  #   use_lockfile = true
  # }
}

provider "aws" {
  region = var.region

  dynamic "assume_role" {
    for_each = var.role_arn == null ? [] : [var.role_arn]
    content {
      role_arn = assume_role.value
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

module "hub" {
  source = "../../../modules/hub"

  # Every account of the organization may publish and write its own prefix; without Organizations, list them.
  organization_id   = var.organization_id
  spoke_account_ids = var.organization_id == null ? var.spoke_account_ids : []
  spoke_regions     = var.spoke_regions
  expected_spokes   = var.expected_spokes

  report_bucket_name  = "${var.name_prefix}-reports-${data.aws_caller_identity.current.account_id}"
  email_subscriptions = var.security_emails # the security team's view: every spoke's alerts and reports

  # The teams, defined once (teams.auto.tfvars.json): one topic per team here, with its subscriptions, whatever
  # the number of spokes; output spoke_teams gives every spoke the same teams, on these topics.
  teams = var.teams

  name_prefix = var.name_prefix
  tags        = var.tags
}

# --- one chat configuration per team, in this account (Amazon Q Developer in chat applications) ------------------
# Authorize the Slack workspace once in the console, then map each team that has a chat topic
# (create_chat_topic) to its channel: -var 'slack_team_id=T0123ABCD' -var 'team_slack_channels={payments="C0123ABCD"}'.
# Without them (the default) nothing is created.

resource "aws_iam_role" "chatbot" {
  count = length(var.team_slack_channels) > 0 ? 1 : 0

  name = "${var.name_prefix}-${var.region}-chatbot"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "chatbot.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_chatbot_slack_channel_configuration" "team" {
  for_each = var.team_slack_channels

  configuration_name = "${var.name_prefix}-${each.key}"
  iam_role_arn       = aws_iam_role.chatbot[0].arn
  slack_team_id      = coalesce(var.slack_team_id, "-")
  slack_channel_id   = each.value
  # Every spoke publishes this team's chat form to its one chat topic on the hub.
  sns_topic_arns        = [lookup(module.hub.team_chat_topic_arns, each.key, "-")]
  guardrail_policy_arns = ["arn:${data.aws_partition.current.partition}:iam::aws:policy/AWSDenyAll"]
  logging_level         = "ERROR"
  tags                  = var.tags

  lifecycle {
    precondition {
      condition     = contains(keys(module.hub.team_chat_topic_arns), each.key) && var.slack_team_id != null
      error_message = "team_slack_channels.${each.key}: give slack_team_id, and name a team with create_chat_topic = true (teams with a chat topic: ${join(", ", keys(module.hub.team_chat_topic_arns))})."
    }
  }
}
