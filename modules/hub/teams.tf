# The organization's teams (docs/organization.md#the-organizations-teams), defined once, here: per team ONE topic
# `<name_prefix>-<team>` that every spoke publishes the team's alerts and reports to, with the team's subscriptions
# (one each, whatever the number of spokes), and on request a `<name_prefix>-<team>-chat` topic for its chat
# channel. Output spoke_teams hands the same teams to the spokes, their topics set to these.

locals {
  # var.teams is the root module's team object (module.team_rules below checks it with the root module's rules).
  # A bad value is refused by those rules with their message: the try()s keep these expressions from adding an
  # error of their own. Never around a whole team: a subscription endpoint created in the same configuration
  # (unknown until applied) would make every team, hence the topics' keys, unknown.
  hub_team_keys = ["email_subscriptions", "subscriptions", "create_chat_topic"] # the hub's part of a team
  teams = [
    for team in var.teams : {
      name                = try(tostring(team.name), "")
      topic_arn           = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${var.name_prefix}-${try(tostring(team.name), "")}"
      create_chat_topic   = try(tobool(coalesce(lookup(team, "create_chat_topic", null), false)), false)
      chat_topic_arn      = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${var.name_prefix}-${try(tostring(team.name), "")}-chat"
      email_subscriptions = try(distinct([for email in coalesce(lookup(team, "email_subscriptions", null), []) : tostring(email)]), [])
      subscriptions = can(keys(lookup(team, "subscriptions", {}))) ? {
        for name, subscription in merge({}, lookup(team, "subscriptions", null)) : name => { for key, value in subscription : key => tostring(value) }
      } : {}
      # The spoke's part: everything but the hub's keys, as given (a renotify_after_days = null stays null).
      spoke = { for key, value in team : key => value if !contains(local.hub_team_keys, key) }
    } if can(keys(team))
  ]

  # Built from the names: known at plan time, so a spoke planned in the same configuration sees them. (Grouped by
  # name: a name given twice is refused by module.team_rules with its message, not by a duplicate key here.)
  team_topics      = { for name, arns in { for team in local.teams : team.name => team.topic_arn... } : name => arns[0] }
  team_chat_topics = { for name, arns in { for team in local.teams : team.name => team.chat_topic_arn... if team.create_chat_topic } : name => arns[0] }

  # What every spoke's `teams` input takes: the team with the hub's topics, without the hub's subscriptions.
  spoke_teams = [
    for team in local.teams : merge(
      team.spoke,
      { sns_topic_arn = team.topic_arn },
      team.create_chat_topic ? { chat_topic_arn = team.chat_topic_arn } : {},
    )
  ]
}

# The root module's own rules for a team (names, keys, regexes, thresholds, subscriptions, topic-name collisions),
# applied to the hub's teams: the root module with create = false creates nothing and refuses at plan time what a
# spoke would refuse, with the same message, before any spoke is planned.
module "team_rules" {
  count  = length(var.teams) > 0 ? 1 : 0
  source = "../.."

  create = false
  teams  = var.teams
}

# --- one topic per team ------------------------------------------------------------------------------------------

resource "aws_sns_topic" "team" {
  for_each = local.team_topics

  name              = "${var.name_prefix}-${each.key}"
  display_name      = "ECR scan reporter (${each.key})"
  kms_master_key_id = aws_kms_key.this.arn
  tags              = local.tags
}

# The spokes publish to it as to the central topic (one condition: main.tf); publishing without TLS is denied. The
# hub's own organization report function publishes with its IAM policy (function.tf).
resource "aws_sns_topic_policy" "team" {
  for_each = local.team_topics

  arn = aws_sns_topic.team[each.key].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "SpokesPublish"
        Effect    = "Allow"
        Principal = { AWS = "*" }
        Action    = "sns:Publish"
        Resource  = each.value
        Condition = local.spokes_publish_condition
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sns:Publish"
        Resource  = each.value
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

# The team's chat form (create_chat_topic): the spokes publish each alert's chat form here; connect it to the
# team's channel once (output team_chat_topic_arns).
resource "aws_sns_topic" "team_chat" {
  for_each = local.team_chat_topics

  name              = "${var.name_prefix}-${each.key}-chat"
  display_name      = "ECR scan reporter (${each.key}, chat)"
  kms_master_key_id = aws_kms_key.this.arn
  tags              = local.tags
}

resource "aws_sns_topic_policy" "team_chat" {
  for_each = local.team_chat_topics

  arn = aws_sns_topic.team_chat[each.key].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "SpokesPublish"
        Effect    = "Allow"
        Principal = { AWS = "*" }
        Action    = "sns:Publish"
        Resource  = each.value
        Condition = local.spokes_publish_condition
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sns:Publish"
        Resource  = each.value
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

# --- the team's subscriptions: once, here, keyed "<team>/<email>" and "<team>/<name>" ---------------------------

resource "aws_sns_topic_subscription" "team_email" {
  for_each = merge([
    for team in local.teams : { for email in team.email_subscriptions : "${team.name}/${email}" => { team = team.name, endpoint = email } }
  ]...)

  topic_arn = aws_sns_topic.team[each.value.team].arn
  protocol  = "email"
  endpoint  = each.value.endpoint
}

resource "aws_sns_topic_subscription" "team" {
  for_each = merge([
    for team in local.teams : { for name, subscription in team.subscriptions : "${team.name}/${name}" => merge(subscription, { team = team.name }) }
  ]...)

  topic_arn             = aws_sns_topic.team[each.value.team].arn
  protocol              = each.value.protocol
  endpoint              = each.value.endpoint
  filter_policy         = lookup(each.value, "filter_policy", null)
  filter_policy_scope   = lookup(each.value, "filter_policy_scope", null)
  raw_message_delivery  = tobool(lookup(each.value, "raw_message_delivery", "false"))
  subscription_role_arn = lookup(each.value, "subscription_role_arn", null)
}
